// A load generator's virtual users at the TCP/HTTP level, for the capacity stories (loadgen-ports,
// syn-backlog, docker-nofile-1024): each user connects, sends the HTTP Upgrade, waits for 101 and then
// holds the connection (answering pings) until the run ends. A user that fails — an errno from connect(),
// no 101 within `handshakeTimeoutMs` (dial + upgrade, like gorilla's Dialer.HandshakeTimeout), an HTTP
// refusal, a reset — closes its socket and, if it has attempts left, retries after `retryDelayMs` doubling
// up to `retryDelayMaxMs` (or the server's Retry-After when that is longer).
//
// Why closing matters: a user that gives up on a *connected* socket closes first, so its side holds
// TIME_WAIT and parks the source port for the OS's TIME_WAIT (docs/kernel.md, "Ephemeral ports"). A user that gives up
// in SYN_SENT frees its port at once. Retries therefore cost ports only when they follow a connected attempt.
//
// Addressing (the 4-tuple rule): user i connects from `srcAddrs[i mod n]` to `dstPorts[⌊i / n⌋ mod m]` —
// independent indices, so n addresses and m ports give n·m (source, destination) port spaces (one index
// for both would pair address k with port k mod m only). A tool that picks its source address binds
// before connect (`bindSource`, default: when it has more than one address): its ports are then exclusive
// per address across the server ports, tcp_tw_reuse does not apply and exhaustion is EADDRINUSE
// (sim/kernel/ports.ts).
//
// What a failure is called depends on the client library: `client: 'node'` (Node http / ws) reports a FIN
// before the HTTP response as ECONNRESET ("socket hang up", lib/_http_client.js socketOnEnd), like a RST;
// the default ('go', gorilla/websocket) reports it as EOF.
//
// Churn (`churnOne`): an open user closes and reconnects at once — the load box closes first, so each churn
// parks a port for TIME_WAIT while the user takes a fresh one. At c churns/s the box holds c·TIME_WAIT
// parked ports on top of the open ones: the ceiling range − c·TIME_WAIT (docs/kernel.md, "Ephemeral ports").
//
// One handler object serves every user; per-user state lives in plain objects; a user holds at most one
// scheduler entry of its own at a time (deadline or retry).
import type { Prng } from '../engine/prng.js';
import type { SimEvent } from '../engine/scheduler.js';
import type { TimelineRecorder } from '../report/timeline.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import { frameBytes, UPGRADE_REQUEST_BYTES, type WireMessage } from '../net/wire.js';

export type LoadPhase = 'idle' | 'connecting' | 'upgrading' | 'open' | 'waiting' | 'done';

export interface LoadUser {
  readonly index: number;
  phase: LoadPhase;
  sock: TcpSocket | null;
  timer: SimEvent | null;
  attempts: number;
  startMs: number;
  openMs: number;
  /** Last failure kind ("" while none). */
  lastFailure: string;
  /** Index in the fleet's list of open users, or -1. */
  slot: number;
}

export interface LoadSpec {
  readonly dstAddr: string;
  readonly dstPorts: readonly number[];
  readonly srcAddrs: readonly string[];
  /** From connect() to the 101: the load tool's dial + upgrade deadline. */
  readonly handshakeTimeoutMs: number;
  readonly retryDelayMs: number;
  /** Retry delays double from retryDelayMs up to this (equal to retryDelayMs: a fixed delay). */
  readonly retryDelayMaxMs?: number;
  /** Attempts per user including the first (1 = no retries). */
  readonly attemptsMax: number;
  /** bind(srcAddr, 0) before connect(); default: true when there is more than one source address. */
  readonly bindSource?: boolean;
  /** The client library, for how it names a FIN before the response (above). Default 'go'. */
  readonly client?: 'go' | 'node';
}

const UPGRADE: WireMessage = { k: 'upgrade', target: '/ws', protocols: [], user: 0 };
const PONG: WireMessage = { k: 'pong' };

/**
 * Start time of user `i` of `n` when the arrival rate ramps linearly from `r0` to `r1` per second: the
 * count started by t is r0·t + (r1 − r0)·t²/(2T) with T = 2n/(r0 + r1).
 */
export function rampStartMs(i: number, n: number, r0: number, r1: number): number {
  if (!(r0 > 0 && r1 > 0)) throw new RangeError(`ramp rates ${r0}, ${r1}`);
  if (r0 === r1) return (1000 * i) / r0;
  const T = (2 * n) / (r0 + r1);
  const a = (r1 - r0) / (2 * T);
  return (1000 * (-r0 + Math.sqrt(r0 * r0 + 4 * a * i))) / (2 * a);
}

