// Ephemeral ports for outgoing connections (docs/kernel.md, "Ephemeral ports and TIME_WAIT").
//
// The 4-tuple rule: connect() may pick any port that makes (src addr, src port, dst addr, dst port) unique,
// so the same port can serve many destinations at once. The model therefore keeps one port space per
// (source address, destination addr:port). Worked example with 28,232 ports: one load generator toward one
// server IP:port has 28,232 concurrent connections at most; toward two server ports, twice that; with two
// source addresses, twice again.
//
// TIME_WAIT is held by the side that closes first. A client that closes holds its port for timeWaitMs
// (Linux 60 s) toward that destination; so at a steady close rate c the ports parked in TIME_WAIT are
// c·timeWaitMs and the concurrent ceiling is range − c·timeWait. tcp_tw_reuse lets connect() take a
// TIME_WAIT port whose entry is older than ~1 s (tcp_twsk_unique). Exhaustion → EADDRNOTAVAIL.
//
// bind-before-connect (docs/kernel.md): a client that sets its source address
// (Node localAddress, Go Dialer.LocalAddr) calls bind(addr, 0) before connect(). bind() cannot know the
// destination, so the port it picks is exclusive for that address across every destination; tcp_tw_reuse
// (a connect()-time check) does not apply to it, a port in TIME_WAIT stays taken, and exhaustion fails
// with EADDRINUSE. The model keeps one space per bound address, under the destination key `BOUND`.
//
// Port choice: a random start per space then sequential (Linux __inet_hash_connect starts at a hashed
// offset); only the count of usable ports matters to the model, not which one.
import type { Prng } from '../engine/prng.js';

const FREE = 0;
const USED = 1;
const TIME_WAIT = 2;

/** The destination key of a bound address's port space: one space for every destination. */
export const BOUND = '*';

export interface PortRange {
  readonly lo: number;
  readonly hi: number;
  readonly timeWaitMs: number;
  readonly twReuseAfterMs: number;
}

class PortSpace {
  readonly state: Uint8Array;
  readonly twSinceMs: Float64Array;
  cursor: number;
  used = 0;
  timeWait = 0;
  /** TIME_WAIT entries in entry order; expiry is in the same order because the duration is fixed. */
  private readonly twPorts: number[] = [];
  private readonly twStamps: number[] = [];
  private twHead = 0;
  /** Ports freed since they were last handed out (may hold stale rows: checked on pop). */
  private readonly freed: number[] = [];

  constructor(
    readonly size: number,
    start: number,
  ) {
    this.state = new Uint8Array(size);
    this.twSinceMs = new Float64Array(size);
    this.cursor = start;
  }

  enterTimeWait(i: number, nowMs: number): void {
    this.state[i] = TIME_WAIT;
    this.twSinceMs[i] = nowMs;
    this.used--;
    this.timeWait++;
    this.twPorts.push(i);
    this.twStamps.push(nowMs);
  }

  /** Frees TIME_WAIT entries older than timeWaitMs. Stale FIFO rows (port reused since) are skipped. */
  expire(nowMs: number, timeWaitMs: number): void {
    while (this.twHead < this.twPorts.length) {
      const since = this.twStamps[this.twHead] as number;
      if (nowMs - since < timeWaitMs) break;
      const i = this.twPorts[this.twHead] as number;
      if (this.state[i] === TIME_WAIT && this.twSinceMs[i] === since) {
        this.state[i] = FREE;
        this.timeWait--;
        this.freed.push(i);
      }
      this.twHead++;
    }
    this.compactTimeWait();
  }

  /** A port known to be free, or -1 (O(1) amortised; the cursor scan covers ports never handed out). */
  takeFreed(): number {
    while (this.freed.length > 0) {
      const i = this.freed.pop() as number;
      if (this.state[i] === FREE) return i;
    }
    return -1;
  }

  markFreed(i: number): void {
    this.freed.push(i);
  }

  /** The oldest live TIME_WAIT entry if it entered TIME_WAIT at or before `enteredByMs`, else -1. */
  oldestTimeWait(enteredByMs: number): number {
    while (this.twHead < this.twPorts.length) {
      const i = this.twPorts[this.twHead] as number;
      const since = this.twStamps[this.twHead] as number;
      if (this.state[i] === TIME_WAIT && this.twSinceMs[i] === since) return since <= enteredByMs ? i : -1;
      this.twHead++; // stale row: the port was reused or freed since
    }
    return -1;
  }

