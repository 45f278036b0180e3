// Small helpers shared by the scenarios: counting outcomes, rounding for reports, and failures by time
// window. Nothing here knows a story's results.
import { type Inputs, str } from './scenario.js';

/** Three decimals: reports stay readable and byte-stable. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** A copy with keys in sorted order (reports list outcomes alphabetically, so bytes do not depend on arrival order). */
export function sortedCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) out[k] = counts[k] as number;
  return out;
}

/** Window edges in seconds from a "0,60,80,100" input; the last window runs to the end of the run. */
export function windowEdgesS(inputs: Inputs, key: string): number[] {
  const edges = str(inputs, key)
    .split(',')
    .map((s) => Number(s.trim()));
  if (edges.length === 0 || edges.some((e) => !Number.isFinite(e)) || edges.some((e, i) => i > 0 && e <= (edges[i - 1] as number))) {
    throw new Error(`input ${key} expects increasing seconds, e.g. "0,60,80,100"`);
  }
  return edges;
}

/** Index of the window holding `tMs` (windows start at each edge); -1 before the first edge. */
export function windowOf(edgesS: readonly number[], tMs: number): number {
  let w = -1;
  for (let i = 0; i < edgesS.length; i++) if (tMs >= (edgesS[i] as number) * 1000) w = i;
  return w;
}

export function windowLabel(edgesS: readonly number[], i: number): string {
  const next = edgesS[i + 1];
  return next === undefined ? `${edgesS[i]}s-end` : `${edgesS[i]}-${next}s`;
}

/** Counts per `prefix` + key, keys sorted (outcome groups in one flat record). */
export function prefixed(prefix: string, counts: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) out[`${prefix}${k}`] = counts[k] as number;
  return out;
}

/** How many items share each key (e.g. clients by final state). */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) bump(counts, key(item));
  return counts;
}

/** The busiest window of `windowMs` among times ≥ `fromMs`: its count and start (the earliest on a tie). */
export function busiestWindow(timesMs: readonly number[], windowMs: number, fromMs: number): { count: number; atMs: number } {
  const windows = new Map<number, number>();
  for (const t of timesMs) {
    if (t < fromMs) continue;
    const w = Math.floor(t / windowMs);
    windows.set(w, (windows.get(w) ?? 0) + 1);
  }
  let count = 0;
  let atMs = 0;
  for (const [w, c] of windows) {
    if (c > count || (c === count && w * windowMs < atMs)) {
      count = c;
      atMs = w * windowMs;
    }
  }
  return { count, atMs };
}