export interface LoadStats {
  /** Failed attempts by kind ("ETIMEDOUT", "timeout@upgrading", "http-503", …). */
  readonly failures: Record<string, number>;
  readonly firstFailureMs: Record<string, number>;
  /** Virtual time of every failed attempt, in order (for windows such as "during the ramp"). */
  readonly failureTimesMs: number[];
  /** Failed attempts that had connected, so the user's close parked a port in TIME_WAIT. */
  closesAfterConnect: number;
  opened: number;
  /** Open users that closed and reconnected (churn). */
  churned: number;
  openNow: number;
  openPeak: number;
  /** Connect latencies (connect() to SYN-ACK) of attempts that connected, in ms. */
  readonly connectMs: number[];
}

export class LoadFleet implements SocketHandler {
  readonly users: LoadUser[] = [];
  private readonly open: LoadUser[] = [];
  /** Optional: counts attempts, open sessions and failures over time for the report. */
  timeline: TimelineRecorder | null = null;
  readonly stats: LoadStats = {
    failures: {},
    firstFailureMs: {},
    failureTimesMs: [],
    closesAfterConnect: 0,
    opened: 0,
    churned: 0,
    openNow: 0,
    openPeak: 0,
    connectMs: [],
  };

  constructor(
    readonly proc: SimProcess,
    readonly spec: LoadSpec,
  ) {
    if (spec.dstPorts.length === 0 || spec.srcAddrs.length === 0) throw new RangeError('load fleet needs ports and addresses');
    if (!(spec.attemptsMax >= 1)) throw new RangeError(`attemptsMax ${spec.attemptsMax}`);
    // The run's mechanism settings (sim/kernel/mechanisms.ts) override the story's choice.
    const m = proc.world.mechanisms;
    this.bind = m.bindSource ?? spec.bindSource ?? spec.srcAddrs.length > 1;
    this.finKind = (m.clientKind ?? spec.client) === 'node' ? 'ECONNRESET' : 'eof';
  }

  private readonly bind: boolean;
  private readonly finKind: string;

  add(atMs: number): LoadUser {
    const u: LoadUser = { index: this.users.length, phase: 'idle', sock: null, timer: null, attempts: 0, startMs: atMs, openMs: -1, lastFailure: '', slot: -1 };
    this.users.push(u);
    this.proc.world.sched.at(atMs, startUser, { fleet: this, u });
    return u;
  }

  attempt(u: LoadUser): void {
    u.timer = null;
    if (u.phase === 'done' || !this.proc.alive) return;
    u.attempts++;
    u.phase = 'connecting';
    this.timeline?.attempt();
    const n = this.spec.srcAddrs.length;
    const src = this.spec.srcAddrs[u.index % n] as string;
    const port = this.spec.dstPorts[Math.floor(u.index / n) % this.spec.dstPorts.length] as number;
    const s = this.proc.connect(this.spec.dstAddr, port, this, u, { srcAddr: src, bind: this.bind });
    if (typeof s === 'string') {
      this.fail(u, s, 0);
      return;
    }
    u.sock = s;
    u.timer = this.proc.world.sched.after(this.spec.handshakeTimeoutMs, deadline, { fleet: this, u });
  }

  onConnect(s: TcpSocket): void {
    const u = s.ctx as LoadUser;
    if (u.sock !== s || u.phase !== 'connecting') return;
    u.phase = 'upgrading';
    this.stats.connectMs.push(s.connectedAtMs - s.openedAtMs);
    s.write(UPGRADE_REQUEST_BYTES, UPGRADE);
  }

  onData(s: TcpSocket, payload: unknown): void {
    const u = s.ctx as LoadUser;
    if (u.sock !== s) return;
    const msg = payload as WireMessage;
    if (msg.k === 'ping') {
      s.write(frameBytes(0, true), PONG);
      return;
    }
    if (msg.k === 'close') {
      if (u.phase === 'open') this.lostOpen(u);
      this.fail(u, 'closed-by-server', 0);
      return;
    }
    if (msg.k !== 'http' || u.phase !== 'upgrading') return;
    if (msg.status === 101) {
      this.clearTimer(u);
      u.phase = 'open';
      u.openMs = this.proc.world.sched.nowMs;
      u.slot = this.open.length;
      this.open.push(u);
      const st = this.stats;
      st.opened++;
      st.openNow++;
      this.timeline?.opened();
      if (st.openNow > st.openPeak) st.openPeak = st.openNow;
      return;
    }
    this.fail(u, `http-${msg.status}`, msg.retryAfterMs ?? 0);
  }

