// rolling-restart — docs/lab.md, "Stories of our own": one of two gateway instances drains and restarts
// under load. Two instances of our real Gateway read one stream; a load balancer spreads new connections
// over the live instances (it takes an instance out when it starts draining and back once it listens
// again). Clients run the real client: on the drain's 1001 close they come back after the jittered hint,
// land on the other instance and resume with `since`. Checks per client: order (I1), no duplicates (I2),
// every acknowledged event delivered or announced (I3), and everyone back by the end.
import type { SocketFactory } from '../../src/client/ports.js';
import { SimBroker } from '../adapters/broker-sim.js';
import { SimClock } from '../adapters/clock-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { Host } from '../kernel/host.js';
import { NODE } from '../kernel/runtime.js';
import type { OurGateway } from '../servers/ours.js';
import { type ClientRobot, ClientRobotFleet } from '../robots/client-robots.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import defaults from './inputs/rolling-restart.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { checkViews, invariantsHold, Publisher, Views } from './feed-check.js';
import { addressesIn, machine, rampMs, startOurs, usersProcess } from './our-deployment.js';
import { type LimitHit, num } from './scenario.js';
import { countBy, prefixed } from './tally.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const PORT = 443;

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('rolling-restart is a story of our own gateway');
  const n = (k: string) => num(inputs, k);
  const world = ctx.world;
  const clock = new SimClock(world.sched);
  // One stream both instances read (each through its own consumer), as with JetStream.
  const streamRandom = new SimRandom(world.rng.fork('stream'));
  const stream = new SimBroker(world.sched, clock, () => streamRandom, {
    retention: { eventsMax: 100_000, bytesMax: 50 * 1024 ** 2, ageMs: n('feed.retentionAgeMs') },
  });
  const hostA = machine(ctx, 'gw-a', [A], 8, 4);
  const hostB = machine(ctx, 'gw-b', [B], 8, 4);
  const addrs = addressesIn('10.3', n('load.sourceAddresses'));
  const loadProc = usersProcess(ctx, addrs, 64, 32);
  let starts = 0;
  const startInstance = (host: Host): OurGateway => {
    const proc = world.spawn(host, { name: `odin-${host.name}-${starts++}`, runtime: NODE, nofileSoft: 1_048_576 });
    return startOurs(ctx, proc, PORT, { stream });
  };
  const instances = new Map<string, OurGateway>([
    [A, startInstance(hostA)],
    [B, startInstance(hostB)],
  ]);
  // The load balancer: round robin over instances in rotation.
  const inRotation = [A, B];
  let rr = 0;
  const toA = new SimSocketFactory(loadProc, A, PORT, addrs);
  const toB = new SimSocketFactory(loadProc, B, PORT, addrs);
  const lb: SocketFactory = (url, protocols, handlers) => {
    const dst = inRotation[rr++ % inRotation.length] ?? B;
    return (dst === A ? toA : toB).factory(url, protocols, handlers);
  };
  const views = new Views<ClientRobot>();
  const channels = Array.from({ length: n('load.channels') }, (_, i) => `odin.token.R${i}.trade`);
  const fleets = channels.map(
    (ch, c) =>
      new ClientRobotFleet(loadProc, clock, {
        dstAddr: A,
        dstPort: PORT,
        channel: ch,
        socketFactory: lb,
        onEvent: (r, meta) => void views.of(r, c).offsets.push(meta.offset),
        onGap: (r, _ch, gap) => void views.of(r, c).gaps.push(gap),
        onReset: (r) => void views.of(r, c).resets++,
      }),
  );
  for (let i = 0; i < n('load.connections'); i++) (fleets[i % channels.length] as ClientRobotFleet).add((rampMs(ctx) * i) / n('load.connections'));
  const publisher = new Publisher(
    world,
    (ch, data, done) => stream.publish(ch, data, done),
    channels,
    n('feed.publishPerSecond'),
    rampMs(ctx),
    n('run.endMs') - 10_000,
  );

  // The restart: out of rotation, drain, stop and kill, start again after a delay, back into rotation.
  let drainedAtMs = -1;
  let restartedAtMs = -1;
  let sessionsAtDrain = 0;
  world.sched.at(
    n('fault.drainAtMs'),
    () => {
      const old = instances.get(A) as OurGateway;
      sessionsAtDrain = old.gateway.sessionCount();
      inRotation.splice(inRotation.indexOf(A), 1);
      old.gateway.drain(() => {
        drainedAtMs = world.sched.nowMs;
        old.gateway.stop();
        old.transport.proc.kill('restart');
        world.sched.after(
          n('fault.restartDelayMs'),
          () => {
            instances.set(A, startInstance(hostA));
            inRotation.push(A);
            restartedAtMs = world.sched.nowMs;
          },
          null,
        );
      });
    },
    null,
  );
  ctx.record(fleets, n('run.endMs'));
  ctx.runUntil(n('run.endMs'));

  // ---- invariants per client ----
  const robots = fleets.flatMap((f) => f.robots);
  const outcomes = prefixed(
    'client:',
    countBy(robots, (r) => r.client?.state ?? 'not-started'),
  );
  const reconnects = robots.reduce((k, r) => k + (r.client?.counters.reconnects ?? 0), 0);
  const check = checkViews(views.all(), publisher.acked);
  const { delivered, duplicates, outOfOrder, silentlyLost, announced } = check;
  const attempts = { ...prefixed('attempt@a:', toA.outcomes), ...prefixed('attempt@b:', toB.outcomes) };
  const a = instances.get(A) as OurGateway;
  const b = instances.get(B) as OurGateway;
  const metrics: Record<string, number> = {
    clients: n('load.connections'),
    sessionsOnAAtDrain: sessionsAtDrain,
    drainDoneAfterMs: drainedAtMs < 0 ? -1 : drainedAtMs - n('fault.drainAtMs'),
    restartedAtMs,
    sessionsAEnd: a.gateway.sessionCount(),
    sessionsBEnd: b.gateway.sessionCount(),
    reconnects,
    acknowledgedPublishes: publisher.total,
    delivered,
    duplicates,
    outOfOrder,
    silentlyLost,
    announcedByGapOrReset: announced,
    ...attempts,
  };
  const limits: LimitHit[] = [];
  const refused = Object.entries(attempts)
    .filter(([k]) => /http-(503|429)/.test(k))
    .reduce((s, [, v]) => s + v, 0);
  if (refused > 0) limits.push({ key: null, limit: 'admission during the reconnect storm (HTTP 503/429)', firstAtMs: n('fault.drainAtMs'), count: refused });
  const diagnosis = [
    `Instance A drained ${sessionsAtDrain} sessions in ${drainedAtMs < 0 ? 'more than the run' : `${((drainedAtMs - n('fault.drainAtMs')) / 1000).toFixed(3)} s`}; clients came back on B after the jittered retry hint, ${reconnects} reconnects in all.`,
    invariantsHold(check)
      ? `I1–I3 hold across the restart: ${delivered} deliveries, no duplicate, no reordering, no silent loss (${announced} announced by gap/reset).`
      : `INVARIANT BROKEN: ${silentlyLost} silently lost, ${duplicates} duplicates, ${outOfOrder} out of order.`,
    `At the end: ${metrics['sessionsAEnd']} sessions on the restarted A, ${metrics['sessionsBEnd']} on B (new connections only go to A once it is back; existing ones stay where they are).`,
  ];
  return { outcomes, limits, metrics, diagnosis };
}

export const rollingRestart = defineScenario({
  name: 'rolling-restart',
  story: 'our own story (docs/lab.md): one of two instances drains and restarts under 10,000 clients',
  defaults: defaults,
  variants: {},
  gateways: ['ours'],
  claim: {
    reported: 'our own story: one of two instances drains and restarts under load; clients reconnect and recover from history, nothing lost',
    symptomKinds: [],
    explanation: 'drain closes with a reconnect hint; clients resume from their offsets',
    blamed: [],
    own: true,
  },
  eventsMax: 200_000_000,
  run,
});
