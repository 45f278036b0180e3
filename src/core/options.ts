// Every tunable of the core, with units last in the names, and the defaults. The server's config schema
// (src/server/config.ts) validates user input into this shape; the simulator builds it directly.

export type Priority = 'critical' | 'high' | 'normal' | 'low';

/** How a class of channels degrades for a slow client (docs/design.md, "Slow clients"). First matching pattern wins. */
export interface ChannelClass {
  readonly pattern: string;
  readonly priority: Priority;
  /** Keep only the newest queued event of each such channel when the client falls behind. */
  readonly conflate: boolean;
  /** How long a live event of this class may wait to share a write (and a batched frame); absent: outbound.writeDelayMs. */
  readonly writeDelayMs?: number;
}

export interface HistoryOptions {
  /** Per-channel ring bounds: count, bytes and age. */
  readonly eventsMax: number;
  readonly bytesMax: number;
  readonly ageMs: number;
  /** Bytes all rings together may hold, per-record costs included (src/core/history.ts). */
  readonly totalBytesMax: number;
}

export interface OutboundOptions {
  /** Bytes one session may hold: core queue plus the socket's buffered amount. */
  readonly queueBytesMax: number;
  /** Stop writing to a socket whose buffered amount passes this; frames wait in the core queue instead. */
  readonly socketHighWaterBytes: number;
  /** Queue fill (fraction of queueBytesMax) at which each throttle level starts: level 1, 2, 3. */
  readonly throttleLevels: readonly [number, number, number];
  /** Close 1008 when a critical event could not be queued and the queue has not drained for this long. */
  readonly slowCloseAfterMs: number;
  /**
   * A live event may wait this long in its session's queue so that later ones leave in the same write and,
   * for a client that reads batched frames, the same WebSocket frame (docs/protocol.md, "Batched frames").
   * 0: only what is queued in one turn of the event loop leaves together. Channel classes may override it.
   */
  readonly writeDelayMs: number;
  /** A batched frame holds messages up to this many bytes (a single larger message goes alone). */
  readonly batchBytesMax: number;
}

export interface AdmissionOptions {
  /** Configured ceiling; the effective capacity is the minimum with the resource-derived terms. */
  readonly connectionsMax: number;
  readonly perUserMax: number;
  readonly perIpMax: number;
  /** Handshake token bucket per IP. */
  readonly handshakeBurst: number;
  readonly handshakesPerSecond: number;
  /** Retry-After sent with 503 refusals. */
  readonly retryAfterS: number;
}

export interface InboundOptions {
  readonly messageBurst: number;
  readonly messagesPerSecond: number;
  /** Rate-limit violations (error frames) tolerated before the connection is closed 1008… */
  readonly violationsMax: number;
  /** …counted within this window: a quiet spell this long forgives earlier violations. */
  readonly violationWindowMs: number;
}

export interface LoadBrakeOptions {
  /** New handshakes are refused (503) while event-loop delay (p99 over the last sample) exceeds this… */
  readonly eventLoopDelayMsMax: number;
  /** …or while event-loop utilisation (0..1) exceeds this. Existing connections keep being served. */
  readonly utilizationMax: number;
}

export interface SecurityOptions {
  /** Every connection needs a verified token (auth.mode=jwt); else connections are anonymous. */
  readonly authRequired: boolean;
  /** Browser origins allowed on the upgrade; empty allows any. A request without Origin is not a browser's. */
  readonly allowedOrigins: readonly string[];
  /** A session is told this long before its token expires (`token_expiring`), so it can refresh. */
  readonly refreshWindowMs: number;
}

export interface GatewayOptions {
  /** Liveness check interval: a session silent for a whole interval is pinged. */
  readonly heartbeatMs: number;
  /** A pong (or any message) not seen this long after a ping ends the connection. */
  readonly heartbeatTimeoutMs: number;
  readonly channelsPerRequestMax: number;
  readonly subscriptionsMax: number;
  readonly replayEventsMax: number;
  /** Largest client frame accepted (the transport closes 1009 above it). */
  readonly messageBytesMax: number;
  readonly history: HistoryOptions;
  readonly outbound: OutboundOptions;
  readonly admission: AdmissionOptions;
  readonly inbound: InboundOptions;
  readonly loadBrake: LoadBrakeOptions;
  readonly channelClasses: readonly ChannelClass[];
  /** Bound on the whole drain: queued frames flush and clients close within it, or are terminated. */
  readonly drainTimeoutMs: number;
  /** On drain, clients are told to come back after a delay spread uniformly over this window. */
  readonly drainRetryJitterMs: number;
  readonly security: SecurityOptions;
}

export const defaultGatewayOptions: GatewayOptions = {
  heartbeatMs: 25_000,
  heartbeatTimeoutMs: 10_000,
  channelsPerRequestMax: 100,
  subscriptionsMax: 1_000,
  replayEventsMax: 1_000,
  messageBytesMax: 64 * 1024,
  history: { eventsMax: 100, bytesMax: 1024 * 1024, ageMs: 30_000, totalBytesMax: 64 * 1024 * 1024 },
  outbound: {
    queueBytesMax: 1024 * 1024,
    socketHighWaterBytes: 64 * 1024,
    throttleLevels: [0.5, 0.75, 0.9],
    slowCloseAfterMs: 5_000,
    writeDelayMs: 0,
    batchBytesMax: 64 * 1024,
  },
  admission: {
    connectionsMax: 100_000,
    perUserMax: 5,
    perIpMax: 10_000,
    handshakeBurst: 200,
    handshakesPerSecond: 100,
    retryAfterS: 5,
  },
  inbound: { messageBurst: 100, messagesPerSecond: 10, violationsMax: 10, violationWindowMs: 60_000 },
  loadBrake: { eventLoopDelayMsMax: 500, utilizationMax: 0.98 },
  channelClasses: [],
  drainTimeoutMs: 10_000,
  drainRetryJitterMs: 5_000,
  security: { authRequired: false, allowedOrigins: [], refreshWindowMs: 60_000 },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type GatewayOptionsInput = DeepPartial<GatewayOptions>;

/** Defaults overlaid with `input`, one level of nesting deep (the shape above has no deeper objects). */
export function gatewayOptions(input: GatewayOptionsInput = {}): GatewayOptions {
  const d = defaultGatewayOptions;
  return {
    ...d,
    ...input,
    history: { ...d.history, ...input.history },
    outbound: { ...d.outbound, ...input.outbound },
    admission: { ...d.admission, ...input.admission },
    inbound: { ...d.inbound, ...input.inbound },
    loadBrake: { ...d.loadBrake, ...input.loadBrake },
    security: { ...d.security, ...input.security },
  };
}
