import { describe, expect, it } from 'vitest';
import { Prng } from '../../sim/engine/prng.js';

describe('Prng', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
  });

  it('next() is in [0,1) with a mean near 1/2; int() covers its inclusive range uniformly', () => {
    const r = new Prng('uniform');
    let sum = 0;
    const counts = new Array<number>(6).fill(0);
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
      const k = r.int(1, 6);
      counts[k - 1]!++;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan((n / 6) * 0.05);
  });

  it('fork streams depend on seed and label only, not on draws made by the parent', () => {
    const p1 = new Prng(9);
    const p2 = new Prng(9);
    for (let i = 0; i < 37; i++) p2.next();
    const f1 = p1.fork('net');
    const f2 = p2.fork('net');
    expect(Array.from({ length: 20 }, () => f1.u32())).toEqual(Array.from({ length: 20 }, () => f2.u32()));
    const g = new Prng(9).fork('robots');
    expect(new Prng(9).fork('net').u32()).not.toBe(g.u32());
  });

  it('pick chooses from the list and rejects an empty one', () => {
    const r = new Prng(1);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(r.pick(['a', 'b', 'c']));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});
