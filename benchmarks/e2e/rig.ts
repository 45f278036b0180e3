// What the end-to-end benches share: a load session against one server (the same load tool as
// `odin load`), an HTTP publisher, the machine's load, and the search for the highest publish rate a
// server sustains within a latency bound.
import { loadavg } from 'node:os';
import { HttpPublisher } from '../../src/load/publishers.js';
import type { PhaseResult } from '../../src/load/phases.js';
import { LoadSession, sessionDefaults, type SessionOptions } from '../../src/load/session.js';
import { rampStallMs } from '../../src/load/run.js';
import type { ServerProcess } from './servers.js';

export const BENCH_CHANNEL_PREFIX = 'odin.token.bench';

export interface LoadAverage {
  readonly one: number;
  readonly five: number;
  readonly fifteen: number;
}

export function loadNow(): LoadAverage {
  const [one, five, fifteen] = loadavg().map((v) => Math.round(v * 100) / 100) as [number, number, number];
  return { one, five, fifteen };
}

export interface SetOptions {
  readonly connections: number;
  readonly channels?: number;
  readonly rampPerSecond?: number;
  readonly sampleEvery?: number;
  readonly workersMin?: number;
  readonly tickMs?: number;
}

/**
 * Every set of connections a bench opens binds its own block of source addresses (127.0.B.x): two sets
 * open at once, or one right after another, would otherwise compete for one address's local ports
 * (those of closed connections stay taken for TIME_WAIT's 60 s) and fail with EADDRINUSE.
 */
let nextBlock = 10;
function freshBlock(): number {
  const block = nextBlock;
  nextBlock = nextBlock >= 250 ? 10 : nextBlock + 1;
  return block;
}

export function sessionOptionsFor(server: ServerProcess, o: SetOptions): SessionOptions {
  const channels = Array.from({ length: o.channels ?? 1 }, (_, i) => `${BENCH_CHANNEL_PREFIX}.${i}`);
  return {
    ...sessionDefaults,
    url: server.wsUrl,
    protocols: [],
    connections: o.connections,
    workersMin: o.workersMin ?? sessionDefaults.workersMin,
    spreadAddresses: true,
    addressBlock: freshBlock(),
    channels,
    channelsPerConnection: 1,
    rampPerSecond: o.rampPerSecond ?? 2_000,
    sampleEvery: o.sampleEvery ?? sessionDefaults.sampleEvery,
    tickMs: o.tickMs ?? sessionDefaults.tickMs,
  };
}

/** Opens `connections` subscribed connections to the server; every one must succeed (a bench measures a
 * server at its size, not a server that refused part of it). */
export async function connectSet(server: ServerProcess, o: SetOptions): Promise<LoadSession> {
  const options = sessionOptionsFor(server, o);
  const session = await LoadSession.open(options);
  try {
    const s = await session.rampDone(rampStallMs(options));
    if (s.counts.subscribed !== o.connections) {
      throw new Error(`${server.kind}: ${s.counts.subscribed} of ${o.connections} connections subscribed; failures ${JSON.stringify(s.counts.failures)}`);
    }
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** `timeoutMs` bounds each publish: a server may answer late while it writes, and still carry it out. */
export function publisherFor(server: ServerProcess, timeoutMs = 10_000): HttpPublisher {
  return new HttpPublisher({ baseUrl: server.httpUrl, apiKey: null, sockets: 32, inFlightMax: 2_000, timeoutMs });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Whether a steady phase kept up: every accepted event reached every subscriber, p99 within the bound,
 * the publisher was never at its bound, nothing refused, no connection lost. */
export function verdict(r: PhaseResult, p99MsMax: number): { pass: boolean; why: string } {
  const failures = Object.values(r.published.failures).reduce((a, b) => a + b, 0);
  const drops = Object.values(r.drops).reduce((a, b) => a + b, 0);
  if (!r.complete || r.delivered < r.expected) return { pass: false, why: `${r.delivered} of ${r.expected} deliveries arrived` };
  if (r.published.skipped > 0) return { pass: false, why: `publisher skipped ${r.published.skipped} events (its requests backed up)` };
  if (failures > 0) return { pass: false, why: `${failures} publishes refused` };
  if (drops > 0) return { pass: false, why: `${drops} connections dropped` };
  if (r.latency.p99Ms > p99MsMax) return { pass: false, why: `p99 ${r.latency.p99Ms} ms > ${p99MsMax} ms` };
  return { pass: true, why: `p99 ${r.latency.p99Ms} ms` };
}

export interface Trial {
  readonly rate: number;
  readonly pass: boolean;
  readonly why: string;
  readonly deliveriesPerSecond: number;
  readonly p99Ms: number;
  readonly p50Ms: number;
}

export interface SearchOptions {
  readonly start: number;
  readonly max: number;
  /** Halvings of the interval between the last pass and the first failure. */
  readonly bisections: number;
  readonly p99MsMax: number;
}

/**
 * The highest rate that passes: double from `start` until a failure (or `max`), then bisect. A failure at
 * `start` halves down instead, at most three times (never below 1 event/s). Bounded: at most
 * log2(max/start) + bisections + 4 trials.
 */
export async function searchRate(
  trial: (rate: number) => Promise<PhaseResult>,
  o: SearchOptions,
  log: (line: string) => void,
): Promise<{ best: Trial | null; trials: Trial[] }> {
  const trials: Trial[] = [];
  const run = async (rate: number): Promise<Trial> => {
    const r = await trial(rate);
    const v = verdict(r, o.p99MsMax);
    const t: Trial = { rate, ...v, deliveriesPerSecond: r.deliveriesPerSecond, p99Ms: r.latency.p99Ms, p50Ms: r.latency.p50Ms };
    trials.push(t);
    log(`    ${String(rate).padStart(6)} events/s: ${t.pass ? 'pass' : 'FAIL'} · ${r.deliveriesPerSecond.toLocaleString('en-US')} deliveries/s · ${v.why}`);
    return t;
  };
  let best: Trial | null = null;
  let low = 0;
  let high = 0;
  let rate = o.start;
  const first = await run(rate);
  if (first.pass) {
    best = first;
    low = rate;
    while (rate * 2 <= o.max) {
      rate *= 2;
      const t = await run(rate);
      if (!t.pass) {
        high = rate;
        break;
      }
      best = t;
      low = rate;
    }
    if (high === 0) return { best, trials };
  } else {
    high = rate;
    for (let i = 0; i < 3 && best === null; i++) {
      const lower = Math.max(1, Math.floor(rate / 2));
      if (lower === rate) break; // at the floor already: nothing lower to try
      rate = lower;
      const t = await run(rate);
      if (t.pass) {
        best = t;
        low = rate;
      } else high = rate;
    }
    if (best === null) return { best, trials };
  }
  for (let i = 0; i < o.bisections; i++) {
    const mid = Math.round((low + high) / 2);
    if (mid <= low || mid >= high) break;
    const t = await run(mid);
    if (t.pass) {
      best = t;
      low = mid;
    } else high = mid;
  }
  return { best, trials };
}
