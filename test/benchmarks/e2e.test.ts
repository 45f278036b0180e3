// The end-to-end benches (benchmarks/e2e/) at tiny N: real server processes (odin and the naive hub), real
// load workers, real sockets. Correctness of the harness only — each bench measures what it says (every
// connection, every delivery, both servers) and RESULTS.md renders its figures; no timing is asserted.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../benchmarks/run.js';
import { bench as burstBench, type runBursts, burstQuick } from '../../benchmarks/e2e/burst.bench.js';
import { bench as memoryBench, type runMemory, memoryQuick } from '../../benchmarks/e2e/memory.bench.js';
import { resultsMarkdown } from '../../benchmarks/e2e/results.js';
import { searchRate, verdict, type Trial } from '../../benchmarks/e2e/rig.js';
import { fanout10k, outcome, type Confirmation, type runSustained, type SustainedFigures } from '../../benchmarks/e2e/sustained.bench.js';
import type { PhaseResult } from '../../src/load/phases.js';
import type { BenchReport } from '../../benchmarks/lib/report.js';

const quiet = (): void => undefined;
/** The quick reports of the benches run below, rendered into RESULTS.md at the end. */
const reports = new Map<string, BenchReport>();

describe('end-to-end benches (tiny N)', () => {
  it('memory-idle: reads both servers’ RSS before and after their connections', { timeout: 60_000 }, async () => {
    const report = await memoryBench.run({ quick: true, print: quiet });
    reports.set('memory-idle', report);
    const [run] = (report.extra as { figures: { runs: Awaited<ReturnType<typeof runMemory>> } }).figures.runs;
    for (const kind of ['odin', 'naive'] as const) {
      expect(run![kind].beforeBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(run![kind].afterBytes).toBeGreaterThan(0);
      expect(run![kind].perConnectionBytes).toBe(Math.round((run![kind].afterBytes - run![kind].beforeBytes) / memoryQuick.connections));
    }
  });

  it('burst: every run drains every event to every subscriber on both servers', { timeout: 60_000 }, async () => {
    const report = await burstBench.run({ quick: true, print: quiet });
    reports.set('burst', report);
    const runs = (report.extra as { figures: { runs: Awaited<ReturnType<typeof runBursts>> } }).figures.runs;
    expect(runs).toHaveLength(burstQuick.runs);
    for (const r of runs) {
      for (const kind of ['odin', 'naive'] as const) {
        expect(r[kind].expected).toBe(burstQuick.events * burstQuick.subscribers);
        expect(r[kind].delivered).toBe(r[kind].expected);
        expect(r[kind].drainMs).toBeGreaterThan(0);
      }
      expect(r.speedup).toBeCloseTo(r.naive.drainMs! / r.odin.drainMs!, 1);
    }
  });

  it('fanout-10k shape: searches and confirms a rate on both servers, with deliveries counted', { timeout: 90_000 }, async () => {
    const report = await fanout10k.run({ quick: true, print: quiet });
    reports.set('fanout-10k', report);
    const f = (report.extra as { figures: Awaited<ReturnType<typeof runSustained>> }).figures;
    for (const kind of ['odin', 'naive'] as const) {
      expect(f.search[kind].trials.length).toBeGreaterThanOrEqual(1);
      expect(f.search[kind].best?.pass).toBe(true);
      const c = f.confirmed[kind]!;
      expect(c.runs).toHaveLength(1);
      expect(c.deliveriesPerSecondMedian).toBeGreaterThan(0);
    }
    expect(f.throughputRatio).toBeGreaterThan(0);
  });
});

describe('rate search', () => {
  const phase = (ok: boolean, p99Ms: number): PhaseResult => ({
    kind: 'steady',
    target: 0,
    publishMs: 1,
    published: { sent: 10, ok: 10, skipped: 0, retried: 0, failures: {} },
    expected: 100,
    delivered: ok ? 100 : 90,
    complete: ok,
    drainMs: ok ? 5 : null,
    deliveriesPerSecond: 1_000,
    latency: { count: 10, minMs: 1, meanMs: 1, p50Ms: 1, p90Ms: 1, p95Ms: 1, p99Ms, p999Ms: p99Ms, maxMs: p99Ms },
    drops: {},
    control: {},
  });

  it('finds the highest passing rate by doubling then bisecting, within its trial bound', async () => {
    const limit = 37; // rates up to 37 pass
    const tried: number[] = [];
    const { best, trials } = await searchRate(
      async (rate) => (tried.push(rate), phase(true, rate <= limit ? 10 : 500)),
      { start: 2, max: 1_000, bisections: 4, p99MsMax: 200 },
      quiet,
    );
    expect(tried.slice(0, 6)).toEqual([2, 4, 8, 16, 32, 64]);
    expect(best!.rate).toBeLessThanOrEqual(limit);
    expect(best!.rate).toBeGreaterThanOrEqual(32);
    expect(trials.length).toBeLessThanOrEqual(6 + 4);
  });

  it('halves from a failing start, and reports none when even the floor fails', async () => {
    const down = await searchRate(async (rate) => phase(rate <= 3, 10), { start: 16, max: 100, bisections: 0, p99MsMax: 200 }, quiet);
    expect(down.best!.rate).toBe(2);
    const none = await searchRate(async () => phase(false, 10), { start: 16, max: 100, bisections: 2, p99MsMax: 200 }, quiet);
    expect(none.best).toBeNull();
    expect(none.trials).toHaveLength(4);
    // From 2, the floor comes after one halving: 1 is not tried twice.
    const floor = await searchRate(async () => phase(false, 10), { start: 2, max: 100, bisections: 2, p99MsMax: 200 }, quiet);
    expect(floor.trials.map((t) => t.rate)).toEqual([2, 1]);
  });

  it('fails a trial for each reason the bench names', () => {
    expect(verdict(phase(true, 10), 200).pass).toBe(true);
    expect(verdict(phase(true, 300), 200).why).toMatch(/p99 300 ms > 200 ms/);
    expect(verdict(phase(false, 10), 200).why).toMatch(/90 of 100 deliveries/);
    expect(verdict({ ...phase(true, 10), published: { sent: 10, ok: 10, skipped: 3, retried: 0, failures: {} } }, 200).why).toMatch(/skipped 3/);
    expect(verdict({ ...phase(true, 10), drops: { CLOSE_1008: 1 } }, 200).why).toMatch(/1 connections dropped/);
  });
});

describe('RESULTS.md', () => {
  it('renders every e2e section and the headline from bench reports, labelling figures taken under load', () => {
    expect([...reports.keys()]).toEqual(['memory-idle', 'burst', 'fanout-10k']);
    const underLoad = { ...reports.get('burst')!, extra: { ...(reports.get('burst')!.extra as object), underLoad: true } };
    reports.set('burst', underLoad);
    const md = resultsMarkdown(reports);
    expect(md).toMatch(/^# Benchmark results/);
    expect(md).toContain('## Headline');
    expect(md).toMatch(/## Memory per idle subscribed connection \(40 connections\)/);
    expect(md).toMatch(/## Burst drain \(5 events at once to 20 subscribers\)/);
    expect(md).toMatch(/## Sustained fan-out: one channel × 20 subscribers/);
    expect(md).toContain('**taken under load**');
    expect(md).toMatch(/Node v20/);
    // Every burst run has its own row.
    expect(md.match(/^\| [12] \|/gm)).toHaveLength(2 + 1);
  });

  it('takes --odin-set settings for the odin server', () => {
    expect(parseBenchArgs(['burst', '--odin-set', 'gateway.heartbeatMs=60000', '--quick'])).toMatchObject({
      names: ['burst'],
      odinSet: ['gateway.heartbeatMs=60000'],
      problems: [],
    });
  });
});

describe('sustained outcome in words', () => {
  const trial = (rate: number, pass: boolean, p99Ms: number): Trial => ({ rate, pass, why: '', deliveriesPerSecond: rate * 100, p99Ms, p50Ms: p99Ms / 2 });
  const confirmation = (passes: number): Confirmation => ({
    server: 'odin',
    rate: 4,
    runs: [trial(4, passes > 0, 150), trial(4, false, 210), trial(4, false, 230)],
    passes,
    deliveriesPerSecondMedian: 39_000,
    p50MsMedian: 90,
    p99MsMedian: 210,
  });
  const figures = (odin: Confirmation | null, naiveTrials: Trial[]): SustainedFigures => ({
    search: { odin: { best: null, trials: [trial(2, true, 180), trial(4, true, 140)] }, naive: { best: null, trials: naiveTrials } },
    confirmed: { odin, naive: null },
    odinAtNaiveRate: null,
    throughputRatio: null,
    openAtEnd: { odin: 20, naive: 20 },
  });

  it('says a rate was not confirmed, and what the lowest rate tried gave when none passed', () => {
    const f = figures(confirmation(0), [trial(2, false, 257), trial(1, false, 232)]);
    expect(outcome(f, 'odin')).toBe('39,000 deliveries/s (p99 210 ms), not confirmed (0 of 3 confirmations passed)');
    expect(outcome(f, 'naive')).toBe('no rate passed (at 1 event/s, the lowest tried: p99 232 ms)');
    expect(outcome(figures(confirmation(2), []), 'odin')).toBe('39,000 deliveries/s (p99 210 ms)');
    expect(outcome(figures(null, []), 'naive')).toBe('not measured');
  });
});
