// A simulated OS process: its descriptor table, memory account, CPU, sockets and listeners. Killing it
// (OOM or by a scenario) closes every descriptor the way the kernel does at exit: sockets with unread data
// send RST, others FIN; listeners reset their queued connections.
import { Cpu } from './cpu.js';
import type { Errno } from './errors.js';
import { FdTable } from './fd-table.js';
import type { Host } from './host.js';
import { MemoryAccount } from './memory.js';
import type { RuntimeProfile } from './runtime.js';
import { NULL_HANDLER, type SocketHandler, type TcpSocket } from './socket.js';
import { connect, type ConnectOptions, Listener } from './tcp.js';
import type { World } from './world.js';

const noop = (): void => undefined;

export interface ProcessSpec {
  readonly name: string;
  readonly runtime: RuntimeProfile;
  /** RLIMIT_NOFILE soft and hard limits as the process is started. */
  readonly nofileSoft: number;
  readonly nofileHard?: number;
  /** cgroup memory.max (or the host's RAM when absent). */
  readonly memoryLimitBytes?: number;
  /**
   * Descriptors the program holds before any socket: stdio, logs, outbound clients (default 3, stdio).
   * The runtime's own (RuntimeProfile.startFds, measured for Node) come on top.
   */
  readonly fdsReserved?: number;
  /** Share another process's CPU (processes competing for one machine's cores). */
  readonly cpu?: Cpu;
}

export class SimProcess {
  readonly name: string;
  readonly fds: FdTable;
  readonly mem: MemoryAccount;
  readonly cpu: Cpu;
  readonly sockets = new Set<TcpSocket>();
  readonly listeners: Listener[] = [];
  /** libuv's EMFILE reserve descriptor is open (one of the runtime's startFds; runtime.ts). */
  reserveHeld: boolean;
  /**
   * Until this virtual time the program's main thread runs a long synchronous task (a busy event loop):
   * a one-thread runtime (Node) neither accepts nor reads meanwhile; the kernel keeps completing
   * handshakes and queueing bytes. Set with busy().
   */
  busyUntilMs = 0;
  alive = true;
  exitReason: string | null = null;
  diedAtMs = -1;
  /** Told when the process dies (scenarios record it). */
  onExit: (p: SimProcess, reason: string) => void = () => undefined;

  constructor(
    readonly world: World,
    readonly host: Host,
    readonly spec: ProcessSpec,
  ) {
    this.name = spec.name;
    const rt = spec.runtime;
    // Node raises its soft limit to the hard limit at start (node.cc); other runtimes keep what they got.
    const nofile = rt.raisesNofileToHard ? (spec.nofileHard ?? spec.nofileSoft) : spec.nofileSoft;
    this.fds = new FdTable(nofile);
    this.fds.reserve((spec.fdsReserved ?? 3) + rt.startFds);
    this.reserveHeld = rt.accept === 'libuv';
    this.mem = new MemoryAccount(spec.memoryLimitBytes ?? host.memoryBytes, rt.gc, () => this.kill('oom'));
    const cores = rt.threads === 'one' ? 1 : host.cores;
    this.cpu = spec.cpu ?? new Cpu(world.sched, cores);
  }

  /** Queues `costMs` of this process's work, stretched by its GC pressure; `fn(arg)` runs when done. */
  work<A>(costMs: number, fn: (arg: A) => void, arg: A): void {
    this.cpu.submit(costMs * this.mem.stretch(), fn, arg);
  }

  /**
   * The main thread is busy for `ms` from now (a synchronous task: a big JSON parse, a sync crypto call,
   * a GC pause): the work queues on the CPU, and accept loops wait for it (runtime.ts). The parity suite
   * drives it (sim/parity); it is also how a loop that pauses and resumes accepting is modelled.
   */
  busy(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`busy ${ms} ms`);
    const until = this.world.sched.nowMs + ms;
    this.cpu.submit(ms, noop, null);
    if (until > this.busyUntilMs) this.busyUntilMs = until;
  }

  /**
   * socket() + bind() + listen(backlog). Node's default backlog is 511. The run's mechanism settings
   * (mechanisms.ts) may replace the backlog and give a listening process its busy spell.
   */
  listen(addr: string, port: number, backlog: number): Listener | Errno {
    const fd = this.fds.open();
    if (fd === 'EMFILE') return 'EMFILE';
    const m = this.world.mechanisms;
    if (m.busy !== undefined && this.listeners.length === 0) this.armBusy(m.busy.atMs, m.busy.ms);
    const l = new Listener(this, addr, port, fd, m.listenBacklog ?? backlog);
    this.host.listeners.set(l.key, l);
    this.listeners.push(l);
    return l;
  }

  connect(dstAddr: string, dstPort: number, handler: SocketHandler, ctx: unknown, opts?: ConnectOptions): TcpSocket | Errno {
    if (!this.alive) throw new Error(`connect from dead process ${this.name}`);
    return connect(this, dstAddr, dstPort, handler, ctx, opts);
  }

  /** The spell from `atMs` to `atMs + ms`, or what is left of it for a process that starts listening late. */
  private armBusy(atMs: number, ms: number): void {
    const now = this.world.sched.nowMs;
    if (atMs >= now) this.world.sched.at(atMs, busyFor, { proc: this, ms });
    else if (atMs + ms > now) this.busy(atMs + ms - now);
  }

  /** SIGKILL: the kernel closes every descriptor. Programs get no callbacks. */
  kill(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.exitReason = reason;
    this.diedAtMs = this.world.sched.nowMs;
    for (const l of this.listeners) l.close();
    for (const s of [...this.sockets]) {
      s.handler = NULL_HANDLER;
      s.close();
    }
    this.onExit(this, reason);
  }
}

function busyFor(a: { proc: SimProcess; ms: number }): void {
  if (a.proc.alive) a.proc.busy(a.ms);
}
