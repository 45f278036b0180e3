// The state of one explorer run shared by its parts (gateways.ts, robots.ts, faults.ts, world.ts).
import type { OdinClient } from '../../src/client/client.js';
import type { ClientSocket } from '../../src/client/ports.js';
import type { Gateway } from '../../src/core/gateway.js';
import type { SimClock } from '../adapters/clock-sim.js';
import type { Host } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import type { TcpSocket } from '../kernel/socket.js';
import type { World } from '../kernel/world.js';
import type { SimSocketFactory } from '../adapters/socket-sim.js';
import type { SimTelemetry } from '../adapters/telemetry-sim.js';
import type { SimBroker, SimBrokerConsumer } from '../adapters/broker-sim.js';
import type { BugName } from './bugs.js';
import type { Fault } from './schedule.js';
import type { RobotTrace, Trace } from './trace.js';

/** Debugging: robots whose frames, closes and state changes are written to `log` (virtual time first). */
export interface Watch {
  readonly robots: readonly number[];
  readonly log: (line: string) => void;
}

export interface Robot {
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

export interface Live {
  readonly world: World;
  readonly clock: SimClock;
  readonly broker: SimBroker;
  readonly bug: BugName | null;
  readonly users: SimProcess;
  readonly instances: Instance[];
  readonly robots: Robot[];
  readonly trace: Trace;
  readonly epochs: Map<string, number>;
  /** First event frame seen per publish ("gen/channel@offset"), for the I5 comparison. */
  readonly frames: Map<string, string>;
  readonly watch: Watch | undefined;
  /** Active latency and loss faults (every gateway ↔ users link), combined into one link spec. */
  readonly linkFaults: Set<Fault>;
}

/** One gateway instance: its host, its consumer of the broker stream, the robots' way to it. */
export interface Instance {
  readonly index: number;
  readonly host: Host;
  readonly consumer: SimBrokerConsumer;
  readonly sockets: SimSocketFactory;
  gw: { proc: SimProcess; gateway: Gateway; telemetry: SimTelemetry } | null;
  starts: number;
  /** partition-clients: packets between this instance and the users are held until then. */
  holdUntilMs: number;
}

export function tcpOf(s: ClientSocket | null): TcpSocket | null {
  // The lab's socket (sim/adapters/socket-sim.ts) keeps its kernel socket in `tcp`; reader faults pause it.
  return s === null ? null : ((s as unknown as { tcp: TcpSocket | null }).tcp ?? null);
}

/** A fault's instances: `target` −1 means every instance. */
export function instancesAt(live: Live, target: number): Instance[] {
  if (target < 0) return live.instances;
  const inst = live.instances[target % live.instances.length];
  return inst === undefined ? [] : [inst];
}

export function robotAt(live: Live, target: number): Robot | undefined {
  return live.robots[((target % live.robots.length) + live.robots.length) % live.robots.length];
}
