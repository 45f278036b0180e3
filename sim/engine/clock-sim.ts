// The simulated twins of the core's Clock and Random ports, driven by the Scheduler. The gateway and the
// client take "now" only from these, so inside the lab they live on virtual time.
import type { Clock, Random, Timer } from '../../src/core/ports.js';
import type { Prng } from './prng.js';
import type { Scheduler, SimEvent } from './scheduler.js';

/**
 * wallMs() = this epoch + virtual now. A fixed epoch (2026-01-01T00:00:00Z) keeps timestamps in reports
 * byte-identical across runs; any fixed value would do.
 */
export const SIM_EPOCH_MS = 1_767_225_600_000;

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
    private readonly sched: Scheduler,
    private readonly epochMs: number = SIM_EPOCH_MS,
  ) {}

  nowMs(): number {
    return this.sched.nowMs;
  }

  wallMs(): number {
    return this.epochMs + this.sched.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    // Real timers clamp: Node's setTimeout turns any delay below 1 ms (negative, NaN, 0.000001) into 1 ms
    // (timers.md). Clamping here too matters on virtual time: a timer re-armed for "the rest" of a
    // period (deadline − now, a few ulps after float rounding) would otherwise fire at the same instant
    // forever — the client's silence check did exactly that with a 1e-11 ms remainder.
    const d = delayMs >= 1 ? delayMs : 1;
    return new SimTimer(this.sched, this.sched.after(d, runThunk, fn));
  }

  /** Same virtual instant, after everything already queued for it (FIFO tie-break in the scheduler). */
  defer(fn: () => void): void {
    this.sched.after(0, runThunk, fn);
  }
}

export class SimRandom implements Random {
  constructor(private readonly prng: Prng) {}
  next(): number {
    return this.prng.next();
  }
}
