// scale-100k — the lab's own size check, not a field story: 100,000 users running the real client connect
// to our gateway from one load host with several source addresses (each under the per-IP handshake rate),
// subscribe to one channel, and receive a series of broadcasts. It shows the lab holds a 100 k-connection
// run within its time budget, and what our defaults do at that size (capacity, delivery latency).
import { NODE } from '../kernel/runtime.js';
import { startOurGateway } from '../servers/ours.js';
import { ClientRobotFleet } from '../robots/client-robots.js';
import defaults from './inputs/scale-100k.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { num, percentile } from './scenario.js';

const GW_ADDR = '10.0.0.1';
const PORT = 443;
const CHANNEL = 'odin.global.trending';

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('scale-100k runs our gateway only');
  const n = (k: string) => num(inputs, k);
  /** The ramp's length: load.connections started at load.rampPerSecond. */
  const rampMs = (n('load.connections') * 1000) / n('load.rampPerSecond');
  const world = ctx.world;
  const gib = 1024 ** 3;
  const gwHost = world.addHost({ name: 'gateway', os: 'linux', addresses: [GW_ADDR], memoryBytes: n('host.memoryGiB') * gib, cores: n('host.cores') });
  const addrs = Array.from({ length: n('load.sourceAddresses') }, (_, i) => `10.1.${i >> 8}.${(i & 255) + 1}`);
  const loadHost = world.addHost({ name: 'load', os: 'linux', addresses: addrs, memoryBytes: 64 * gib, cores: 32 });
  const gwProc = world.spawn(gwHost, { name: 'odin', runtime: NODE, nofileSoft: n('gateway.nofile') });
  const loadProc = world.spawn(loadHost, { name: 'users', runtime: NODE, nofileSoft: 10_000_000 });
  const ours = startOurGateway(gwProc, {
    port: PORT,
    backlog: 511,
    handshakeCpuMs: n('gateway.handshakeCpuMs'),
    inboundCpuMs: n('gateway.inboundCpuMs'),
    writeCpuMs: n('gateway.writeCpuMs'),
    baselineBytes: n('ours.baselineMiB') * 1024 ** 2,
  });
  const fleet = new ClientRobotFleet(loadProc, ours.clock, { dstAddr: GW_ADDR, dstPort: PORT, channel: CHANNEL, srcAddrs: addrs });
  const users = n('load.connections');
  for (let i = 0; i < users; i++) fleet.add((rampMs * i) / users);
  const firstBroadcastMs = rampMs + 5_000;
  const published: number[] = [];
  for (let b = 0; b < n('feed.broadcasts'); b++) {
    const at = firstBroadcastMs + b * n('feed.broadcastEveryMs');
    world.sched.at(
      at,
      (k: number) => {
        published.push(world.sched.nowMs);
        ours.broker.publish(CHANNEL, `{"n":${k}}`, () => undefined);
      },
      b,
    );
  }
  const end = firstBroadcastMs + n('feed.broadcasts') * n('feed.broadcastEveryMs') + n('run.endAfterMs');
  ctx.record([fleet], end);
  ctx.runUntil(end);

  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  for (const rb of fleet.robots) {
    const key = `${rb.client?.state ?? 'not-started'}:${rb.events}-events`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (rb.firstEventMs >= 0) latencies.push(rb.firstEventMs - (published[0] ?? 0));
  }
  latencies.sort((a, b) => a - b);
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(outcomes).sort()) sorted[k] = outcomes[k] as number;
  const cap = ours.gateway.admission.capacity;
  const metrics: Record<string, number> = {
    users,
    capacity: cap.connectionsMax,
    sessionsOpened: ours.transport.stats.opened,
    refusals: ours.transport.stats.refused,
    firstEventLatencyP50Ms: Math.round(percentile(latencies, 50) * 1000) / 1000,
    firstEventLatencyP99Ms: Math.round(percentile(latencies, 99) * 1000) / 1000,
    firstEventLatencyMaxMs: Math.round((latencies[latencies.length - 1] ?? 0) * 1000) / 1000,
    gatewayCpuUtilisationPct: Math.round(gwProc.cpu.utilisation() * 100_000) / 1000,
  };
  return {
    outcomes: sorted,
    limits: [],
    metrics,
    diagnosis: [
      `Capacity ${cap.connectionsMax} (bound by ${cap.boundBy}); ${ours.transport.stats.opened} sessions opened, ${ours.transport.stats.refused} handshakes refused.`,
      `The first broadcast reached ${latencies.length} users: p50 ${metrics['firstEventLatencyP50Ms']} ms, p99 ${metrics['firstEventLatencyP99Ms']} ms ` +
        '(one event-loop thread writes to every socket in turn).',
    ],
  };
}

export const scale100k = defineScenario({
  name: 'scale-100k',
  story: "the lab's own size check: 100,000 real clients on our gateway (not a field story)",
  defaults: defaults,
  variants: {},
  gateways: ['ours'],
  claim: {
    reported: 'our own story: 100,000 clients on one gateway each get every broadcast',
    symptomKinds: [],
    explanation: 'capacity and fan-out of one instance',
    blamed: [],
    own: true,
  },
  eventsMax: 200_000_000,
  run,
});
