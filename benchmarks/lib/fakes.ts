// Minimal ports for driving the real core in a benchmark: a clock whose deferred work runs when the bench
// says so, connections that only count what they are given, and telemetry that drops everything.
import type { Clock, Connection, Frame, Random, Telemetry, Timer } from '../../src/core/ports.js';

export class BenchClock implements Clock {
  private now = 0;
  private deferred: (() => void)[] = [];

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return 1_700_000_000_000 + this.now;
  }

  /** Timers never fire in a benchmark: the runs are far shorter than any core timer. */
  setTimer(): Timer {
    return { cancel: () => undefined };
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** Runs deferred work (the core's per-turn flush) until none is left; bounded. */
  settle(): void {
    for (let rounds = 0; this.deferred.length > 0; rounds++) {
      if (rounds > 1_000) throw new Error('deferred work did not settle');
      const batch = this.deferred;
      this.deferred = [];
      for (const fn of batch) fn();
    }
  }
}

/** A seeded PRNG (mulberry32): every bench builds the same data on every run. */
export function seeded(seed: number): Random {
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

export class CountingConnection implements Connection {
  frames = 0;
  bytes = 0;
  writes = 0;
  last: Frame | null = null;

  write(frames: readonly Frame[]): void {
    this.writes++;
    this.frames += frames.length;
    for (const frame of frames) this.bytes += frame.bytes.byteLength;
    this.last = frames[frames.length - 1] ?? this.last;
  }

  bufferedBytes(): number {
    return 0;
  }

  ping(): void {}
  close(): void {}
  terminate(): void {}
}

export const silentTelemetry: Telemetry = {
  count() {},
  gauge() {},
  observe() {},
  log() {},
};