  private compactTimeWait(): void {
    if (this.twHead > 4096 && this.twHead * 2 > this.twPorts.length) {
      this.twPorts.splice(0, this.twHead);
      this.twStamps.splice(0, this.twHead);
      this.twHead = 0;
    }
  }
}

export class EphemeralPorts {
  private readonly spaces = new Map<string, PortSpace>();
  readonly size: number;
  /** connect() calls refused with EADDRNOTAVAIL. */
  exhausted = 0;
  /** Ports taken from TIME_WAIT through tw_reuse. */
  reused = 0;

  constructor(
    private readonly range: PortRange,
    private readonly rng: Prng,
  ) {
    this.size = range.hi - range.lo + 1;
    if (!(this.size > 0)) throw new RangeError(`port range ${range.lo}-${range.hi}`);
  }

  private space(src: string, dst: string): PortSpace {
    const key = `${src}>${dst}`;
    let sp = this.spaces.get(key);
    if (sp === undefined) {
      sp = new PortSpace(this.size, this.rng.int(0, this.size - 1));
      this.spaces.set(key, sp);
    }
    return sp;
  }

  /** A port unique for (src, dst), or EADDRNOTAVAIL. `twReuse`: tcp_tw_reuse applies to this destination. */
  allocate(src: string, dst: string, nowMs: number, twReuse: boolean): number | 'EADDRNOTAVAIL' {
    const sp = this.space(src, dst);
    sp.expire(nowMs, this.range.timeWaitMs);
    const free = this.size - sp.used - sp.timeWait;
    if (free === 0 && !(twReuse && sp.timeWait > 0)) {
      this.exhausted++;
      return 'EADDRNOTAVAIL';
    }
    // Fast paths with the same counts as the scan below (which port is taken does not matter to the
    // model): a port freed since it was last handed out; with no free port and tw_reuse, the oldest
    // TIME_WAIT entry (if any entry is old enough, the oldest is). The scan then covers untouched ports.
    const f = sp.takeFreed();
    if (f >= 0) {
      sp.state[f] = USED;
      sp.used++;
      return this.range.lo + f;
    }
    if (free === 0) {
      const i = sp.oldestTimeWait(nowMs - this.range.twReuseAfterMs);
      if (i < 0) {
        this.exhausted++;
        return 'EADDRNOTAVAIL';
      }
      sp.state[i] = USED;
      sp.timeWait--;
      sp.used++;
      this.reused++;
      return this.range.lo + i;
    }
    for (let k = 0; k < this.size; k++) {
      const i = (sp.cursor + k) % this.size;
      const st = sp.state[i];
      let take = st === FREE;
      if (!take && st === TIME_WAIT && twReuse && nowMs - (sp.twSinceMs[i] as number) >= this.range.twReuseAfterMs) {
        take = true;
        sp.timeWait--;
        this.reused++;
      }
      if (take) {
        sp.state[i] = USED;
        sp.used++;
        sp.cursor = (i + 1) % this.size;
        return this.range.lo + i;
      }
    }
    this.exhausted++;
    return 'EADDRNOTAVAIL';
  }

  /**
   * bind(src, 0) before connect(): a port exclusive to `src` for every destination, or EADDRINUSE. No
   * tcp_tw_reuse. Release it with `release(src, BOUND, …)`.
   */
  bind(src: string, nowMs: number): number | 'EADDRINUSE' {
    const p = this.allocate(src, BOUND, nowMs, false);
    return p === 'EADDRNOTAVAIL' ? 'EADDRINUSE' : p;
  }

  /** The connection ended. `timeWait`: this side closed first, so the port is parked for timeWaitMs. */
  release(src: string, dst: string, port: number, nowMs: number, timeWait: boolean): void {
    const sp = this.space(src, dst);
    const i = port - this.range.lo;
    if (sp.state[i] !== USED) throw new RangeError(`release of port ${port} toward ${dst}: not in use`);
    if (timeWait) sp.enterTimeWait(i, nowMs);
    else {
      sp.state[i] = FREE;
      sp.used--;
      sp.markFreed(i);
    }
  }

  /** Ports in use (not TIME_WAIT) toward `dst` from `src`. */
  inUse(src: string, dst: string): number {
    return this.spaces.get(`${src}>${dst}`)?.used ?? 0;
  }

  /** TIME_WAIT entries across all spaces at `nowMs`. */
  timeWaitCount(nowMs: number): number {
    let n = 0;
    for (const sp of this.spaces.values()) {
      sp.expire(nowMs, this.range.timeWaitMs);
      n += sp.timeWait;
    }
    return n;
  }
}