  onEnd(s: TcpSocket): void {
    const u = s.ctx as LoadUser;
    if (u.sock !== s) return;
    const wasOpen = u.phase === 'open';
    if (wasOpen) this.lostOpen(u);
    this.fail(u, wasOpen ? `${this.finKind}@open` : this.finKind, 0);
  }

  onError(s: TcpSocket, code: Errno): void {
    const u = s.ctx as LoadUser;
    if (u.sock !== s) return;
    u.sock = null; // the kernel already closed it
    const wasOpen = u.phase === 'open';
    if (wasOpen) this.lostOpen(u);
    this.fail(u, `${code}${wasOpen ? '@open' : ''}`, 0);
  }

  onDrain(): void {}

  expired(u: LoadUser): void {
    u.timer = null;
    if (u.phase === 'connecting' || u.phase === 'upgrading') this.fail(u, `timeout@${u.phase}`, 0);
  }

  private lostOpen(u: LoadUser): void {
    u.phase = 'upgrading'; // no longer open; fail() records and retries
    this.stats.openNow--;
    this.timeline?.closed();
    this.unlist(u);
  }

  private unlist(u: LoadUser): void {
    const i = u.slot;
    if (i < 0) return;
    const last = this.open.pop() as LoadUser;
    if (last !== u) {
      this.open[i] = last;
      last.slot = i;
    }
    u.slot = -1;
  }

  /** One open user (chosen by `rng`) closes — first, so its port parks in TIME_WAIT — and reconnects. */
  churnOne(rng: Prng): boolean {
    if (this.open.length === 0) return false;
    const u = this.open[rng.int(0, this.open.length - 1)] as LoadUser;
    this.unlist(u);
    this.stats.openNow--;
    this.timeline?.closed();
    this.stats.churned++;
    const s = u.sock;
    u.sock = null;
    s?.close();
    u.attempts = 0;
    u.phase = 'idle';
    this.attempt(u);
    return true;
  }

  private clearTimer(u: LoadUser): void {
    if (u.timer !== null) {
      this.proc.world.sched.cancel(u.timer);
      u.timer = null;
    }
  }

  /** Records a failed attempt, closes the socket (parking its port if it had connected) and maybe retries. */
  fail(u: LoadUser, kind: string, retryAfterMs: number): void {
    if (u.phase === 'done' || u.phase === 'waiting') return;
    this.clearTimer(u);
    const st = this.stats;
    const now = this.proc.world.sched.nowMs;
    st.failures[kind] = (st.failures[kind] ?? 0) + 1;
    if (st.firstFailureMs[kind] === undefined) st.firstFailureMs[kind] = now;
    st.failureTimesMs.push(now);
    this.timeline?.failedAs(kind);
    u.lastFailure = kind;
    const s = u.sock;
    u.sock = null;
    if (s !== null && s.state !== 'CLOSED') {
      if (s.state === 'ESTABLISHED') st.closesAfterConnect++;
      s.close();
    }
    if (u.attempts >= this.spec.attemptsMax) {
      u.phase = 'done';
      return;
    }
    u.phase = 'waiting';
    const backoff = Math.min(this.spec.retryDelayMs * 2 ** Math.min(u.attempts - 1, 30), this.spec.retryDelayMaxMs ?? this.spec.retryDelayMs);
    u.timer = this.proc.world.sched.after(Math.max(backoff, retryAfterMs), retryUser, { fleet: this, u });
  }

  /** Users by where they ended: "open", or their last failure kind, or "pending" (still trying). */
  finalStates(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const u of this.users) {
      const k = u.phase === 'open' ? 'open' : u.phase === 'done' ? `failed:${u.lastFailure}` : u.phase === 'idle' ? 'not-started' : 'pending';
      out[k] = (out[k] ?? 0) + 1;
    }
    const sorted: Record<string, number> = {};
    for (const k of Object.keys(out).sort()) sorted[k] = out[k] as number;
    return sorted;
  }
}

interface UserJob {
  readonly fleet: LoadFleet;
  readonly u: LoadUser;
}
function startUser(j: UserJob): void {
  j.fleet.attempt(j.u);
}
function retryUser(j: UserJob): void {
  j.u.phase = 'idle';
  j.fleet.attempt(j.u);
}
function deadline(j: UserJob): void {
  j.fleet.expired(j.u);
}
