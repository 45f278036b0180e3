// One explorer run: a small world (our real Gateway on two gateway hosts reading one broker stream, robots
// running the real OdinClient on a users host, a publisher), a fault schedule applied to it (faults.ts),
// and the TRACE it leaves (trace.ts): every publish the broker acknowledged, and per robot per
// subscription everything the app saw through the client's handlers, in order. The trace holds
// virtual-time facts only (I10). Gateways: gateways.ts; robots: robots.ts; shared state: live.ts.
//
// Robots see the wire through a thin spy on their socket handlers: the `subscribed` replies tell the
// checker where each subscription started (the position the gateway answered) and where a reset moved
// it. Payloads carry the stream generation and the publish number, so the checker can tell which
// acknowledged publish every delivered event is, also across a broker restart with a new epoch.
import { SimClock } from '../adapters/clock-sim.js';
import { NODE } from '../kernel/runtime.js';
import { World } from '../kernel/world.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import { SimBroker } from '../adapters/broker-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { BugName } from './bugs.js';
import { applyFault } from './faults.js';
import { PORT, startGateway } from './gateways.js';
import type { Instance, Live, Robot, Watch } from './live.js';
import { startRobot } from './robots.js';
import { type Fault, healedByMs } from './schedule.js';
import type { RobotTrace, Trace } from './trace.js';

export type { Ack, RobotTrace, Seen, SubTrace, Trace } from './trace.js';
export { traceHash } from './trace.js';

const GIB = 1024 ** 3;
/** Gateway instances' addresses; a run uses the first `spec.gateways` of them. */
const GW_ADDRS = ['10.0.0.1', '10.0.0.2'] as const;
const USERS_ADDR = '10.0.1.1';

export const CHANNELS = ['odin.token.A.trade', 'odin.token.B.trade', 'odin.token.C.trade', 'odin.global.trending'] as const;
const TOKEN_PATTERN = 'odin.token.>';

export interface WorldSpec {
  /** Gateway instances reading one stream behind a round-robin balancer (1 or 2). */
  readonly gateways: number;
  readonly robots: number;
  readonly publishEveryMs: number;
  /** Payload padding, so slow readers fill queues within a fault's duration. */
  readonly payloadPadBytes: number;
  /** Liveness bound: the run ends this long after the last fault heals, and everything must be caught up. */
  readonly settleMs: number;
  /** Publishing stops this long before the end, so the last events are not still in flight at the check. */
  readonly quietMs: number;
  /** The run lasts at least this long, faults or not. */
  readonly minRunMs: number;
}

export const defaultWorldSpec: WorldSpec = {
  gateways: 2,
  robots: 20,
  publishEveryMs: 20,
  payloadPadBytes: 200,
  settleMs: 30_000,
  quietMs: 10_000,
  minRunMs: 20_000,
};

function publish(live: Live, k: number, channel: string, pad: string): void {
  const g = live.broker.generation;
  live.broker.publish(channel, `{"g":${g},"k":${k},"p":"${pad}"}`, (res) => {
    if (res.ok) live.trace.acks.push({ k, generation: g, channel, offset: res.offset, atMs: live.world.sched.nowMs });
  });
}

// ---- the run --------------------------------------------------------------------------------------------

export interface RunOptions {
  readonly seed: string;
  readonly faults: readonly Fault[];
  readonly bug: BugName | null;
  readonly spec?: WorldSpec;
  readonly watch?: Watch;
}

export function runWorld(opts: RunOptions): Trace {
  const spec = opts.spec ?? defaultWorldSpec;
  const world = new World(`explore:${opts.seed}`);
  const clock = new SimClock(world.sched);
  const usersHost = world.addHost({ name: 'users', os: 'linux', addresses: [USERS_ADDR], memoryBytes: 8 * GIB, cores: 4 });
  const users = world.spawn(usersHost, { name: 'users', runtime: NODE, nofileSoft: 1_000_000 });
  const brokerRng = world.rng.fork('broker');
  const broker = new SimBroker(world.sched, clock, (generation) => new SimRandom(brokerRng.fork(`generation${generation}`)));
  const healed = healedByMs(opts.faults);
  const endMs = Math.max(spec.minRunMs, healed + spec.settleMs);
  const trace: Trace = {
    seed: opts.seed,
    bug: opts.bug,
    faults: opts.faults,
    acks: [],
    robots: [],
    heads: [],
    healedByMs: healed,
    endMs,
    events: 0,
    frameMismatches: [],
  };
  const live: Live = {
    world,
    clock,
    broker,
    bug: opts.bug,
    users,
    instances: [],
    robots: [],
    trace,
    epochs: new Map([[broker.epoch(), 0]]),
    frames: new Map(),
    watch: opts.watch,
    linkFaults: new Set(),
  };
  for (let i = 0; i < spec.gateways; i++) {
    const addr = GW_ADDRS[i];
    if (addr === undefined) throw new Error(`explore: at most ${GW_ADDRS.length} gateway instances`);
    const host = world.addHost({ name: `gw${i}`, os: 'linux', addresses: [addr], memoryBytes: 8 * GIB, cores: 4 });
    const inst: Instance = {
      index: i,
      host,
      consumer: broker.consumer(),
      sockets: new SimSocketFactory(users, addr, PORT),
      gw: null,
      starts: 0,
      holdUntilMs: 0,
    };
    live.instances.push(inst);
    startGateway(live, inst);
  }

  const pick = world.rng.fork('explore:robots');
  for (let i = 0; i < spec.robots; i++) {
    const token = pick.pick(CHANNELS.slice(0, 3));
    const second = pick.chance(0.5) ? TOKEN_PATTERN : 'odin.global.trending';
    const rt: RobotTrace = {
      index: i,
      subs: [
        { name: token, seen: [] },
        { name: second, seen: [] },
      ],
      state: 'not-started',
    };
    const r: Robot = { index: i, trace: rt, client: null, socket: null, stalledUntilMs: 0, slow: null, rcvBufBytes: null, attempts: 0 };
    live.robots.push(r);
    trace.robots.push(rt);
    const rng = world.rng.fork(`explore:robot${i}`);
    world.sched.at(pick.int(0, 1_000), () => startRobot(live, r, rng), null);
  }

  const pubRng = world.rng.fork('explore:publisher');
  const pad = 'x'.repeat(spec.payloadPadBytes);
  let k = 0;
  const pubUntilMs = endMs - spec.quietMs;
  const tick = (): void => {
    publish(live, k++, pubRng.pick(CHANNELS), pad);
    if (world.sched.nowMs + spec.publishEveryMs < pubUntilMs) world.sched.after(spec.publishEveryMs, tick, null);
  };
  world.sched.at(1_500, tick, null);

  for (const f of opts.faults) world.sched.at(f.atMs, (x: Fault) => applyFault(live, x), f);

  const res = world.sched.runUntil(endMs, 20_000_000);
  if (res.reason === 'limit') throw new Error(`explore: run ${opts.seed} hit the event limit (livelock?)`);
  for (const inst of live.instances) {
    if (inst.gw !== null)
      live.watch?.log(`end: gateway ${inst.gw.proc.name} logs ${JSON.stringify(inst.gw.telemetry.logs)} stats ${JSON.stringify(inst.gw.gateway.stats())}`);
  }
  for (const r of live.robots) r.trace.state = r.client?.state ?? 'not-started';
  for (const a of trace.acks) trace.heads[a.generation] = Math.max(trace.heads[a.generation] ?? 0, a.offset);
  trace.events = world.sched.executed;
  return trace;
}
