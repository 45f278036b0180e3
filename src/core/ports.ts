// The ports through which the pure core meets the world. Real adapters (src/adapters) and simulated twins
// (sim/) implement the same interfaces, so the gateway started by `npm start` and the one inside
// `npm run sim` are the same code. Everything here is callback-shaped, never Promise-shaped: the simulator
// runs its event loop synchronously, and a promise would resolve outside virtual time.

/** Time and deferred work. The only source of "now" the core knows. */
export interface Clock {
  /** Monotonic milliseconds. Only differences mean anything. */
  nowMs(): number;
  /** Milliseconds since the Unix epoch, for timestamps shown to people (stats, logs). */
  wallMs(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): Timer;
  /**
   * Runs `fn` once the current turn of work is over. The core flushes outbound frames here, so every frame
   * queued to one socket during one turn leaves in one write (real: setImmediate; sim: same virtual instant).
   */
  defer(fn: () => void): void;
}

export interface Timer {
  cancel(): void;
}

/** Uniform randomness in [0, 1). Seeded in the simulator, Math.random in production. */
export interface Random {
  next(): number;
}

/** Bytes that leave as one WebSocket text message. Encoded once and shared by every recipient (I5). */
export interface Frame {
  readonly bytes: Uint8Array;
}

/**
 * One client's socket as the core sees it: write-only. Input is pushed into the core by the adapter
 * (Gateway.onMessage, onWritable, onPong, onClosed).
 */
export interface Connection {
  /** Sends these frames, in order, as one write where the transport can (the coalescing point). */
  write(frames: readonly Frame[]): void;
  /** Bytes accepted by write() that the socket has not yet handed to the kernel. */
  bufferedBytes(): number;
  /** Protocol-level ping; the adapter reports the answer through Gateway.onPong. */
  ping(): void;
  /** Sends a close frame and ends the connection; the adapter then calls Gateway.onClosed. */
  close(code: number, reason: string): void;
  /** Drops the connection without a close handshake (peer unresponsive). */
  terminate(): void;
}

/** An event as the broker delivers it: offset assigned, data still the publisher's JSON text. */
export interface BrokerEvent {
  readonly channel: string;
  /** The broker's stream sequence: strictly increasing over the whole stream. */
  readonly offset: number;
  /** Offset of the previous event on the same channel; 0 when there is none; null when unknown (§8). */
  readonly prev: number | null;
  /** JSON text of the payload, embedded verbatim in the event frame. */
  readonly data: string;
}

export type BrokerStatus = 'connecting' | 'live' | 'down';

export interface BrokerSink {
  /** Every event of the stream, in offset order, exactly once per start(). */
  onEvent(event: BrokerEvent): void;
  onStatus(status: BrokerStatus, detail?: string): void;
}

export interface HistoryRequest {
  /** A concrete channel or a pattern (`*`, `>`). */
  readonly subject: string;
  /** Return events with offset > afterOffset… */
  readonly afterOffset: number;
  /** …up to and including this offset (inclusive), or to the head when absent. */
  readonly toOffset?: number;
  /** More matching events than this is `too_many`, never a truncated answer. */
  readonly maxEvents: number;
}

export type HistoryResult =
  | { readonly ok: true; readonly events: readonly BrokerEvent[] }
  | { readonly ok: false; readonly reason: 'history_expired' | 'too_many' | 'unavailable' | 'beyond_head' };

export type PublishResult =
  | { readonly ok: true; readonly epoch: string; readonly offset: number }
  /** `outsideStream`: the broker will never store this channel (not an outage; do not retry as is). */
  | { readonly ok: false; readonly reason: string; readonly outsideStream?: boolean };

/**
 * The event source. A history answer that says ok holds *every* matching event in the range: the broker
 * answers `history_expired` rather than a partial list (docs/design.md, "History and recovery": never a partial replay presented as
 * complete), and `beyond_head` when `afterOffset` is past the newest offset of its stream (a position
 * from another timeline).
 */
export interface Broker {
  /** Names the history timeline; a new epoch means old offsets mean nothing here. */
  epoch(): string;
  start(sink: BrokerSink): void;
  stop(): void;
  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void;
  publish(channel: string, data: string, done: (result: PublishResult) => void): void;
}

export type Labels = Readonly<Record<string, string | number>>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Metrics and logs. Names come from src/core/metrics.ts; adapters map them to prom-client and pino. */
export interface Telemetry {
  count(name: string, labels?: Labels, by?: number): void;
  gauge(name: string, value: number, labels?: Labels): void;
  observe(name: string, value: number, labels?: Labels): void;
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}
