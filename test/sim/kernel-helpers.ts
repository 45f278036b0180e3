// Small harness for kernel-model tests: a server host and a client host, a recording client handler.
import type { Errno } from '../../sim/kernel/errors.js';
import type { OsFlavour, Sysctls } from '../../sim/kernel/host.js';
import type { SimProcess } from '../../sim/kernel/process.js';
import { GO, NODE, type RuntimeProfile } from '../../sim/kernel/runtime.js';
import { NULL_HANDLER, type SocketHandler, type TcpSocket } from '../../sim/kernel/socket.js';
import { World } from '../../sim/kernel/world.js';
import type { LinkSpec } from '../../sim/net/link.js';

export const GIB = 1024 ** 3;

export interface Outcome {
  id: number;
  startMs: number;
  connectedMs?: number;
  errorMs?: number;
  error?: Errno;
  data: unknown[];
  ended: boolean;
}

/** Records what each client socket saw. `onConnectWrite` bytes are written on connect (an HTTP Upgrade). */
export class Recorder implements SocketHandler {
  readonly outcomes = new Map<TcpSocket, Outcome>();
  constructor(
    private readonly world: World,
    private readonly onConnectWrite = 0,
    /** Close the socket when the peer's FIN arrives (what an HTTP/WebSocket client does). */
    private readonly closeOnEnd = false,
  ) {}
  track(s: TcpSocket | Errno): TcpSocket {
    if (typeof s === 'string') throw new Error(`connect failed synchronously: ${s}`);
    this.outcomes.set(s, { id: s.id, startMs: this.world.sched.nowMs, data: [], ended: false });
    return s;
  }
  private o(s: TcpSocket): Outcome {
    const o = this.outcomes.get(s);
    if (o === undefined) throw new Error('untracked socket');
    return o;
  }
  onConnect(s: TcpSocket): void {
    this.o(s).connectedMs = this.world.sched.nowMs;
    if (this.onConnectWrite > 0) s.write(this.onConnectWrite, 'upgrade');
  }
  onData(s: TcpSocket, payload: unknown): void {
    this.o(s).data.push(payload);
  }
  onEnd(s: TcpSocket): void {
    this.o(s).ended = true;
    if (this.closeOnEnd) s.close();
  }
  onError(s: TcpSocket, code: Errno): void {
    const o = this.o(s);
    o.errorMs = this.world.sched.nowMs;
    o.error = code;
  }
  onDrain(): void {}
  list(): Outcome[] {
    return [...this.outcomes.values()].sort((a, b) => a.id - b.id);
  }
  errors(code: Errno): Outcome[] {
    return this.list().filter((o) => o.error === code);
  }
}

export interface Pair {
  world: World;
  server: SimProcess;
  client: SimProcess;
  serverAddr: string;
}

export interface PairOptions {
  seed?: number | string;
  serverOs?: OsFlavour;
  clientOs?: OsFlavour;
  serverSysctls?: Partial<Sysctls>;
  clientSysctls?: Partial<Sysctls>;
  serverRuntime?: RuntimeProfile;
  serverNofile?: number;
  clientNofile?: number;
  clientAddresses?: string[];
  link?: LinkSpec;
  sameHost?: boolean;
  serverMemoryLimitBytes?: number;
}

/** A runtime that keeps the soft limit it was given (so tests control nofile exactly). */
export function fixedNofile(rt: RuntimeProfile): RuntimeProfile {
  return { ...rt, raisesNofileToHard: false };
}

/** Exact timers (no timer-wheel rounding, host.ts timerWheelFireMs) unless a test asks for them. */
const EXACT_TIMERS = { timerHz: 0 };

export function pair(o: PairOptions = {}): Pair {
  const world = new World(o.seed ?? 1, o.link ? { defaultLink: o.link } : {});
  const sh = world.addHost({
    name: 'server',
    os: o.serverOs ?? 'linux',
    addresses: ['10.0.0.1'],
    memoryBytes: 8 * GIB,
    cores: 4,
    sysctls: { ...EXACT_TIMERS, ...o.serverSysctls },
  });
  const ch = o.sameHost
    ? sh
    : world.addHost({
        name: 'client',
        os: o.clientOs ?? o.serverOs ?? 'linux',
        addresses: o.clientAddresses ?? ['10.0.1.1'],
        memoryBytes: 8 * GIB,
        cores: 4,
        sysctls: { ...EXACT_TIMERS, ...o.clientSysctls },
      });
  const server = world.spawn(sh, {
    name: 'gateway',
    runtime: fixedNofile(o.serverRuntime ?? NODE),
    nofileSoft: o.serverNofile ?? 1_000_000,
    ...(o.serverMemoryLimitBytes !== undefined ? { memoryLimitBytes: o.serverMemoryLimitBytes } : {}),
  });
  const client = world.spawn(ch, { name: 'robots', runtime: fixedNofile(GO), nofileSoft: o.clientNofile ?? 1_000_000 });
  return { world, server, client, serverAddr: '10.0.0.1' };
}

/** A server program that holds every accepted socket and never reads from it. */
export const holdHandler: SocketHandler = NULL_HANDLER;
