// A WebSocket server whose accept loop has a speed: one thread calls accept(), and each accepted connection
// costs `acceptCpuMs` on that thread before the next accept (the accept syscall, spawning the handler, and
// whatever else the story's loop does inline). The upgrade itself runs on the process's cores
// (`handshakeCpuMs`), then the server answers 101 and holds the connection. No admission control.
//
// Why a paced loop: runtime.ts's AcceptLoop drains the accept queue in one go (right for libuv and Go,
// whose accept is microseconds). The syn-backlog story blames the kernel's queues, which fill only when
// the accept loop runs slower than connections arrive — so the loop's speed has to be a model input, not an
// implicit "infinitely fast". Its service rate is 1000 / acceptCpuMs connections per second; the accept
// thread is one core of the host's, so a saturated loop shows as 1/cores of the CPU ("CPU idle").
//
// EMFILE: Go's policy (sleep 5 ms doubling to 1 s, the connection waits in the queue; docs/kernel.md, "Accepting on EMFILE").
import { Cpu } from '../kernel/cpu.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import { GO_ACCEPT_BACKOFF_MAX_MS, GO_ACCEPT_BACKOFF_MIN_MS } from '../kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import type { Listener } from '../kernel/tcp.js';
import { UPGRADE_RESPONSE_BYTES, type WireMessage } from '../net/wire.js';

export interface PacedServerSpec {
  readonly port: number;
  /** listen() backlog as asked for (the kernel clamps to somaxconn). */
  readonly backlog: number;
  /** CPU per accepted connection on the single accept thread. */
  readonly acceptCpuMs: number;
  /** CPU per upgrade on the process's cores. */
  readonly handshakeCpuMs: number;
  readonly perConnectionBytes: number;
}

export interface PacedServerStats {
  accepted: number;
  upgrades: number;
  emfile: number;
  open: number;
  openPeak: number;
  /** Longest time a connection waited in the accept queue (ESTABLISHED in the kernel, not yet accepted). */
  queueWaitMaxMs: number;
}

const SWITCHING: WireMessage = { k: 'http', status: 101 };

interface Conn {
  readonly sock: TcpSocket;
  upgraded: boolean;
  closed: boolean;
}

export class PacedAcceptServer implements SocketHandler {
  readonly listener: Listener;
  /** The accept thread. */
  readonly acceptCpu: Cpu;
  readonly stats: PacedServerStats = { accepted: 0, upgrades: 0, emfile: 0, open: 0, openPeak: 0, queueWaitMaxMs: 0 };
  private busy = false;
  private backoffMs = 0;

  constructor(
    readonly proc: SimProcess,
    readonly spec: PacedServerSpec,
  ) {
    const l = proc.listen('*', spec.port, spec.backlog);
    if (typeof l === 'string') throw new Error(`paced server cannot listen: ${l}`);
    this.listener = l;
    this.acceptCpu = new Cpu(proc.world.sched, 1);
    l.onReadable = () => this.wake();
  }

  private wake(): void {
    if (this.busy || !this.proc.alive) return;
    this.busy = true;
    this.proc.world.sched.after(0, acceptOne, this);
  }

  /** One turn of the loop: accept one connection, spend its cost, come back for the next. */
  acceptNext(): void {
    const r = this.listener.accept();
    if (r === 'EAGAIN') {
      this.busy = false;
      this.backoffMs = 0;
      return;
    }
    if (r === 'EMFILE') {
      this.stats.emfile++;
      this.backoffMs = this.backoffMs === 0 ? GO_ACCEPT_BACKOFF_MIN_MS : Math.min(2 * this.backoffMs, GO_ACCEPT_BACKOFF_MAX_MS);
      this.proc.world.sched.after(this.backoffMs, acceptOne, this);
      return;
    }
    this.backoffMs = 0;
    this.stats.accepted++;
    const waited = this.proc.world.sched.nowMs - r.connectedAtMs;
    if (waited > this.stats.queueWaitMaxMs) this.stats.queueWaitMaxMs = waited;
    // Not read until the handler is attached: data arriving while the loop spends its cost must wait.
    r.pause();
    this.acceptCpu.submit(this.spec.acceptCpuMs, acceptedDone, { srv: this, sock: r });
  }

  handOff(sock: TcpSocket): void {
    sock.attach(this, { sock, upgraded: false, closed: false } satisfies Conn);
    sock.resume();
    this.acceptNext();
  }

  onConnect(): void {}

  onData(sock: TcpSocket, payload: unknown): void {
    const c = sock.ctx as Conn;
    const msg = payload as WireMessage;
    if (c.closed) return;
    if (msg.k === 'upgrade' && !c.upgraded) this.proc.work(this.spec.handshakeCpuMs, upgraded, { srv: this, c });
    else if (msg.k === 'close') this.drop(c);
  }

  finishUpgrade(c: Conn): void {
    if (c.closed || c.sock.state === 'CLOSED' || c.upgraded) return;
    if (!this.proc.mem.charge(this.spec.perConnectionBytes)) return;
    c.upgraded = true;
    this.stats.upgrades++;
    this.stats.open++;
    if (this.stats.open > this.stats.openPeak) this.stats.openPeak = this.stats.open;
    c.sock.write(UPGRADE_RESPONSE_BYTES, SWITCHING);
  }

  onEnd(sock: TcpSocket): void {
    this.drop(sock.ctx as Conn);
  }

  onError(sock: TcpSocket, _code: Errno): void {
    const c = sock.ctx as Conn;
    if (!c.closed) {
      c.closed = true;
      this.forget(c);
    }
  }

  onDrain(): void {}

  private drop(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    c.sock.close();
    this.forget(c);
  }

  private forget(c: Conn): void {
    if (!c.upgraded) return;
    this.stats.open--;
    this.proc.mem.release(this.spec.perConnectionBytes);
  }
}

function acceptOne(s: PacedAcceptServer): void {
  s.acceptNext();
}
function acceptedDone(j: { readonly srv: PacedAcceptServer; readonly sock: TcpSocket }): void {
  j.srv.handOff(j.sock);
}
function upgraded(j: { readonly srv: PacedAcceptServer; readonly c: Conn }): void {
  j.srv.finishUpgrade(j.c);
}
