// A deterministic Clock for unit tests: time moves only when the test says so.
import type { Clock, Random, Timer } from '../../src/core/ports.js';

interface Pending {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private now = 0;
  private seq = 0;
  private timers: Pending[] = [];
  private deferred: (() => void)[] = [];

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return 1_700_000_000_000 + this.now;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const pending: Pending = { atMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(pending);
    return { cancel: () => void (pending.cancelled = true) };
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Runs deferred work until none is left (bounded, so a livelock fails the test). */
  settle(): void {
    for (let rounds = 0; this.deferred.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('deferred work did not settle');
      const batch = this.deferred.splice(0);
      for (const fn of batch) fn();
    }
  }

  /** Moves time forward, firing due timers in order, settling deferred work after each. */
  advance(ms: number): void {
    const end = this.now + ms;
    this.settle();
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.atMs <= end).sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.now = due.atMs;
      due.fn();
      this.settle();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.now = end;
  }
}

/** A seeded PRNG (mulberry32) so tests are reproducible. */
export function seededRandom(seed = 1): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
