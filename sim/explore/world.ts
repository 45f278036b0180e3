// One explorer run: a small world (our real Gateway on a gateway host, the explorer's broker, robots
// running the real OdinClient on a users host, a publisher), a fault schedule applied to it, and the TRACE
// it leaves: every publish the broker acknowledged, and per robot per subscription everything the app saw
// through the client's handlers, in order. The trace holds virtual-time facts only (I10).
//
// Robots see the wire through a thin spy on their socket handlers: the `subscribed` replies tell the
// checker where each subscription started (the position the gateway answered) and where a reset moved
// it. Payloads carry the stream generation and the publish number, so the checker can tell which
// acknowledged publish every delivered event is, also across a broker restart with a new epoch.
import { OdinClient } from '../../src/client/client.js';
import type { ClientSocket, SocketFactory, SocketHandlers } from '../../src/client/ports.js';
import { type AdmissionTicket, Gateway, type Session } from '../../src/core/gateway.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import type { Connection, Frame } from '../../src/core/ports.js';
import { subjectMatches } from '../../src/core/protocol.js';
import { SimClock, SimRandom } from '../engine/clock-sim.js';
import type { Prng } from '../engine/prng.js';
import type { Host } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import { NODE } from '../kernel/runtime.js';
import type { TcpSocket } from '../kernel/socket.js';
import { World } from '../kernel/world.js';
import { LAN } from '../net/link.js';
import { SimSocketFactory } from '../socket-sim.js';
import { SimTelemetry } from '../telemetry-sim.js';
import { SimTransport } from '../transport-sim.js';
import { type BrokerConsumer, ExploreBroker } from './broker.js';
import { type BugName, withBug } from './bugs.js';
import { type Fault, healedByMs } from './schedule.js';

const GIB = 1024 ** 3;
/** Gateway instances' addresses; a run uses the first `spec.gateways` of them. */
const GW_ADDRS = ['10.0.0.1', '10.0.0.2'] as const;
const USERS_ADDR = '10.0.1.1';
const PORT = 80;

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

export const defaultWorldSpec: WorldSpec = { gateways: 2, robots: 20, publishEveryMs: 20, payloadPadBytes: 200, settleMs: 30_000, quietMs: 10_000, minRunMs: 20_000 };

/** Our gateway with short heartbeats and a small outbound bound, so faults reach the slow-client policy. */
const EXPLORE_GATEWAY: GatewayOptionsInput = {
  heartbeatMs: 5_000,
  heartbeatTimeoutMs: 3_000,
  outbound: { queueBytesMax: 16 * 1024, socketHighWaterBytes: 4 * 1024, slowCloseAfterMs: 3_000 },
  channelClasses: [{ pattern: 'odin.global.>', priority: 'low', conflate: false }],
};

/** What the app saw, in order. e: event; g: onGap; r: onReset; s: the wire's subscribed position. */
export type Seen =
  | readonly ['e', string, number, number, number] // channel, offset, generation, publish number
  | readonly ['g', string, number, number, string] // channel, from, to, reason
  | readonly ['r', string, string] // reason, the name onReset gave (a reset of an overlapping name counts too)
  | readonly ['s', number, number, boolean, string]; // generation, offset, recovered, name in the reply

export interface SubTrace {
  readonly name: string;
  readonly seen: Seen[];
}

export interface RobotTrace {
  readonly index: number;
  readonly subs: SubTrace[];
  state: string;
}

/** One acknowledged publish. */
export interface Ack {
  readonly k: number;
  readonly generation: number;
  readonly channel: string;
  readonly offset: number;
  readonly atMs: number;
}

export interface Trace {
  readonly seed: string;
  readonly bug: BugName | null;
  readonly faults: readonly Fault[];
  readonly acks: Ack[];
  readonly robots: RobotTrace[];
  /** Acknowledged head per generation at the end. */
  readonly heads: number[];
  readonly healedByMs: number;
  readonly endMs: number;
  events: number;
  /** I5: event frames that differed from the first frame any robot got for the same publish. */
  readonly frameMismatches: { readonly robot: number; readonly channel: string; readonly offset: number; readonly generation: number }[];
}

interface Robot {
  readonly index: number;
  readonly trace: RobotTrace;
  client: OdinClient | null;
  socket: ClientSocket | null;
  stalledUntilMs: number;
  slow: { readonly untilMs: number; readonly everyMs: number } | null;
  /** Reader faults also shrink the robot's receive buffer (SO_RCVBUF), so its backlog reaches the gateway. */
  rcvBufBytes: number | null;
  /** Connection attempts so far (the load balancer's round robin). */
  attempts: number;
}

