// How a load run is spread over processes and source addresses: every connection placed once, no process
// over its socket bound, no address over its share.
import { describe, expect, it } from 'vitest';
import { channelsOf, isLoopbackHost, spread } from '../../src/load/plan.js';

describe('load spread', () => {
  it('places every connection exactly once, in contiguous blocks', () => {
    for (const connections of [0, 1, 7, 1_000, 39_000, 100_001]) {
      const s = spread({ connections, workersMin: 2, socketsPerWorkerMax: 15_000, perAddressMax: 10_000 });
      expect(s.workers.reduce((sum, w) => sum + w.count, 0)).toBe(connections);
      let first = 0;
      for (const w of s.workers) {
        expect(w.first).toBe(first);
        expect(w.count).toBeLessThanOrEqual(15_000);
        first += w.count;
      }
    }
  });

  it('adds processes past the socket bound and addresses past the per-address share', () => {
    const s = spread({ connections: 39_000, workersMin: 2, socketsPerWorkerMax: 15_000, perAddressMax: 10_000 });
    expect(s.workers).toHaveLength(3);
    expect(s.addresses).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(spread({ connections: 39_000, workersMin: 2, socketsPerWorkerMax: 15_000, perAddressMax: 10_000, addressBlock: 7 }).addresses[3]).toBe('127.0.7.4');
    expect(() => spread({ connections: 1, workersMin: 1, socketsPerWorkerMax: 1, perAddressMax: 1, addressBlock: 256 })).toThrow(/0..255/);
    // Connection i uses address i mod k: no address carries more than its share.
    const perAddress = new Map<string, number>();
    for (let i = 0; i < 39_000; i++) perAddress.set(s.addresses[i % 4]!, (perAddress.get(s.addresses[i % 4]!) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(10_000);
  });

  it('refuses a run that loopback cannot address', () => {
    expect(() => spread({ connections: 300, workersMin: 1, socketsPerWorkerMax: 1_000, perAddressMax: 1 })).toThrow(/254/);
  });

  it('gives every channel the same number of subscribers', () => {
    const pool = ['a', 'b', 'c'];
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) for (const c of channelsOf(i, pool, 2)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.values()]).toEqual([20, 20, 20]);
    expect(channelsOf(5, pool, 2)).toHaveLength(2);
    expect(new Set(channelsOf(5, pool, 2)).size).toBe(2);
  });

  it('knows loopback from anything else', () => {
    for (const host of ['127.0.0.1', '127.4.5.6', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', 'example.com', '0.0.0.0', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});
