// The IPC messages between the load coordinator (session.ts) and its worker processes (worker.ts).
// Times are process.hrtime.bigint() readings sent as decimal strings: CLOCK_MONOTONIC, shared by every
// process on the machine.
import type { LoadTokens } from './token.js';

/** What one worker is to do. */
export interface WorkerPlan {
  readonly url: string;
  /** WebSocket subprotocols offered (odin: "odin.v1"); empty for none. */
  readonly protocols: readonly string[];
  /** Mint a token per connection (a gateway with auth.mode=jwt); null: none. */
  readonly tokens: LoadTokens | null;
  /** Global index of the first connection and how many this worker opens. */
  readonly first: number;
  readonly count: number;
  /** Connection i binds addresses[i % length]; empty: let the kernel choose. */
  readonly addresses: readonly string[];
  readonly channels: readonly string[];
  readonly channelsPerConnection: number;
  /** This worker's share of the ramp, connections per second. */
  readonly rampPerSecond: number;
  /** Handshakes in flight at once, at most. */
  readonly handshakesInFlightMax: number;
  /** TCP connect + Upgrade, then the subscription's confirmation: each bounded. */
  readonly connectTimeoutMs: number;
  readonly subscribeTimeoutMs: number;
  /** Connection i records latency when i % sampleEvery === 0 (1: every connection). */
  readonly sampleEvery: number;
  readonly tickMs: number;
}

/** Cumulative counts of one worker (or, summed, of a run). */
export interface Counts {
  attempted: number;
  /** Upgraded (WebSocket open). */
  opened: number;
  /** Confirmed subscribed. */
  subscribed: number;
  /** Open right now. */
  open: number;
  /** Attempts that failed, by kind (failures.ts). */
  failures: Record<string, number>;
  /** Established connections that ended while we held them, by kind. */
  drops: Record<string, number>;
  events: number;
  eventBytes: number;
  /** Latency samples whose value exceeded the histogram's range. */
  clipped: number;
  /** Frames by control kind (gap, throttle, error, …): a degraded client shows here. */
  control: Record<string, number>;
}

export function zeroCounts(): Counts {
  return { attempted: 0, opened: 0, subscribed: 0, open: 0, failures: {}, drops: {}, events: 0, eventBytes: 0, clipped: 0, control: {} };
}

export type ToWorker =
  | { readonly cmd: 'start'; readonly plan: WorkerPlan }
  /** Answer `armed`, then `reached` (with the time) once this worker has received `target` events in all
   * (the coordinator computes it from the worker's last counts and subscribers: a burst's drain). */
  | { readonly cmd: 'expect'; readonly id: number; readonly target: number }
  /** Send a tick now (a phase boundary). */
  | { readonly cmd: 'flush'; readonly id: number }
  | { readonly cmd: 'stop' };

export interface Tick {
  readonly type: 'tick';
  /** Set when this tick answers a flush. */
  readonly flushId?: number;
  readonly atNs: string;
  readonly counts: Counts;
  /** Subscribed connections per channel (for expected deliveries). */
  readonly subscribers: Readonly<Record<string, number>>;
  /** Attempts not yet settled (connecting or awaiting the subscription). */
  readonly pending: number;
  /** Histograms of what was recorded since the previous tick (compressed base64, '' when empty). */
  readonly latency: string;
  readonly connect: string;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | Tick
  | { readonly type: 'armed'; readonly id: number }
  | { readonly type: 'reached'; readonly id: number; readonly atNs: string }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };
