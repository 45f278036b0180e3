// Load-generator users at the TCP level: each user opens a connection and holds it; a failed attempt is
// retried after `retryDelayMs`; a connection the server ends is reopened. Churn (users that close and
// reconnect) is driven at a fixed rate by one scheduler entry, not per user, so its cost is per close.
// The closing side here is the client: its port goes to TIME_WAIT (ports.ts).
import type { Prng } from '../engine/prng.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';

export interface TcpUsersSpec {
  readonly dstAddr: string;
  /** Server ports used in turn (more server ports = more 4-tuples). */
  readonly dstPorts: readonly number[];
  /** Source addresses used in turn. */
  readonly srcAddrs: readonly string[];
  readonly retryDelayMs: number;
  /** The tool's own connect timeout (0 = rely on the kernel's SYN retries). */
  readonly connectTimeoutMs?: number;
  /** Give up after this many failed attempts per user (Infinity = keep retrying). */
  readonly attemptsMax?: number;
}

interface User {
  readonly index: number;
  sock: TcpSocket | null;
  connected: boolean;
  attempts: number;
  startedAtMs: number;
  /** Attempt number the pending deadline belongs to. */
  deadlineFor: number;
}

export type FailureCode = Errno | 'connect-timeout';

export interface FailureSample {
  readonly atMs: number;
  readonly code: FailureCode;
}

function startUser(j: { readonly users: TcpUsers; readonly u: User }): void {
  j.users.open(j.u);
}
function deadline(j: { readonly users: TcpUsers; readonly u: User; readonly attempt: number }): void {
  j.users.deadline(j.u, j.attempt);
}

export class TcpUsers implements SocketHandler {
  private readonly users: User[] = [];
  private readonly connectedList: User[] = [];
  connected = 0;
  peakConnected = 0;
  readonly failures: FailureSample[] = [];
  closesDone = 0;
  gaveUp = 0;
  /** Connect latencies (ms) of successful first connections. */
  readonly connectLatencies: number[] = [];

  constructor(
    readonly proc: SimProcess,
    readonly spec: TcpUsersSpec,
    private readonly rng: Prng,
  ) {}

  add(atMs: number): void {
    const u: User = { index: this.users.length, sock: null, connected: false, attempts: 0, startedAtMs: atMs, deadlineFor: -1 };
    this.users.push(u);
    this.proc.world.sched.at(atMs, startUser, { users: this, u });
  }

  open(u: User): void {
    const s = this.spec;
    const port = s.dstPorts[u.index % s.dstPorts.length] as number;
    const src = s.srcAddrs[u.index % s.srcAddrs.length] as string;
    u.attempts++;
    const r = this.proc.connect(s.dstAddr, port, this, u, { srcAddr: src });
    if (typeof r === 'string') return this.failed(u, r);
    u.sock = r;
    const t = s.connectTimeoutMs ?? 0;
    if (t > 0) this.proc.world.sched.after(t, deadline, { users: this, u, attempt: u.attempts });
  }

  deadline(u: User, attempt: number): void {
    if (u.attempts !== attempt || u.connected || u.sock === null) return;
    u.sock.close();
    this.failed(u, 'connect-timeout');
  }

  private failed(u: User, code: FailureCode): void {
    this.failures.push({ atMs: this.proc.world.sched.nowMs, code });
    u.sock = null;
    if (u.attempts >= (this.spec.attemptsMax ?? Number.POSITIVE_INFINITY)) {
      this.gaveUp++;
      return;
    }
    this.proc.world.sched.after(this.spec.retryDelayMs, startUser, { users: this, u });
  }

  onConnect(s: TcpSocket): void {
    const u = s.ctx as User;
    if (u.sock !== s) return;
    u.connected = true;
    if (u.attempts === 1) this.connectLatencies.push(this.proc.world.sched.nowMs - u.startedAtMs);
    this.connected++;
    if (this.connected > this.peakConnected) this.peakConnected = this.connected;
    this.connectedList.push(u);
  }

  onData(): void {}

  onEnd(s: TcpSocket): void {
    const u = s.ctx as User;
    s.close();
    if (u.sock !== s) return;
    this.lost(u);
    this.proc.world.sched.after(this.spec.retryDelayMs, startUser, { users: this, u });
  }

  onError(s: TcpSocket, code: Errno): void {
    const u = s.ctx as User;
    if (u.sock !== s) return;
    if (u.connected) this.lost(u);
    this.failed(u, code);
  }

  onDrain(): void {}

  private lost(u: User): void {
    if (!u.connected) return;
    u.connected = false;
    this.connected--;
  }

  /** One user, chosen at random among the connected, closes (client first → TIME_WAIT) and reconnects. */
  churnOne(): void {
    // Drop stale entries lazily (users that lost their connection since they were listed).
    for (let tries = 0; tries < 8 && this.connectedList.length > 0; tries++) {
      const i = this.rng.int(0, this.connectedList.length - 1);
      const u = this.connectedList[i] as User;
      const last = this.connectedList.pop() as User;
      if (i < this.connectedList.length) this.connectedList[i] = last;
      if (!u.connected || u.sock === null) continue;
      u.sock.close();
      this.lost(u);
      this.closesDone++;
      this.open(u);
      return;
    }
  }
}
