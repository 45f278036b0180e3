// The real Gateway and the real client, inside the lab: sim transport + sim sockets over the kernel model.
import { describe, expect, it } from 'vitest';
import { OdinClient } from '../../src/client/client.js';
import { Gateway } from '../../src/core/gateway.js';
import { gatewayOptions } from '../../src/core/options.js';
import { SimBroker } from '../../sim/adapters/broker-sim.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { SimRandom } from '../../sim/adapters/random-sim.js';
import { runGuarded } from '../../sim/engine/determinism-guard.js';
import { NODE } from '../../sim/kernel/runtime.js';
import { World } from '../../sim/kernel/world.js';
import { SimSocketFactory } from '../../sim/adapters/socket-sim.js';
import { SimTelemetry } from '../../sim/adapters/telemetry-sim.js';
import { SimTransport, WS_CLOSE_TIMEOUT_MS } from '../../sim/adapters/transport-sim.js';
import type { TcpSocket } from '../../sim/kernel/socket.js';
import type { ClientSocket, SocketFactory } from '../../src/client/ports.js';
import type { DrainOutcome, Session } from '../../src/core/gateway.js';

const GIB = 1024 ** 3;
/** Descriptors kept free so over-capacity handshakes can still be accepted and answered 503. */
const REFUSAL_HEADROOM_FDS = 16;

function build(seed: string, clients: number, gatewayNofile: number, headroomFds = REFUSAL_HEADROOM_FDS, urlOf = (i: number) => `ws://10.0.0.1/ws?user=u${i}`) {
  const world = new World(seed);
  const clock = new SimClock(world.sched);
  const sh = world.addHost({ name: 'gw', os: 'linux', addresses: ['10.0.0.1'], memoryBytes: 8 * GIB, cores: 4 });
  const ch = world.addHost({ name: 'users', os: 'linux', addresses: ['10.0.1.1'], memoryBytes: 8 * GIB, cores: 4 });
  const proc = world.spawn(sh, { name: 'odin', runtime: { ...NODE, raisesNofileToHard: false }, nofileSoft: gatewayNofile, fdsReserved: 10 });
  const users = world.spawn(ch, { name: 'users', runtime: NODE, nofileSoft: 1_000_000 });
  const brokerRandom = new SimRandom(world.rng.fork('broker'));
  const broker = new SimBroker(world.sched, clock, () => brokerRandom);
  const telemetry = new SimTelemetry(clock);
  const options = gatewayOptions();
  // Descriptors: the listener is opened by the transport below (libuv's reserve is already among the
  // runtime's own, NODE.startFds); keep it out too.
  // Refusing needs a descriptor as well (accept, write 503, close), so admission must leave headroom for
  // refusals in flight — without it the 503 path itself hits EMFILE and libuv's trick closes the socket.
  const fdReserve = proc.fds.used + 1 + headroomFds;
  const gw = new Gateway({ clock, random: new SimRandom(world.rng.fork('gateway')), broker: broker.consumer(), telemetry }, options, {
    configuredMax: options.admission.connectionsMax,
    memoryBudgetBytes: null,
    baselineBytes: 0,
    retainedBytes: 0,
    perConnectionBytes: 1,
    fdLimit: proc.fds.softLimit,
    fdReserve,
  });
  gw.start();
  const transport = new SimTransport(proc, gw, { port: 80, backlog: 511, handshakeCpuMs: 0.2, inboundCpuMs: 0.02, writeCpuMs: 0.01 });
  const sockets = new SimSocketFactory(users, '10.0.0.1', 80);
  const received: number[] = new Array<number>(clients).fill(0);
  const errors: string[] = [];
  /** Each client's socket, so a test can stall its reader (the lab's socket keeps its TCP socket in `tcp`). */
  const opened: ClientSocket[] = [];
  const socketFactory: SocketFactory = (url, protocols, handlers) => {
    const socket = sockets.factory(url, protocols, handlers);
    opened.push(socket);
    return socket;
  };
  for (let i = 0; i < clients; i++) {
    // One client per 12 ms (≈83/s): under the per-IP handshake rate (100/s), so refusals are capacity only.
    world.sched.at(
      i * 12,
      () => {
        const c = new OdinClient({
          url: urlOf(i),
          socketFactory,
          clock,
          random: new SimRandom(world.rng.fork(`client${i}`)),
          reconnect: { maxAttempts: 0 },
          onError: (e) => errors.push(e.code),
        });
        c.subscribe('odin.game.1.round', { onEvent: () => void received[i]!++ });
        c.connect();
      },
      null,
    );
  }
  world.sched.at(5_000, () => broker.publish('odin.game.1.round', '{"phase":"start betting"}', () => undefined), null);
  return { world, gw, transport, sockets, opened, received, errors, capacity: gatewayNofile - fdReserve, telemetry };
}

