// Latency percentiles come from HDR histograms that travel between processes as compressed base64.
import { describe, expect, it } from 'vitest';
import { addEncoded, encodeHistogram, LATENCY_US_MAX, newHistogram, recordUs, summarize } from '../../src/load/histogram.js';

describe('load histograms', () => {
  it('adds histograms sent between processes without losing counts or the shape', () => {
    const a = newHistogram();
    const b = newHistogram();
    for (let us = 1; us <= 1_000; us++) recordUs(a, us * 1_000); // 1 ms … 1 s
    for (let i = 0; i < 1_000; i++) recordUs(b, 2_000_000); // 2 s
    const total = newHistogram();
    addEncoded(total, encodeHistogram(a));
    addEncoded(total, encodeHistogram(b));
    addEncoded(total, '');
    const s = summarize(total);
    expect(s.count).toBe(2_000);
    expect(s.p50Ms).toBeGreaterThan(995);
    expect(s.p50Ms).toBeLessThan(1_005);
    expect(s.p99Ms).toBeCloseTo(2_000, -1);
    expect(s.maxMs).toBeCloseTo(2_000, -1);
    expect(s.minMs).toBeCloseTo(1, 1);
  });

  it('clips a value beyond its range to the maximum instead of throwing, and says so', () => {
    const h = newHistogram();
    expect(recordUs(h, LATENCY_US_MAX * 10)).toBe(true);
    expect(recordUs(h, 5)).toBe(false);
    expect(summarize(h).maxMs).toBeCloseTo(LATENCY_US_MAX / 1000, -2);
    expect(summarize(h).count).toBe(2);
  });

  it('summarises an empty histogram as zeros', () => {
    expect(summarize(newHistogram())).toMatchObject({ count: 0, p99Ms: 0, maxMs: 0 });
  });
});
