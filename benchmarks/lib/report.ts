// What every bench module returns, and the helpers that turn mitata's trials into it. Every figure is a
// comparison against a baseline measured in the same run (the machine is shared and noisy): we report
// medians and ratios, never an absolute number alone.
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { bench, run, summary, type B } from 'mitata';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly os: string;
  /** 1-minute load average when the bench started: a busy neighbour shows here. */
  readonly loadAverage1m: number;
  readonly date: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()} ${arch()}`,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    date: new Date().toISOString(),
  };
}

/** Summary statistics of one measured variant (times in nanoseconds per iteration). */
export interface Measured {
  readonly name: string;
  readonly p50Ns: number;
  readonly avgNs: number;
  readonly minNs: number;
  readonly p99Ns: number;
  readonly maxNs: number;
  readonly samples: number;
}

export interface Comparison {
  /** The case, e.g. "N=1000". */
  readonly label: string;
  readonly baseline: Measured;
  readonly ours: Measured;
  /** baseline median / ours median: above 1 means ours is faster. */
  readonly speedup: number;
  /** Work items per iteration (subscribers, frames, events), for per-item figures. */
  readonly itemsPerIteration: number;
  readonly itemName: string;
  /** Further variants measured alongside (e.g. the adapter's ws.send fallback), same units. */
  readonly others?: readonly Measured[];
}

export interface BenchReport {
  readonly name: string;
  readonly title: string;
  /** What the baseline is and what "ours" is, in a sentence each. */
  readonly baselineIs: string;
  readonly oursIs: string;
  readonly machine: Machine;
  readonly comparisons: readonly Comparison[];
  /** Free-form figures a bench adds (the fan-out harness reports rates and CPU here). */
  readonly extra?: unknown;
  readonly notes: readonly string[];
  readonly durationMs: number;
}

export interface RunOptions {
  /** Fewer sizes and shorter runs, for the tests and a quick look. */
  readonly quick: boolean;
  /** Where mitata's and our human output goes. */
  readonly print: (line: string) => void;
  /** `section.key=value` settings for the odin server of the end-to-end benches (`--odin-set`). */
  readonly odinSet?: readonly string[];
}

export interface BenchModule {
  readonly name: string;
  readonly title: string;
  run(options: RunOptions): Promise<BenchReport>;
}

/** One pair to register: the baseline and ours, same case, same work per iteration. */
export interface PairSpec {
  readonly label: string;
  readonly itemsPerIteration: number;
  readonly itemName: string;
  readonly baseline: { readonly name: string; readonly fn: () => unknown };
  readonly ours: { readonly name: string; readonly fn: () => unknown };
  readonly others?: readonly { readonly name: string; readonly fn: () => unknown }[];
}

interface MitataStats {
  readonly p50: number;
  readonly avg: number;
  readonly min: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/**
 * Registers the pairs with mitata (one `summary` per case, baseline marked), runs them, and returns the
 * comparisons. Each bench function must already have been validated: a throw inside `summary` crashes
 * mitata's renderer, so a failing iteration is reported here after the run instead.
 */
export async function runPairs(pairs: readonly PairSpec[], options: RunOptions): Promise<Comparison[]> {
  const all: B[] = [];
  for (const pair of pairs) {
    summary(() => {
      all.push(bench(`${pair.label} · ${pair.baseline.name}`, pair.baseline.fn).baseline(true));
      all.push(bench(`${pair.label} · ${pair.ours.name}`, pair.ours.fn));
      for (const other of pair.others ?? []) all.push(bench(`${pair.label} · ${other.name}`, other.fn));
    });
  }
  const result = await run({ format: { mitata: { name: 'longest' } }, colors: false, print: options.print, throw: false });
  const byName = new Map<string, Measured>();
  const errors: string[] = [];
  for (const trial of result.benchmarks) {
    for (const r of trial.runs) {
      if (r.error !== undefined || r.stats === undefined) {
        errors.push(`${r.name}: ${String((r.error as Error | undefined)?.message ?? r.error)}`);
        continue;
      }
      byName.set(r.name, measured(r.name, r.stats));
    }
  }
  if (errors.length > 0) throw new Error(`benchmarks failed:\n${errors.join('\n')}`);
  return pairs.map((pair) => {
    const get = (name: string): Measured => {
      const m = byName.get(`${pair.label} · ${name}`);
      if (m === undefined) throw new Error(`mitata returned no result for "${pair.label} · ${name}"`);
      return m;
    };
    const baseline = get(pair.baseline.name);
    const ours = get(pair.ours.name);
    return {
      label: pair.label,
      baseline,
      ours,
      speedup: round(baseline.p50Ns / ours.p50Ns, 2),
      itemsPerIteration: pair.itemsPerIteration,
      itemName: pair.itemName,
      ...(pair.others !== undefined ? { others: pair.others.map((o) => get(o.name)) } : {}),
    };
  });
}

function measured(name: string, stats: MitataStats): Measured {
  return {
    name,
    p50Ns: round(stats.p50, 1),
    avgNs: round(stats.avg, 1),
    minNs: round(stats.min, 1),
    p99Ns: round(stats.p99, 1),
    maxNs: round(stats.max, 1),
    samples: stats.samples.length,
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** 1234567 ns → "1.23 ms". */
export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/** A plain-text table of the comparisons, for the terminal. */
export function comparisonTable(comparisons: readonly Comparison[]): string {
  const rows = [['case', 'baseline p50', 'ours p50', 'speed-up', `ours per item`]];
  for (const c of comparisons) {
    rows.push([
      c.label,
      formatNs(c.baseline.p50Ns),
      formatNs(c.ours.p50Ns),
      `${c.speedup.toFixed(2)}×`,
      `${formatNs(c.ours.p50Ns / c.itemsPerIteration)}/${c.itemName}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Throws with `message` unless `condition`: the validations that run before mitata sees a function. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`bench setup check failed: ${message}`);
}