describe('our Gateway inside the lab', () => {
  it('without refusal headroom the descriptor term cannot be enforced by 503: the overflow meets EMFILE instead', () => {
    // Same set-up with fdReserve = listener + libuv reserve only (headroom 0): the lab shows why it is needed.
    const run = build('a', 300, 200, 0);
    run.world.sched.runUntil(10_000);
    expect(run.transport.stats.refused).toBe(0);
    expect(run.sockets.outcomes['http-503']).toBeUndefined();
    expect(run.transport.accept.stats.emfileClosed).toBeGreaterThan(0);
  });

  it('admits up to the descriptor-derived capacity and refuses the rest with HTTP 503 before the upgrade', () => {
    const run = build('a', 300, 200);
    run.world.sched.runUntil(10_000);
    expect(run.capacity).toBeGreaterThan(100);
    expect(run.transport.stats.opened).toBe(run.capacity);
    expect(run.sockets.outcomes['http-503']).toBe(300 - run.capacity);
    // Every admitted client got the broadcast exactly once; nobody saw a reset.
    expect(run.received.filter((n) => n === 1)).toHaveLength(run.capacity);
    expect(run.received.every((n) => n <= 1)).toBe(true);
    expect(Object.keys(run.sockets.outcomes).some((k) => k.startsWith('ECONNRESET'))).toBe(false);
    expect(run.gw.admission.capacity.boundBy).toBe('descriptors');
  });

  it('asks the core the same handshake question as the real server: path and version are checked before admission', () => {
    // src/core/handshake.ts decides for both src/server/upgrade.ts and the sim transport; a malformed
    // request is refused with its own status and never reaches admission (no handshake is counted).
    const wrongPath = build('p', 5, 200, REFUSAL_HEADROOM_FDS, (i) => `ws://10.0.0.1/nope?user=u${i}`);
    wrongPath.world.sched.runUntil(1_000);
    expect(wrongPath.sockets.outcomes['http-404']).toBe(5);
    const badVersion = build('v', 5, 200, REFUSAL_HEADROOM_FDS, (i) => `ws://10.0.0.1/ws?v=2&user=u${i}`);
    badVersion.world.sched.runUntil(1_000);
    expect(badVersion.sockets.outcomes['http-400']).toBe(5);
    for (const run of [wrongPath, badVersion]) {
      expect(run.transport.stats.refused).toBe(5);
      expect(run.telemetry.total('odin_handshakes_total')).toBe(0);
    }
  });

  it("reports a close to the core asynchronously, as ws does: the slot is held until the peer answers, or ws's closeTimeout", () => {
    const run = build('c', 2, 200);
    run.world.sched.runUntil(1_000);
    expect(run.gw.sessionCount()).toBe(2);
    // Client 1 stops reading: it will never see the close frame, let alone answer it.
    (run.opened[1] as unknown as { tcp: TcpSocket }).tcp.pause();
    let outcome: DrainOutcome | null = null;
    run.gw.drain((o) => (outcome = o));
    // Never inside the core's own close(): both sessions are still there when drain() returns.
    expect(run.gw.sessionCount()).toBe(2);
    run.world.sched.runUntil(1_010);
    // The reading client answered within a round trip; the stalled one holds its slot.
    expect(run.gw.sessionCount()).toBe(1);
    expect(run.gw.admission.held).toBe(1);
    // The drain deadline (10 s) terminates it before ws's closeTimeout would have.
    run.world.sched.runUntil(1_000 + 10_000 + 10);
    expect(outcome).toEqual({ closed: 1, terminated: 1 });
    expect(run.gw.sessionCount()).toBe(0);
    expect(run.gw.admission.held).toBe(0);
  });

  it("destroys a peer that never answers a close frame after ws's closeTimeout", () => {
    const run = build('t', 1, 200);
    run.world.sched.runUntil(1_000);
    (run.opened[0] as unknown as { tcp: TcpSocket }).tcp.pause();
    run.gw.onBinaryMessage([...(run.gw as unknown as { ctx: { sessions: Map<string, Session> } }).ctx.sessions.values()][0]!);
    run.world.sched.runUntil(1_000 + WS_CLOSE_TIMEOUT_MS - 1);
    expect(run.gw.sessionCount()).toBe(1);
    run.world.sched.runUntil(1_000 + WS_CLOSE_TIMEOUT_MS + 1);
    expect(run.gw.sessionCount()).toBe(0);
    expect(run.telemetry.counters.get('odin_disconnects_total{code=1006}')).toBe(1);
  });

  it('is deterministic and runs under the guard (no wall clock or Math.random in gateway or client)', () => {
    const trace = (seed: string) =>
      runGuarded(() => {
        const run = build(seed, 60, 100);
        run.world.sched.runUntil(10_000);
        return JSON.stringify([run.sockets.outcomes, run.received, run.world.sched.executed, [...run.telemetry.counters]]);
      });
    expect(trace('x')).toBe(trace('x'));
  });
});
