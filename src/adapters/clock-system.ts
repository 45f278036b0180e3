// The real Clock: monotonic time from performance.now, wall time from Date.now, timers from node:timers.
// The simulator's twin is sim/clock-sim.ts; both implement the same port.
import type { Clock, Timer } from '../core/ports.js';

export class SystemClock implements Clock {
  // Deferred work is batched into one setImmediate per turn: the core defers a flush per socket per turn,
  // and 10,000 setImmediate handles cost more than one loop over 10,000 closures.
  private pending: Array<() => void> = [];
  private scheduled = false;

  /**
   * Whole milliseconds: every deadline in the core is whole milliseconds anyway, and V8 keeps a whole
   * number below 2^30 (12 days of uptime) inline, where a fraction takes a 16-byte box in every object that
   * stores one — each session's open time, heartbeat due time and rate-limiter refill time: ~48 bytes per
   * idle connection (docs/benchmarks.md, "A lighter connection").
   */
  nowMs(): number {
    return Math.floor(performance.now());
  }

  wallMs(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    // Core timers (heartbeats, housekeeping) must not keep the process alive on their own: the listening
    // HTTP server does that, and a drained server should be able to exit without cancelling every timer.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  }

  defer(fn: () => void): void {
    this.pending.push(fn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runPending);
  }

  private readonly runPending = (): void => {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i]!();
      } catch (error) {
        // Keep the rest of the batch: a throw must not silently drop other sockets' flushes. The error
        // still surfaces as an uncaught exception, exactly as a bare setImmediate would have reported it.
        this.pending = batch.slice(i + 1).concat(this.pending);
        if (this.pending.length > 0 && !this.scheduled) {
          this.scheduled = true;
          setImmediate(this.runPending);
        }
        throw error;
      }
    }
  };
}
