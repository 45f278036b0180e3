// rolling-restart — docs/lab.md, "Stories of our own": one of two gateway instances drains and restarts
// under load. Two instances of our real Gateway read one stream; a load balancer spreads new connections
// over the live instances (it takes an instance out when it starts draining and back once it listens
// again). Clients run the real client: on the drain's 1001 close they come back after the jittered hint,
// land on the other instance and resume with `since`. Checks per client: order (I1), no duplicates (I2),
// every acknowledged event delivered or announced (I3), and everyone back by the end.
import type { SocketFactory } from '../../src/client/ports.js';
import type { EventMeta, GapInfo } from '../../src/client/types.js';
import { SimBroker } from '../adapters/broker-sim.js';
import { SimClock } from '../adapters/clock-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { Host } from '../kernel/host.js';
import { NODE } from '../kernel/runtime.js';
import { type OurGateway, startOurGateway } from '../servers/ours.js';
import { type ClientRobot, ClientRobotFleet } from '../robots/client-robots.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import defaults from './inputs/rolling-restart.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { type LimitHit, num } from './scenario.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const PORT = 443;

interface View {
  offsets: number[];
  gaps: GapInfo[];
  resets: number;
  channel: number;
}

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  if (gateway !== 'ours') throw new Error('rolling-restart is a story of our own gateway');
  const n = (k: string) => num(inputs, k);
  /** The ramp's length: load.connections started at load.rampPerSecond. */
  const rampMs = (n('load.connections') * 1000) / n('load.rampPerSecond');
  const world = ctx.world;
  const gib = 1024 ** 3;
  const clock = new SimClock(world.sched);
  // One stream both instances read (each through its own consumer), as with JetStream.
  const streamRandom = new SimRandom(world.rng.fork('stream'));
  const stream = new SimBroker(world.sched, clock, () => streamRandom, {
    retention: { eventsMax: 100_000, bytesMax: 50 * 1024 ** 2, ageMs: n('feed.retentionAgeMs') },
  });
  const hostA = world.addHost({ name: 'gw-a', os: 'linux', addresses: [A], memoryBytes: 8 * gib, cores: 4 });
  const hostB = world.addHost({ name: 'gw-b', os: 'linux', addresses: [B], memoryBytes: 8 * gib, cores: 4 });
  const addrs = Array.from({ length: n('load.sourceAddresses') }, (_, i) => `10.3.${i >> 8}.${(i & 255) + 1}`);
  const loadHost = world.addHost({ name: 'load', os: 'linux', addresses: addrs, memoryBytes: 64 * gib, cores: 32 });
  const loadProc = world.spawn(loadHost, { name: 'users', runtime: NODE, nofileSoft: 10_000_000 });
  let starts = 0;
  const startInstance = (host: Host): OurGateway => {
    const proc = world.spawn(host, { name: `odin-${host.name}-${starts++}`, runtime: NODE, nofileSoft: 1_048_576 });
    return startOurGateway(proc, {
      port: PORT,
      backlog: 511,
      handshakeCpuMs: n('gateway.handshakeCpuMs'),
      inboundCpuMs: n('gateway.inboundCpuMs'),
      writeCpuMs: n('gateway.writeCpuMs'),
      baselineBytes: 60 * 1024 ** 2,
      stream,
    });
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
  const views = new Map<ClientRobot, View>();
  const channels = Array.from({ length: n('load.channels') }, (_, i) => `odin.token.R${i}.trade`);
  const fleets = channels.map(
    (ch, c) =>
      new ClientRobotFleet(loadProc, clock, {
        dstAddr: A,
        dstPort: PORT,
        channel: ch,
        socketFactory: lb,
        onEvent: (r: ClientRobot, meta: EventMeta) => void viewOf(r, c).offsets.push(meta.offset),
        onGap: (r: ClientRobot, _ch: string, gap: GapInfo) => void viewOf(r, c).gaps.push(gap),
        onReset: (r: ClientRobot) => void viewOf(r, c).resets++,
      }),
  );
  function viewOf(r: ClientRobot, c: number): View {
    let v = views.get(r);
    if (v === undefined) views.set(r, (v = { offsets: [], gaps: [], resets: 0, channel: c }));
    return v;
  }
  for (let i = 0; i < n('load.connections'); i++) (fleets[i % channels.length] as ClientRobotFleet).add((rampMs * i) / n('load.connections'));

  // Publisher: random channel, fixed rate, acknowledged offsets per channel.
  const acked: number[][] = channels.map(() => []);
  const pubRng = world.rng.fork('publisher');
  const every = 1000 / n('feed.publishPerSecond');
  const publishOne = (): void => {
    const c = pubRng.int(0, channels.length - 1);
    stream.publish(channels[c] as string, `{"t":${Math.round(world.sched.nowMs)}}`, (r) => {
      if (r.ok) (acked[c] as number[]).push(r.offset);
    });
    if (world.sched.nowMs + every < n('run.endMs') - 10_000) world.sched.after(every, publishOne, null);
  };
  world.sched.at(rampMs, publishOne, null);

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
  let outOfOrder = 0;
  let duplicates = 0;
  let silentlyLost = 0;
  let announced = 0;
  let delivered = 0;
  let reconnects = 0;
  const states: Record<string, number> = {};
  for (const f of fleets) {
    for (const r of f.robots) {
      const st = r.client?.state ?? 'not-started';
      states[st] = (states[st] ?? 0) + 1;
      reconnects += r.client?.counters.reconnects ?? 0;
      const v = views.get(r);
      if (v === undefined) continue;
      delivered += v.offsets.length;
      for (let i = 1; i < v.offsets.length; i++) {
        const a = v.offsets[i - 1] as number;
        const b = v.offsets[i] as number;
        if (b === a) duplicates++;
        else if (b < a) outOfOrder++;
      }
      const first = v.offsets[0];
      if (first === undefined) continue;
      const got = new Set(v.offsets);
      for (const o of acked[v.channel] as number[]) {
        if (o <= first || got.has(o)) continue;
        if (v.gaps.some((g) => g.from <= o && o <= g.to) || v.resets > 0) announced++;
        else silentlyLost++;
      }
    }
  }
  const outcomes: Record<string, number> = {};
  for (const k of Object.keys(states).sort()) outcomes[`client:${k}`] = states[k] as number;
  const attempts: Record<string, number> = {};
  for (const [name, f] of [
    ['a', toA],
    ['b', toB],
  ] as const) {
    for (const k of Object.keys(f.outcomes).sort()) attempts[`attempt@${name}:${k}`] = f.outcomes[k] as number;
  }
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
    acknowledgedPublishes: acked.reduce((s, x) => s + x.length, 0),
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
    silentlyLost === 0 && duplicates === 0 && outOfOrder === 0
      ? `I1–I3 hold across the restart: ${delivered} deliveries, no duplicate, no reordering, no silent loss (${announced} announced by gap/reset).`
      : `INVARIANT BROKEN: ${silentlyLost} silently lost, ${duplicates} duplicates, ${outOfOrder} out of order.`,
    `At the end: ${metrics['sessionsAEnd']} sessions on the restarted A, ${metrics['sessionsBEnd']} on B (new connections only go to A once it is back; existing ones stay where they are).`,
  ];
  return {
    outcomes,
    limits,
    metrics,
    diagnosis,
  };
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