/** A constrained client's receive buffer; at least WRITE_CHUNK_BYTES, so every chunk can still arrive. */
const SLOW_RCVBUF_BYTES = 16 * 1024;

interface Live {
  readonly world: World;
  readonly clock: SimClock;
  readonly broker: ExploreBroker;
  readonly bug: BugName | null;
  readonly users: SimProcess;
  readonly instances: Instance[];
  readonly robots: Robot[];
  readonly trace: Trace;
  readonly epochs: Map<string, number>;
  /** First event frame seen per publish ("gen/channel@offset"), for the I5 comparison. */
  readonly frames: Map<string, string>;
  readonly watch: RunOptions['watch'];
  /** Active latency and loss faults (every gateway ↔ users link), combined into one link spec. */
  readonly linkFaults: Set<Fault>;
}

/** One gateway instance: its host, its consumer of the broker stream, the robots' way to it. */
interface Instance {
  readonly index: number;
  readonly host: Host;
  readonly consumer: BrokerConsumer;
  readonly sockets: SimSocketFactory;
  gw: { proc: SimProcess; gateway: Gateway; telemetry: SimTelemetry } | null;
  starts: number;
  /** partition-clients: packets between this instance and the users are held until then. */
  holdUntilMs: number;
}

function tcpOf(s: ClientSocket | null): TcpSocket | null {
  // The lab's socket (sim/socket-sim.ts) keeps its kernel socket in `tcp`; reader faults pause it.
  return s === null ? null : ((s as unknown as { tcp: TcpSocket | null }).tcp ?? null);
}

function startGateway(live: Live, inst: Instance): void {
  const n = `${inst.index}.${inst.starts++}`;
  const proc = live.world.spawn(inst.host, { name: `odin${n}`, runtime: NODE, nofileSoft: 65_536 });
  const options = gatewayOptions(EXPLORE_GATEWAY);
  const telemetry = new SimTelemetry(live.clock);
  const gateway = new Gateway(
    { clock: live.clock, random: new SimRandom(live.world.rng.fork(`gateway${n}`)), broker: withBug(inst.consumer, live.bug), telemetry },
    options,
  );
  gateway.start();
  new SimTransport(proc, splitWrites(gateway), { port: PORT, backlog: 511, handshakeCpuMs: 0.2, inboundCpuMs: 0.02, writeCpuMs: 0.01 });
  inst.gw = { proc, gateway, telemetry };
}

/**
 * The kernel model delivers one write as one chunk and its reader takes whole chunks only, so a write
 * bigger than the peer's receive buffer would never arrive (docs/lab.md, Explorer: a lab limit, not
 * TCP's). The gateway coalesces a turn's frames into one write — a whole replay at once — so the explorer
 * hands the transport a gateway whose connections pass writes on in chunks of at most WRITE_CHUNK_BYTES,
 * which is what TCP does with a big write anyway. Frame order and the buffered amount are unchanged.
 */
const WRITE_CHUNK_BYTES = 16 * 1024;

