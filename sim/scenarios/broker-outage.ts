// broker-outage — docs/lab.md, "Stories of our own": the broker is unreachable for 20 s under load.
// Connections must stay up, readiness must drop, and delivery must resume without loss — or with explicit
// gaps where retention expired meanwhile (I3). Our real Gateway and real clients run in the lab; a
// publisher writes to random channels at a fixed rate; the gateway's path to the broker is cut for the
// outage (publishers may or may not still reach the broker). Every client's view is checked against the
// acknowledged publishes: order (I1), no duplicates (I2), no silent loss (I3).
import type { GapInfo } from '../../src/client/types.js';
import { NODE } from '../kernel/runtime.js';
import { startOurGateway } from '../servers/ours.js';
import { FeedClientFleet, type FeedRobot } from '../robots/feed-clients.js';
import defaults from './inputs/broker-outage.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { type LimitHit, num } from './scenario.js';

const GW = '10.0.0.1';
const PORT = 443;

interface View {
  offsets: number[];
  gaps: GapInfo[];
  resets: number;
}

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('broker-outage is a story of our own gateway');
  const n = (k: string) => num(inputs, k);
  /** The ramp's length: load.connections started at load.rampPerSecond. */
  const rampMs = (n('load.connections') * 1000) / n('load.rampPerSecond');
  const world = ctx.world;
  const gib = 1024 ** 3;
  const gwHost = world.addHost({ name: 'gateway', os: 'linux', addresses: [GW], memoryBytes: 8 * gib, cores: 4 });
  const addrs = Array.from({ length: n('load.sourceAddresses') }, (_, i) => `10.2.0.${i + 1}`);
  const loadHost = world.addHost({ name: 'load', os: 'linux', addresses: addrs, memoryBytes: 32 * gib, cores: 16 });
  const gwProc = world.spawn(gwHost, { name: 'odin', runtime: NODE, nofileSoft: 1_048_576 });
  const loadProc = world.spawn(loadHost, { name: 'users', runtime: NODE, nofileSoft: 1_048_576 });
  const ours = startOurGateway(gwProc, {
    port: PORT,
    backlog: 511,
    handshakeCpuMs: n('gateway.handshakeCpuMs'),
    inboundCpuMs: n('gateway.inboundCpuMs'),
    writeCpuMs: n('gateway.writeCpuMs'),
    baselineBytes: 60 * 1024 ** 2,
    brokerRetention: { eventsMax: 100_000, bytesMax: 50 * 1024 ** 2, ageMs: n('feed.retentionAgeMs') },
  });
  const channels = Array.from({ length: n('load.channels') }, (_, i) => `odin.token.T${i}.trade`);
  // Per robot, per channel: what the client delivered, the gaps and resets it reported.
  const views = new Map<FeedRobot, View>();
  const view = (r: FeedRobot): View => {
    let v = views.get(r);
    if (v === undefined) views.set(r, (v = { offsets: [], gaps: [], resets: 0 }));
    return v;
  };
  const listener = {
    onEvent: (r: FeedRobot, _ch: string, offset: number) => void view(r).offsets.push(offset),
    onGap: (r: FeedRobot, _ch: string, gap: GapInfo) => void view(r).gaps.push(gap),
    onReset: (r: FeedRobot) => void view(r).resets++,
  };
  const fleets = channels.map((ch) => new FeedClientFleet(loadProc, ours.clock, { dstAddr: GW, dstPort: PORT, channels: [ch], srcAddrs: addrs }, listener));
  const robotChannel = new Map<FeedRobot, number>();
  for (let i = 0; i < n('load.connections'); i++) {
    const c = i % channels.length;
    robotChannel.set((fleets[c] as FeedClientFleet).add((rampMs * i) / n('load.connections')), c);
  }
  // The publisher: one publish per 1/rate s to a random channel; acknowledged offsets per channel.
  const acked: number[][] = channels.map(() => []);
  let failedPublishes = 0;
  const pubRng = world.rng.fork('publisher');
  const every = 1000 / n('feed.publishPerSecond');
  const publishOne = (): void => {
    const c = pubRng.int(0, channels.length - 1);
    ours.broker.publish(channels[c] as string, `{"t":${Math.round(world.sched.nowMs)}}`, (r) => {
      if (r.ok) (acked[c] as number[]).push(r.offset);
      else failedPublishes++;
    });
    if (world.sched.nowMs + every < n('run.endMs') - 5_000) world.sched.after(every, publishOne, null);
  };
  world.sched.at(rampMs + 2_000, publishOne, null);
  world.sched.at(n('fault.outageAtMs'), () => ours.broker.outage(n('fault.outageMs'), inputs['fault.publishersReach'] === true), null);
  // Readiness and open connections, sampled each second.
  let notReadyS = 0;
  let minSessionsDuringOutage = Number.POSITIVE_INFINITY;
  const sample = (): void => {
    if (!ours.gateway.ready()) notReadyS++;
    if (ours.broker.isDown) minSessionsDuringOutage = Math.min(minSessionsDuringOutage, ours.gateway.sessionCount());
    if (world.sched.nowMs + 1000 <= n('run.endMs')) world.sched.after(1000, sample, null);
  };
  world.sched.at(rampMs + 1_000, sample, null);
  ctx.record(fleets, n('run.endMs'));
  ctx.runUntil(n('run.endMs'));

  // Check every client against the acknowledged publishes after its first delivered event.
  let outOfOrder = 0;
  let duplicates = 0;
  let silentlyLost = 0;
  let coveredByGap = 0;
  let delivered = 0;
  let gapNotices = 0;
  let resets = 0;
  let clientsDetectingGap = 0;
  for (const fleet of fleets) {
    for (const r of fleet.robots) {
      const v = view(r);
      if ((r.client?.counters.gapsDetected ?? 0) > 0) clientsDetectingGap++;
      const ch = robotChannel.get(r) as number;
      delivered += v.offsets.length;
      gapNotices += v.gaps.length;
      resets += v.resets;
      for (let i = 1; i < v.offsets.length; i++) {
        const a = v.offsets[i - 1] as number;
        const b = v.offsets[i] as number;
        if (b === a) duplicates++;
        else if (b < a) outOfOrder++;
      }
      const first = v.offsets[0];
      if (first === undefined) continue;
      const got = new Set(v.offsets);
      for (const o of acked[ch] as number[]) {
        if (o <= first || got.has(o)) continue;
        if (v.gaps.some((g) => g.from <= o && o <= g.to) || v.resets > 0) coveredByGap++;
        else silentlyLost++;
      }
    }
  }
  const attempts: Record<string, number> = {};
  for (const f of fleets) for (const [k, c] of Object.entries(f.attemptCounts)) attempts[k] = (attempts[k] ?? 0) + c;
  const outcomes: Record<string, number> = {};
  for (const k of Object.keys(attempts).sort()) outcomes[`attempt:${k}`] = attempts[k] as number;
  const metrics: Record<string, number> = {
    clients: n('load.connections'),
    acknowledgedPublishes: acked.reduce((s, a) => s + a.length, 0),
    failedPublishes,
    expiredDuringOutage: ours.broker.expiredDuringOutage,
    delivered,
    duplicates,
    outOfOrder,
    silentlyLost,
    coveredByGapOrReset: coveredByGap,
    gapNotices,
    clientsDetectingGap,
    resets,
    notReadySeconds: notReadyS,
    minSessionsDuringOutage: Number.isFinite(minSessionsDuringOutage) ? minSessionsDuringOutage : -1,
  };
  const limits: LimitHit[] = [{ key: 'fault.outageAtMs', limit: 'broker unreachable from the gateway', firstAtMs: n('fault.outageAtMs'), count: 1 }];
  const diagnosis = [
    `Outage ${n('fault.outageMs') / 1000} s at ${n('fault.outageAtMs') / 1000} s; readiness false for ${notReadyS} s; sessions during the outage never fell below ${metrics['minSessionsDuringOutage']} of ${n('load.connections')}.`,
    `${metrics['acknowledgedPublishes']} publishes acknowledged, ${failedPublishes} refused (publishers ${inputs['fault.publishersReach'] === true ? 'still reached' : 'were cut off from'} the broker).`,
    silentlyLost === 0 && duplicates === 0 && outOfOrder === 0
      ? `I1–I3 hold: ${delivered} deliveries, no duplicate, no reordering, no silent loss; ${coveredByGap} missed events were announced by ${gapNotices} gap notices / ${resets} resets.`
      : `INVARIANT BROKEN: ${silentlyLost} silently lost, ${duplicates} duplicates, ${outOfOrder} out of order` +
        (silentlyLost > 0 && ours.broker.expiredDuringOutage > 0
          ? ` — ${clientsDetectingGap} clients saw the prev-chain hole and asked for a replay, which the gateway answered from its ring as complete: the ring assumes a gapless stream, but after the outage the stream resumed past expired offsets.`
          : '.'),
    ours.broker.expiredDuringOutage > 0
      ? `${ours.broker.expiredDuringOutage} events expired from the stream (retention ${n('feed.retentionAgeMs') / 1000} s) before the gateway could read them: clients get gaps, not silence.`
      : 'Nothing expired during the outage: the consumer resumed from its last sequence and delivered everything.',
  ];
  return {
    outcomes,
    limits,
    metrics,
    diagnosis,
  };
}

export const brokerOutage = defineScenario({
  name: 'broker-outage',
  story: 'our own story (docs/lab.md): the broker is unreachable for 20 s under load',
  defaults: defaults,
  variants: {
    'outage 45 s (past retention)': { 'fault.outageMs': 45_000 },
    'publishers cut off too': { 'fault.publishersReach': false },
  },
  gateways: ['ours'],
  oursVariants: ['outage 45 s (past retention)', 'publishers cut off too'],
  claim: {
    reported: 'our own story: the broker is unreachable for 20 s under load; connections must stay up and delivery resume without silent loss',
    symptomKinds: [],
    explanation: 'ours keeps sessions through a broker outage and announces what expired as gaps',
    blamed: [],
    own: true,
  },
  eventsMax: 100_000_000,
  run,
});
