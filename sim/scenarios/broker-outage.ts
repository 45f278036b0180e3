// broker-outage — docs/lab.md, "Stories of our own": the broker is unreachable for 20 s under load.
// Connections must stay up, readiness must drop, and delivery must resume without loss — or with explicit
// gaps where retention expired meanwhile (I3). Our real Gateway and real clients run in the lab; a
// publisher writes to random channels at a fixed rate; the gateway's path to the broker is cut for the
// outage (publishers may or may not still reach the broker). Every client's view is checked against the
// acknowledged publishes: order (I1), no duplicates (I2), no silent loss (I3).
import { NODE } from '../kernel/runtime.js';
import { FeedClientFleet, type FeedRobot } from '../robots/feed-clients.js';
import defaults from './inputs/broker-outage.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { checkViews, invariantsHold, Publisher, Views } from './feed-check.js';
import { addressesIn, machine, rampMs, startOurs, usersProcess } from './our-deployment.js';
import { type LimitHit, num } from './scenario.js';
import { prefixed } from './tally.js';

const GW = '10.0.0.1';
const PORT = 443;

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('broker-outage is a story of our own gateway');
  const n = (k: string) => num(inputs, k);
  const world = ctx.world;
  const gwProc = world.spawn(machine(ctx, 'gateway', [GW], 8, 4), { name: 'odin', runtime: NODE, nofileSoft: 1_048_576 });
  const addrs = addressesIn('10.2', n('load.sourceAddresses'));
  const loadProc = usersProcess(ctx, addrs, 32, 16, 1_048_576);
  const ours = startOurs(ctx, gwProc, PORT, { brokerRetention: { eventsMax: 100_000, bytesMax: 50 * 1024 ** 2, ageMs: n('feed.retentionAgeMs') } });
  const channels = Array.from({ length: n('load.channels') }, (_, i) => `odin.token.T${i}.trade`);
  // Per robot (one channel each): what the client delivered, the gaps and resets it reported.
  const views = new Views<FeedRobot>();
  const fleets = channels.map(
    (ch, c) =>
      new FeedClientFleet(
        loadProc,
        ours.clock,
        { dstAddr: GW, dstPort: PORT, channels: [ch], srcAddrs: addrs },
        {
          onEvent: (r, _ch, offset) => void views.of(r, c).offsets.push(offset),
          onGap: (r, _ch, gap) => void views.of(r, c).gaps.push(gap),
          onReset: (r) => void views.of(r, c).resets++,
        },
      ),
  );
  for (let i = 0; i < n('load.connections'); i++) (fleets[i % channels.length] as FeedClientFleet).add((rampMs(ctx) * i) / n('load.connections'));
  const publisher = new Publisher(
    world,
    (ch, data, done) => ours.broker.publish(ch, data, done),
    channels,
    n('feed.publishPerSecond'),
    rampMs(ctx) + 2_000,
    n('run.endMs') - 5_000,
  );
  world.sched.at(n('fault.outageAtMs'), () => ours.broker.outage(n('fault.outageMs'), inputs['fault.publishersReach'] === true), null);
  // Readiness and open connections, sampled each second.
  let notReadyS = 0;
  let minSessionsDuringOutage = Number.POSITIVE_INFINITY;
  const sample = (): void => {
    if (!ours.gateway.ready()) notReadyS++;
    if (ours.broker.isDown) minSessionsDuringOutage = Math.min(minSessionsDuringOutage, ours.gateway.sessionCount());
    if (world.sched.nowMs + 1000 <= n('run.endMs')) world.sched.after(1000, sample, null);
  };
  world.sched.at(rampMs(ctx) + 1_000, sample, null);
  ctx.record(fleets, n('run.endMs'));
  ctx.runUntil(n('run.endMs'));

  // Check every client against the acknowledged publishes after its first delivered event.
  const check = checkViews(views.all(), publisher.acked);
  const clientsDetectingGap = fleets.reduce((k, f) => k + f.robots.filter((r) => (r.client?.counters.gapsDetected ?? 0) > 0).length, 0);
  const attempts: Record<string, number> = {};
  for (const f of fleets) for (const [k, c] of Object.entries(f.attemptCounts)) attempts[k] = (attempts[k] ?? 0) + c;
  const outcomes = prefixed('attempt:', attempts);
  const { delivered, duplicates, outOfOrder, silentlyLost, gapNotices, resets } = check;
  const metrics: Record<string, number> = {
    clients: n('load.connections'),
    acknowledgedPublishes: publisher.total,
    failedPublishes: publisher.failed,
    expiredDuringOutage: ours.broker.expiredDuringOutage,
    delivered,
    duplicates,
    outOfOrder,
    silentlyLost,
    coveredByGapOrReset: check.announced,
    gapNotices,
    clientsDetectingGap,
    resets,
    notReadySeconds: notReadyS,
    minSessionsDuringOutage: Number.isFinite(minSessionsDuringOutage) ? minSessionsDuringOutage : -1,
  };
  const limits: LimitHit[] = [{ key: 'fault.outageAtMs', limit: 'broker unreachable from the gateway', firstAtMs: n('fault.outageAtMs'), count: 1 }];
  const diagnosis = [
    `Outage ${n('fault.outageMs') / 1000} s at ${n('fault.outageAtMs') / 1000} s; readiness false for ${notReadyS} s; sessions during the outage never fell below ${metrics['minSessionsDuringOutage']} of ${n('load.connections')}.`,
    `${metrics['acknowledgedPublishes']} publishes acknowledged, ${publisher.failed} refused (publishers ${inputs['fault.publishersReach'] === true ? 'still reached' : 'were cut off from'} the broker).`,
    invariantsHold(check)
      ? `I1–I3 hold: ${delivered} deliveries, no duplicate, no reordering, no silent loss; ${check.announced} missed events were announced by ${gapNotices} gap notices / ${resets} resets.`
      : `INVARIANT BROKEN: ${silentlyLost} silently lost, ${duplicates} duplicates, ${outOfOrder} out of order` +
        (silentlyLost > 0 && ours.broker.expiredDuringOutage > 0
          ? ` — ${clientsDetectingGap} clients saw the prev-chain hole and asked for a replay, which the gateway answered from its ring as complete: the ring assumes a gapless stream, but after the outage the stream resumed past expired offsets.`
          : '.'),
    ours.broker.expiredDuringOutage > 0
      ? `${ours.broker.expiredDuringOutage} events expired from the stream (retention ${n('feed.retentionAgeMs') / 1000} s) before the gateway could read them: clients get gaps, not silence.`
      : 'Nothing expired during the outage: the consumer resumed from its last sequence and delivered everything.',
  ];
  return { outcomes, limits, metrics, diagnosis };
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
