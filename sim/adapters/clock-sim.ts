// The simulated twin of the Clock port (src/adapters/clock-system.ts), driven by the lab's Scheduler. The
// gateway and the client take "now" only from their clock, so inside the lab they live on virtual time.
//
// It is also the one test clock: unit tests, property suites and benchmarks build it with a scheduler of
// its own and move time with advance(), so every test runs under the lab's timer rules (below) instead of
// rules of its own:
//   - a timer delay below 1 ms is 1 ms, as Node's setTimeout makes it (zero delays never fire "now");
//   - events run in (time, insertion) order; defer() runs at the same instant, after everything already
//     queued for it — so timers due at one instant all fire before the work they defer, as in Node, where
//     the timers phase runs before setImmediate callbacks.
import type { Clock, Timer } from '../../src/core/ports.js';
import { Scheduler, type SimEvent } from '../engine/scheduler.js';

/**
 * wallMs() = this epoch + virtual now. A fixed epoch (2026-01-01T00:00:00Z) keeps timestamps in reports
 * byte-identical across runs; any fixed value would do.
 */
export const SIM_EPOCH_MS = 1_767_225_600_000;

/** Node's setTimeout floor (timers.md: a delay below 1 is set to 1). */
const TIMER_DELAY_MIN_MS = 1;
/** Events one advance() or settle() may run: a timer loop fails the test instead of hanging it. */
const EVENTS_PER_CALL_MAX = 10_000_000;

function runThunk(fn: () => void): void {
  fn();
}

class SimTimer implements Timer {
  constructor(
    private readonly sched: Scheduler,
    private readonly ev: SimEvent,
  ) {}
  cancel(): void {
    this.sched.cancel(this.ev);
  }
}

export class SimClock implements Clock {
  constructor(
    /** The lab's scheduler; a test clock gets one of its own. */
    readonly sched: Scheduler = new Scheduler(),
    private readonly epochMs: number = SIM_EPOCH_MS,
  ) {}

  nowMs(): number {
    return this.sched.nowMs;
  }

  wallMs(): number {
    return this.epochMs + this.sched.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    // Clamping matters on virtual time: a timer re-armed for "the rest" of a period (deadline − now, a few
    // ulps after float rounding) would otherwise fire at the same instant forever — the client's silence
    // check did exactly that with a 1e-11 ms remainder.
    const d = delayMs >= TIMER_DELAY_MIN_MS ? delayMs : TIMER_DELAY_MIN_MS;
    return new SimTimer(this.sched, this.sched.after(d, runThunk, fn));
  }

  /** Same virtual instant, after everything already queued for it (FIFO tie-break in the scheduler). */
  defer(fn: () => void): void {
    this.sched.after(0, runThunk, fn);
  }

  /**
   * Moves virtual time forward by `ms`, running everything due on the way, in order (tests and benchmarks;
   * inside the lab the world's run loop drives the scheduler instead).
   */
  advance(ms: number): void {
    const result = this.sched.runUntil(this.sched.nowMs + ms, EVENTS_PER_CALL_MAX);
    if (result.reason === 'limit') throw new Error(`SimClock.advance(${ms}): more than ${EVENTS_PER_CALL_MAX} events; a timer loop?`);
  }

  /** Runs what is due now — deferred work included — without moving time. */
  settle(): void {
    this.advance(0);
  }

  /** Timers and deferred work still pending (cancelled ones excluded). */
  get pending(): number {
    return this.sched.pending;
  }
}