class ChunkedConnection implements Connection {
  constructor(private readonly inner: Connection) {}
  write(frames: readonly Frame[]): void {
    let chunk: Frame[] = [];
    let bytes = 0;
    for (const f of frames) {
      if (bytes + f.bytes.byteLength > WRITE_CHUNK_BYTES && chunk.length > 0) {
        this.inner.write(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(f);
      bytes += f.bytes.byteLength;
    }
    if (chunk.length > 0) this.inner.write(chunk);
  }
  bufferedBytes(): number {
    return this.inner.bufferedBytes();
  }
  ping(): void {
    this.inner.ping();
  }
  close(code: number, reason: string): void {
    this.inner.close(code, reason);
  }
  terminate(): void {
    this.inner.terminate();
  }
}

/** The same gateway, except that open() wraps each connection in a ChunkedConnection. */
function splitWrites(gateway: Gateway): Gateway {
  const open = (conn: Connection, ticket: AdmissionTicket): Session => gateway.open(new ChunkedConnection(conn), ticket);
  return new Proxy(gateway, {
    get(target, prop) {
      if (prop === 'open') return open;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function stopGateway(live: Live, inst: Instance): void {
  if (inst.gw === null) return;
  live.watch?.log(`${live.world.sched.nowMs} gateway ${inst.gw.proc.name} killed; its logs: ${JSON.stringify(inst.gw.telemetry.logs)}`);
  inst.gw.proc.kill('restart');
  inst.gw.gateway.stop();
  inst.gw = null;
}

/** A fault's instances: `target` −1 means every instance. */
function instancesAt(live: Live, target: number): Instance[] {
  if (target < 0) return live.instances;
  const inst = live.instances[target % live.instances.length];
  return inst === undefined ? [] : [inst];
}

function generationOf(live: Live, epoch: string): number {
  return live.epochs.get(epoch) ?? -1;
}

const EVENT_HEAD = /^\{"type":"event","ch":"([^"]+)","offset":(\d+),"prev":[^,]*,"data":\{"g":(\d+),/;

/** I5: every robot gets the same bytes for one publish, live or replayed, from any gateway instance. */
function compareFrame(live: Live, r: Robot, text: string): void {
  const m = EVENT_HEAD.exec(text);
  if (m === null) return;
  const k = `${m[3]}/${m[1]}@${m[2]}`;
  const first = live.frames.get(k);
  if (first === undefined) live.frames.set(k, text);
  else if (first !== text) live.trace.frameMismatches.push({ robot: r.index, channel: m[1] as string, offset: Number(m[2]), generation: Number(m[3]) });
}

/** Records `subscribed` replies (the spy) before the client acts on them, and compares event frames. */
function spy(live: Live, r: Robot, text: string): void {
  if (text.startsWith('{"type":"event"')) return compareFrame(live, r, text);
  if (!text.startsWith('{"type":"subscribed"')) return;
  const msg = JSON.parse(text) as { channels: Record<string, { epoch: string; offset: number; recovered?: boolean }> };
  // Each subscription logs the reply's entries for its own name and for names that overlap it (a pattern
  // and a concrete channel it matches share the client's per-channel track, so a reset of one is the
  // other's too).
  for (const sub of r.trace.subs) {
    for (const [name, st] of Object.entries(msg.channels)) {
      if (name === sub.name || subjectMatches(name, sub.name) || subjectMatches(sub.name, name)) {
        sub.seen.push(['s', generationOf(live, st.epoch), st.offset, st.recovered !== false, name]);
      }
    }
  }
}

function watched(live: Live, r: Robot): ((line: string) => void) | null {
  const w = live.watch;
  if (w === undefined || !w.robots.includes(r.index)) return null;
  return (line) => w.log(`${live.world.sched.nowMs.toFixed(1)} r${r.index} ${line}`);
}

function robotFactory(live: Live, r: Robot): SocketFactory {
  const log = watched(live, r);
  return (url, protocols, handlers) => {
    log?.('socket opened');
    const wrapped: SocketHandlers = {
      onMessage: (text) => {
        if (r.rcvBufBytes !== null) setRcvBuf(live, r);
        log?.(`<- ${text.slice(0, 160)} (reading ${String(tcpOf(s)?.reading)})`);
        spy(live, r, text);
        handlers.onMessage(text);
      },
      onClose: (info) => {
        log?.(`closed ${JSON.stringify(info)}`);
        handlers.onClose(info);
      },
    };
    // A load balancer in front of the instances: each connection attempt goes to the next one, so
    // resumes cross instances (DESIGN §2: a client can resume on any instance).
    const inst = live.instances[(r.index + r.attempts++) % live.instances.length] as Instance;
    const s = inst.sockets.factory(url, protocols, wrapped);
    if (log !== null) {
      const send = s.send.bind(s);
      s.send = (text: string): void => {
        log(`-> ${text.slice(0, 200)}`);
        send(text);
      };
    }
    r.socket = s;
    if (r.stalledUntilMs > live.world.sched.nowMs || r.slow !== null) tcpOf(s)?.pause();
    return s;
  };
}

function startRobot(live: Live, r: Robot, rng: Prng): void {
  const c = new OdinClient({
    url: `ws://odin/ws?user=r${r.index}`,
    socketFactory: robotFactory(live, r),
    clock: live.clock,
    random: new SimRandom(rng),
    reconnect: { baseMs: 250, capMs: 4_000 },
    connectTimeoutMs: 5_000,
    replayTimeoutMs: 5_000,
    ...(watched(live, r) !== null ? { onStateChange: (st: string) => watched(live, r)?.(`state ${st}`) } : {}),
  });
  for (const sub of r.trace.subs) {
    c.subscribe(sub.name, {
      onEvent: (data, meta) => {
        const d = data as { g: number; k: number };
        sub.seen.push(['e', meta.channel, meta.offset, d.g, d.k]);
      },
      onGap: (channel, gap) => void sub.seen.push(['g', channel, gap.from, gap.to, gap.reason]),
      onReset: (name, reason) => void sub.seen.push(['r', reason, name]),
    });
  }
  r.client = c;
  c.connect();
}

function publish(live: Live, k: number, channel: string, pad: string): void {
  const g = live.broker.generation;
  live.broker.publish(channel, `{"g":${g},"k":${k},"p":"${pad}"}`, (res) => {
    if (res.ok) live.trace.acks.push({ k, generation: g, channel, offset: res.offset, atMs: live.world.sched.nowMs });
  });
}

// ---- faults -------------------------------------------------------------------------------------------

function applyLink(live: Live): void {
  let latencyMs = LAN.latencyMs;
  let lossRate = 0;
  const now = live.world.sched.nowMs;
  for (const f of live.linkFaults) {
    if (f.kind === 'latency-spike') latencyMs = Math.max(latencyMs, LAN.latencyMs + (f.params.latencyMs ?? 0));
    if (f.kind === 'loss-burst') lossRate = Math.max(lossRate, f.params.lossRate ?? 0);
  }
  for (const inst of live.instances) {
    // A partition holds packets until it heals: sent now, they arrive when it ends (TCP retransmits then).
    const held = inst.holdUntilMs > now ? Math.max(latencyMs, inst.holdUntilMs - now) : latencyMs;
    const spec = { ...LAN, latencyMs: held, lossRate };
    live.world.net.setLink(inst.host.name, 'users', spec);
    live.world.net.setLink('users', inst.host.name, spec);
  }
}

function linkFault(live: Live, f: Fault): void {
  live.linkFaults.add(f);
  if (f.kind === 'partition-clients') for (const inst of instancesAt(live, f.target)) inst.holdUntilMs = Math.max(inst.holdUntilMs, f.atMs + f.durationMs);
  applyLink(live);
  live.world.sched.at(f.atMs + f.durationMs, () => {
    live.linkFaults.delete(f);
    applyLink(live);
  }, null);
}

/** Sets the window the gateway's side of the robot's connection sees (the robot's receive buffer). */
function setRcvBuf(live: Live, r: Robot): void {
  const peer = tcpOf(r.socket)?.peer;
  if (peer !== null && peer !== undefined) peer.tx.rcvCapBytes = r.rcvBufBytes ?? live.users.host.sysctls.rmemBytes;
}

function readerFaultEnds(live: Live, r: Robot): void {
  const now = live.world.sched.nowMs;
  if (now < r.stalledUntilMs || r.slow !== null) return;
  r.rcvBufBytes = null;
  setRcvBuf(live, r);
  tcpOf(r.socket)?.resume();
}

function slowTick(j: { live: Live; r: Robot }): void {
  const { live, r } = j;
  const now = live.world.sched.nowMs;
  const tcp = tcpOf(r.socket);
  if (r.slow === null || now >= r.slow.untilMs) {
    r.slow = null;
    readerFaultEnds(live, r);
    return;
  }
  // Read what the receive buffer holds, then stop again until the next tick: resume() queues the read for
  // this instant, and the pause queued after it runs next (FIFO), so one tick reads one buffer's worth.
  tcp?.resume();
  live.world.sched.after(0, (t: TcpSocket | null) => t?.pause(), tcp);
  live.world.sched.after(r.slow.everyMs, slowTick, j);
}

function robotAt(live: Live, target: number): Robot | undefined {
  return live.robots[((target % live.robots.length) + live.robots.length) % live.robots.length];
}

function applyFault(live: Live, f: Fault): void {
  const sched = live.world.sched;
  switch (f.kind) {
    case 'latency-spike':
    case 'loss-burst':
    case 'partition-clients':
      return linkFault(live, f);
    case 'partition-broker':
      for (const inst of instancesAt(live, f.target)) inst.consumer.cutOff(f.durationMs);
      return;
    case 'broker-restart':
    case 'broker-restart-new-epoch':
      live.broker.restart(f.durationMs, f.kind === 'broker-restart-new-epoch');
      live.epochs.set(live.broker.epoch(), live.broker.generation);
      return;
    case 'gateway-restart':
      for (const inst of instancesAt(live, f.target)) {
        stopGateway(live, inst);
        sched.at(f.atMs + f.durationMs, () => {
          if (inst.gw === null) startGateway(live, inst);
        }, null);
      }
      return;
    case 'stalled-reader': {
      const r = robotAt(live, f.target);
      if (r === undefined) return;
      r.stalledUntilMs = Math.max(r.stalledUntilMs, f.atMs + f.durationMs);
      r.rcvBufBytes = SLOW_RCVBUF_BYTES;
      setRcvBuf(live, r);
      tcpOf(r.socket)?.pause();
      sched.at(f.atMs + f.durationMs, () => readerFaultEnds(live, r), null);
      return;
    }
    case 'slow-reader': {
      const r = robotAt(live, f.target);
      if (r === undefined || r.slow !== null) return;
      r.slow = { untilMs: f.atMs + f.durationMs, everyMs: Math.max(1, f.params.readEveryMs ?? 500) };
      r.rcvBufBytes = SLOW_RCVBUF_BYTES;
      setRcvBuf(live, r);
      tcpOf(r.socket)?.pause();
      sched.after(r.slow.everyMs, slowTick, { live, r });
      return;
    }
    case 'reconnect-storm': {
      const count = Math.min(live.robots.length, Math.max(0, f.params.count ?? 0));
      // The network drops their connections: each client sees its socket end without asking for it.
      for (let i = 0; i < count; i++) live.robots[i]?.socket?.close(4000, 'reconnect storm');
      return;
    }
  }
}

// ---- the run --------------------------------------------------------------------------------------------

export interface RunOptions {
  readonly seed: string;
  readonly faults: readonly Fault[];
  readonly bug: BugName | null;
  readonly spec?: WorldSpec;
  /** Debugging: robots whose frames, closes and state changes are written to `log` (virtual time first). */
  readonly watch?: { readonly robots: readonly number[]; readonly log: (line: string) => void };
}

export function runWorld(opts: RunOptions): Trace {
  const spec = opts.spec ?? defaultWorldSpec;
  const world = new World(`explore:${opts.seed}`);
  const clock = new SimClock(world.sched);
  const usersHost = world.addHost({ name: 'users', os: 'linux', addresses: [USERS_ADDR], memoryBytes: 8 * GIB, cores: 4 });
  const users = world.spawn(usersHost, { name: 'users', runtime: NODE, nofileSoft: 1_000_000 });
  const broker = new ExploreBroker(world.sched, clock, world.rng.fork('broker'));
  const healed = healedByMs(opts.faults);
  const endMs = Math.max(spec.minRunMs, healed + spec.settleMs);
  const trace: Trace = { seed: opts.seed, bug: opts.bug, faults: opts.faults, acks: [], robots: [], heads: [], healedByMs: healed, endMs, events: 0, frameMismatches: [] };
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
    const inst: Instance = { index: i, host, consumer: broker.consumer(), sockets: new SimSocketFactory(users, addr, PORT), gw: null, starts: 0, holdUntilMs: 0 };
    live.instances.push(inst);
    startGateway(live, inst);
  }

  const pick = world.rng.fork('explore:robots');
  for (let i = 0; i < spec.robots; i++) {
    const token = pick.pick(CHANNELS.slice(0, 3));
    const second = pick.chance(0.5) ? TOKEN_PATTERN : 'odin.global.trending';
    const rt: RobotTrace = { index: i, subs: [{ name: token, seen: [] }, { name: second, seen: [] }], state: 'not-started' };
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
    if (inst.gw !== null) live.watch?.log(`end: gateway ${inst.gw.proc.name} logs ${JSON.stringify(inst.gw.telemetry.logs)} stats ${JSON.stringify(inst.gw.gateway.stats())}`);
  }
  for (const r of live.robots) r.trace.state = r.client?.state ?? 'not-started';
  for (const a of trace.acks) trace.heads[a.generation] = Math.max(trace.heads[a.generation] ?? 0, a.offset);
  trace.events = world.sched.executed;
  return trace;
}

/** cyrb53: a 53-bit hash of the trace's JSON, printed so two runs can be compared at a glance (I10). */
export function traceHash(trace: Trace): string {
  const text = JSON.stringify({ acks: trace.acks, robots: trace.robots, faults: trace.faults });
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
