// Minimal ports for driving the real core in a benchmark: connections that only count what they are given,
// and telemetry that drops everything. Time is the lab's clock (sim/adapters/clock-sim.ts), the one test
// clock: the bench runs deferred work with settle() and moves time with advance().
import type { Connection, Frame, Telemetry } from '../../src/core/ports.js';

/** The same seeded PRNG (mulberry32) the unit tests use: every bench builds the same data on every run. */
export { seededRandom as seeded } from '../../test/support/seeded-random.js';

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
