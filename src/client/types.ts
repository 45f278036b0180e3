// The client's public types: options, subscription handlers, errors and counters.
import type { Clock, Random } from '../core/ports.js';
import type { ErrorCode, RecoveryFailure, ThrottleMessage } from '../core/protocol.js';
import type { SocketFactory } from './ports.js';

/**
 * idle: constructed, connect() not called. connecting: first attempt under way. open: welcome received.
 * reconnecting: waiting out a backoff delay or trying again. closed: terminal (close(), a fatal refusal,
 * or maxAttempts used up).
 */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface EventMeta {
  /** The concrete channel, also when the subscription is a pattern. */
  readonly channel: string;
  readonly offset: number;
  readonly prev: number | null;
}

/**
 * Offsets `from`..`to` (inclusive, stream offsets) may hold events of the channel that will not be
 * delivered. `reason` is the server's gap reason (e.g. conflated), the failed replay's error code
 * (e.g. history_unavailable) or the client's own: replay_timeout, replay_range_too_large.
 */
export interface GapInfo {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

export interface SubscriptionHandlers {
  /** Events in strictly increasing offset order per channel, each at most once. */
  onEvent(data: unknown, meta: EventMeta): void;
  /** Events were lost and could not be replayed. Delivery continues after the gap. */
  onGap?(channel: string, gap: GapInfo): void;
  /**
   * Resuming failed: events since the last position are gone. Reload state from the backend; events after
   * the new position follow. `channel` is the subscribed name (a pattern for pattern subscriptions).
   */
  onReset?(channel: string, reason: RecoveryFailure): void;
}

export interface Subscription {
  /** The channel or pattern passed to subscribe(). */
  readonly name: string;
  /** False after unsubscribe(), or once the server refused the subscription (reported through onError). */
  readonly active: boolean;
  unsubscribe(): void;
}

export type ClientErrorCode =
  /** A server frame that is not valid protocol v1; it was skipped. */
  | 'malformed_frame'
  /** The server refused us for authentication (HTTP 401/403, or close 1008 with an auth reason). Fatal. */
  | 'auth_rejected'
  /** The upgrade was refused with a 4xx status that retrying cannot fix (e.g. 400, 404). Fatal. */
  | 'refused'
  /** reconnect.maxAttempts consecutive attempts failed. Fatal. */
  | 'gave_up'
  /** The socket factory threw (e.g. a malformed URL). Fatal. */
  | 'socket_failed'
  /** An application callback threw; the client carried on. */
  | 'handler_threw';

export type OdinError =
  | {
      readonly origin: 'server';
      readonly code: ErrorCode;
      readonly message: string;
      /** For a refused subscribe: the names it asked for, whose subscriptions are now inactive. */
      readonly channels?: readonly string[];
    }
  | { readonly origin: 'client'; readonly code: ClientErrorCode; readonly message: string; readonly cause?: unknown };

export interface ReconnectOptions {
  /** Backoff ceiling before jitter for attempt n is min(capMs, baseMs * 2^n). */
  readonly baseMs: number;
  readonly capMs: number;
  /** Consecutive failed attempts before giving up; Infinity never gives up. */
  readonly maxAttempts: number;
  /** A connection that stays open this long after welcome resets the attempt count. */
  readonly stableMs: number;
}

export interface ClientOptions {
  readonly url: string;
  readonly socketFactory: SocketFactory;
  readonly clock: Clock;
  readonly random: Random;
  readonly reconnect?: Partial<ReconnectOptions>;
  /** Socket creation to welcome; past it the attempt counts as failed. */
  readonly connectTimeoutMs?: number;
  /** A replay request not answered within this is treated as failed (onGap, reason replay_timeout). */
  readonly replayTimeoutMs?: number;
  /** Events held per channel while a replay is in flight. Past it the newest are fetched again later. */
  readonly bufferEventsMax?: number;
  /** Widest replay range (in stream offsets) worth asking for; wider gaps go straight to onGap. */
  readonly replayOffsetsMax?: number;
  /**
   * A connection token (auth.mode=jwt), sent as the subprotocol entry `odin.token.<jwt>`, which browsers
   * and Node both support. Fixed for the client's life: when it expires the server closes 4003 and the
   * reconnect is refused. Prefer getToken.
   */
  readonly token?: string;
  /**
   * Asked for a fresh token before every connection attempt and when the server says the current one is
   * about to expire (then sent as `refresh`, so the connection stays up). May return the token or a
   * promise of it; a rejection counts as a failed attempt and is retried with backoff.
   */
  readonly getToken?: () => string | PromiseLike<string>;
  readonly onStateChange?: (state: ClientState) => void;
  readonly onError?: (error: OdinError) => void;
  readonly onThrottle?: (notice: Omit<ThrottleMessage, 'type'>) => void;
}

/** Monotonic counters for the lab and for metrics. */
export interface ClientCounters {
  eventsDelivered: number;
  duplicatesDropped: number;
  /** Holes noticed: a `prev` beyond the last offset, or a gap notice from the server. */
  gapsDetected: number;
  replaysRequested: number;
  replaysFailed: number;
  /** onGap reports (one per channel range, not per subscription). */
  gapsReported: number;
  /** recovered:false answers (one per subscribed name). */
  resets: number;
  /** Connection attempts after the first. */
  reconnects: number;
  malformedFrames: number;
}
