// A small recorder for the report's timeline: connected (open now), attempts (cumulative) and failures by
// contract kind (cumulative), sampled on the simulated clock at a fixed interval. The interval is
// chosen from the run's expected length so a run has at most MAX_POINTS samples; a run that outlasts its
// estimate doubles the interval and drops every other point, so the bound holds either way.
// Fed from the shared robot fleets (or any code that sees attempts and their ends): call attempt(),
// opened(), closed() and failed(kind) as things happen; the recorder samples the counters.
import type { Scheduler } from '../engine/scheduler.js';

export const MAX_POINTS = 200;

/** Contract failure kind for one outcome label, or null when the label is not a failure. */
export function failureKind(label: string): string | null {
  const l = label.toLowerCase();
  // "what@phase": the phase (connecting, upgrading, open) says when, not whether it failed.
  const what = l.split('@')[0] as string;
  // The server closed the connection before (or without) an answer: libuv's accept-and-close, a restart.
  if (/\beof\b/.test(l)) return 'EOF';
  if (
    /\b(ok|open|connected|welcome|upgraded|delivered|pending|got-start)\b/.test(what) &&
    !/fail|timeout|err|reset|refused|503|429|emfile|closed-by-server/.test(l)
  )
    return null;
  if (/emfile/.test(l)) return 'EMFILE';
  if (/enfile/.test(l)) return 'ENFILE';
  if (/eaddrnotavail/.test(l)) return 'EADDRNOTAVAIL';
  if (/econnrefused/.test(l)) return 'ECONNREFUSED';
  if (/econnreset/.test(l)) return 'ECONNRESET';
  if (/insufficient/.test(l)) return 'ERR_INSUFFICIENT_RESOURCES';
  if (/upgrade-timeout|timeout@upgrading/.test(l)) return 'UPGRADE_TIMEOUT';
  if (/etimedout|timeout@connecting|timeout/.test(l)) return 'ETIMEDOUT';
  if (/503/.test(l)) return 'HTTP_503';
  if (/429/.test(l)) return 'HTTP_429';
  if (/closed-by-server/.test(l)) return 'CLOSED_BY_SERVER';
  const close = /close-(\d{4})/.exec(l);
  if (close !== null) return `CLOSE_${close[1]}`;
  if (/reconnecting|not connected|failed/.test(l)) return 'NOT_CONNECTED';
  return null;
}

export interface TimelinePoint {
  readonly atMs: number;
  readonly connected: number;
  readonly attempts: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** Samples in time order (the html report's charts read this shape too). */
export type Timeline = readonly TimelinePoint[];

/** A round interval (1, 2, 5 × 10^k ms, at least 100 ms) giving ≤ MAX_POINTS samples over `expectedMs`. */
export function intervalFor(expectedMs: number): number {
  const raw = Math.max(100, expectedMs / (MAX_POINTS - 1));
  let base = 100;
  for (;;) {
    for (const f of [1, 2, 5]) if (base * f >= raw) return base * f;
    base *= 10;
  }
}

export class TimelineRecorder {
  connected = 0;
  attempts = 0;
  /** Attempts that opened a connection, and the most open at once (exact, not sampled). */
  opens = 0;
  peak = 0;
  private readonly failuresNow: Record<string, number> = {};
  private points: TimelinePoint[] = [];
  private intervalMs: number;
  private stopped = false;

  constructor(
    private readonly sched: Scheduler,
    expectedMs: number,
  ) {
    this.intervalMs = intervalFor(expectedMs);
    sched.at(sched.nowMs, sampleTick, this);
  }

  attempt(): void {
    this.attempts++;
  }
  opened(): void {
    this.connected++;
    this.opens++;
    if (this.connected > this.peak) this.peak = this.connected;
  }
  closed(): void {
    this.connected--;
  }
  failed(kind: string): void {
    this.failuresNow[kind] = (this.failuresNow[kind] ?? 0) + 1;
  }
  /** Failures so far by contract kind (the runner's attempt tally). */
  get failuresSoFar(): Readonly<Record<string, number>> {
    return this.failuresNow;
  }
  /** A failure in the scenario's words ("EMFILE@connecting", "http-503"): counted under its contract kind. */
  failedAs(label: string): void {
    const kind = failureKind(label);
    if (kind !== null) this.failed(kind);
  }

  /** @internal the scheduler's tick */
  sample(): void {
    if (this.stopped) return;
    const f: Record<string, number> = {};
    for (const k of Object.keys(this.failuresNow).sort()) f[k] = this.failuresNow[k] as number;
    this.points.push({ atMs: this.sched.nowMs, connected: this.connected, attempts: this.attempts, failures: f });
    if (this.points.length >= MAX_POINTS) {
      this.points = this.points.filter((_, i) => i % 2 === 0);
      this.intervalMs *= 2;
    }
    // Nothing else queued: the run is idle, so stop (a run that waits for idle must not wait for us).
    if (this.sched.pending > 0) this.sched.after(this.intervalMs, sampleTick, this);
  }

  /** Takes a last sample at the current time and stops sampling. */
  finish(): Timeline {
    const last = this.points[this.points.length - 1];
    if (last === undefined || last.atMs !== this.sched.nowMs) {
      this.sample();
    }
    this.stopped = true;
    return this.points;
  }
}

function sampleTick(r: TimelineRecorder): void {
  r.sample();
}
