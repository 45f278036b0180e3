import { describe, expect, it } from 'vitest';
import { DeterminismError, guardActive, runGuarded } from '../../sim/engine/determinism-guard.js';

describe('determinism guard', () => {
  it('throws on each real source of time or randomness inside a run', () => {
    const leaks: Array<[string, () => unknown]> = [
      ['Date.now', () => Date.now()],
      ['new Date()', () => new Date()],
      ['Math.random', () => Math.random()],
      ['performance.now', () => performance.now()],
      ['setTimeout', () => setTimeout(() => undefined, 1)],
      ['setInterval', () => setInterval(() => undefined, 1)],
      ['setImmediate', () => setImmediate(() => undefined)],
      ['process.hrtime', () => process.hrtime()],
    ];
    for (const [name, leak] of leaks) {
      expect(() => runGuarded(leak), name).toThrow(DeterminismError);
    }
  });

  it("allows dates built from explicit values and Date's static helpers", () => {
    const iso = runGuarded(() => new Date(0).toISOString());
    expect(iso).toBe('1970-01-01T00:00:00.000Z');
    expect(runGuarded(() => new Date(5) instanceof Date)).toBe(true);
    expect(runGuarded(() => Date.UTC(2020, 0, 1))).toBe(1577836800000);
  });

  it('restores the originals afterwards, also when the run throws', () => {
    const before = [Date, Math.random, setTimeout, setImmediate];
    expect(() =>
      runGuarded(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect([Date, Math.random, setTimeout, setImmediate]).toEqual(before);
    expect(guardActive()).toBe(false);
    expect(typeof Date.now()).toBe('number');
    expect(typeof performance.now()).toBe('number');
    const r = Math.random();
    expect(r >= 0 && r < 1).toBe(true);
  });

  it('nests: an inner run neither lifts the guard early nor restores twice', () => {
    runGuarded(() => {
      runGuarded(() => undefined);
      expect(guardActive()).toBe(true);
      expect(() => Date.now()).toThrow(DeterminismError);
    });
    expect(guardActive()).toBe(false);
    expect(typeof Date.now()).toBe('number');
  });

  it('names the leak in its message', () => {
    expect(() => runGuarded(() => Date.now())).toThrow(/Date\.now\(\).*Clock/);
  });
});
