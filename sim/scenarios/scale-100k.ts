// scale-100k — the lab's own size check, not a field story: 100,000 users running the real client connect
// to our gateway from one load host with several source addresses (each under the per-IP handshake rate),
// subscribe to one channel, and receive a series of broadcasts. It shows the lab holds a 100 k-connection
// run within its time budget, and what our defaults do at that size (capacity, delivery latency).
import { NODE } from '../kernel/runtime.js';
import { ClientRobotFleet } from '../robots/client-robots.js';
import defaults from './inputs/scale-100k.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { addressesIn, machine, rampMs, startOurs, usersProcess } from './our-deployment.js';
import { num, percentile } from './scenario.js';
import { countBy, round3, sortedCounts } from './tally.js';

const GW_ADDR = '10.0.0.1';
const PORT = 443;
const CHANNEL = 'odin.global.trending';

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('scale-100k runs our gateway only');
  const n = (k: string) => num(inputs, k);
  const world = ctx.world;
  const gwHost = machine(ctx, 'gateway', [GW_ADDR], n('host.memoryGiB'), n('host.cores'));
  const addrs = addressesIn('10.1', n('load.sourceAddresses'));
  const loadProc = usersProcess(ctx, addrs, 64, 32);
  const gwProc = world.spawn(gwHost, { name: 'odin', runtime: NODE, nofileSoft: n('gateway.nofile') });
  const ours = startOurs(ctx, gwProc, PORT, { baselineBytes: n('ours.baselineMiB') * 1024 ** 2 });
  const fleet = new ClientRobotFleet(loadProc, ours.clock, { dstAddr: GW_ADDR, dstPort: PORT, channel: CHANNEL, srcAddrs: addrs });
  const users = n('load.connections');
  for (let i = 0; i < users; i++) fleet.add((rampMs(ctx) * i) / users);
  const firstBroadcastMs = rampMs(ctx) + 5_000;
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

  const outcomes = sortedCounts(countBy(fleet.robots, (rb) => `${rb.client?.state ?? 'not-started'}:${rb.events}-events`));
  const latencies = fleet.robots.filter((rb) => rb.firstEventMs >= 0).map((rb) => rb.firstEventMs - (published[0] ?? 0));
  latencies.sort((a, b) => a - b);
  const cap = ours.gateway.admission.capacity;
  const metrics: Record<string, number> = {
    users,
    capacity: cap.connectionsMax,
    sessionsOpened: ours.transport.stats.opened,
    refusals: ours.transport.stats.refused,
    firstEventLatencyP50Ms: round3(percentile(latencies, 50)),
    firstEventLatencyP99Ms: round3(percentile(latencies, 99)),
    firstEventLatencyMaxMs: round3(latencies[latencies.length - 1] ?? 0),
    gatewayCpuUtilisationPct: Math.round(gwProc.cpu.utilisation() * 100_000) / 1000,
  };
  return {
    outcomes,
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
