// The primary's choice of worker (src/server/cluster/dispatch.ts): the most room first, ties alternating,
// reports correcting the count, draining workers last.
import { describe, expect, it } from 'vitest';
import { LeastLoadedDispatch } from '../../src/server/cluster/dispatch.js';

const take = (d: LeastLoadedDispatch, n: number): number[] => Array.from({ length: n }, () => d.next()!);
const counts = (picks: readonly number[]): Record<number, number> => {
  const out: Record<number, number> = {};
  for (const p of picks) out[p] = (out[p] ?? 0) + 1;
  return out;
};

describe('least-loaded dispatch', () => {
  it('has no worker to offer before one is ready', () => {
    expect(new LeastLoadedDispatch().next()).toBeNull();
  });

  it('alternates between equal workers', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 100);
    d.add(1, 100);
    expect(take(d, 6)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('fills two workers of 19,872 with 39,000 connections evenly (no worker full while the other has room)', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 19_872);
    d.add(1, 19_872);
    expect(counts(take(d, 39_000))).toEqual({ 0: 19_500, 1: 19_500 });
  });

  it('sends new connections to the worker whose clients left, once it reports', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 1_000);
    d.add(1, 1_000);
    take(d, 1_000); // 500 each
    d.report(0, 100); // 400 of worker 0's clients went away
    d.report(1, 500);
    expect(counts(take(d, 400))).toEqual({ 0: 400 });
    expect(d.loads()).toEqual([
      { slot: 0, connections: 500, connectionsMax: 1_000 },
      { slot: 1, connections: 500, connectionsMax: 1_000 },
    ]);
  });

  it('weighs room, not counts, when ceilings differ', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 300);
    d.add(1, 100);
    const picks = counts(take(d, 300));
    // Worker 0 takes 200 alone first, then both fill alternately: 250 + 50.
    expect(picks).toEqual({ 0: 250, 1: 50 });
  });

  it('keeps handing out when every worker is full (their gateways answer 503 with Retry-After)', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 1);
    d.add(1, 1);
    expect(take(d, 4)).toEqual([0, 1, 0, 1]);
  });

  it('skips a draining worker while another serves, and uses it when all drain', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 100);
    d.add(1, 100);
    d.draining(0);
    expect(take(d, 3)).toEqual([1, 1, 1]);
    d.draining(1);
    expect(take(d, 2)).toEqual([0, 0]);
  });

  it('forgets a worker that is gone, and starts a replacement from zero', () => {
    const d = new LeastLoadedDispatch();
    d.add(0, 10);
    d.add(1, 10);
    take(d, 10);
    d.remove(1);
    expect(take(d, 2)).toEqual([0, 0]);
    d.add(1, 10);
    expect(take(d, 3)).toEqual([1, 1, 1]);
  });
});
