// Latency histograms: HdrHistogram (hdr-histogram-js, its pure-JavaScript build — no WebAssembly), so a
// percentile costs the same at a thousand samples as at a billion and nothing sorts raw samples. Values
// are microseconds from 1 µs to 60 s at 3 significant digits (0.1 % resolution); a larger value is
// recorded as 60 s and counted as clipped, so a stall shows as a maximum, never as a crash.
// Workers send what they recorded since their last report as compressed base64 (a few hundred bytes);
// the coordinator adds them up.
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

export type { Histogram };

export const LATENCY_US_MAX = 60_000_000;

export function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_US_MAX,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Records one value in µs, clamped to the histogram's range; returns whether it was clipped. */
export function recordUs(histogram: Histogram, us: number): boolean {
  const clipped = us > LATENCY_US_MAX;
  histogram.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round(us))));
  return clipped;
}

export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/** Adds an encoded histogram into `into`. */
export function addEncoded(into: Histogram, encoded: string): void {
  if (encoded === '') return;
  into.add(decodeFromCompressedBase64(encoded, 32, false));
}

/** Percentiles in milliseconds, as load tools report them. */
export interface LatencySummary {
  readonly count: number;
  readonly minMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count,
    minMs: ms(histogram.minNonZeroValue),
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p95Ms: ms(histogram.getValueAtPercentile(95)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
  };
}
