// Wire protocol v1 (docs/protocol.md): JSON text frames. This file is the single source of the message shapes,
// error codes and close codes; the client imports its types from here. docs/protocol.md documents it.

export const PROTOCOL_VERSION = 1;
/** Offered as the WebSocket subprotocol; `?v=1` on the URL is accepted as well. */
export const SUBPROTOCOL = 'odin.v1';
/**
 * A connection token may ride as a subprotocol entry `odin.token.<jwt>` beside odin.v1: browsers cannot set
 * an Authorization header on a WebSocket (docs/security.md, "Where the token travels"). Never echoed.
 */
export const TOKEN_PROTOCOL_PREFIX = 'odin.token.';
/**
 * Offered before SUBPROTOCOL by a client that reads batched frames (docs/protocol.md, "Batched frames"):
 * several messages in one WebSocket text frame, one per line. `?batch=1` on the URL asks for the same.
 */
export const BATCH_SUBPROTOCOL = 'odin.v1.batch';

export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

// ---- client → server -------------------------------------------------------------------------------

export interface SubscribeMessage {
  readonly type: 'subscribe';
  readonly id: number;
  readonly channels: readonly string[];
  readonly since?: Readonly<Record<string, Position>>;
}
export interface UnsubscribeMessage {
  readonly type: 'unsubscribe';
  readonly id: number;
  readonly channels: readonly string[];
}
/** Events of `channel` with offsets in (from, to]. */
export interface ReplayMessage {
  readonly type: 'replay';
  readonly id: number;
  readonly channel: string;
  readonly from: number;
  readonly to: number;
}
export interface PingMessage {
  readonly type: 'ping';
  readonly id: number;
}
/** A new token for this connection, before the current one expires (docs/protocol.md, "Tokens"). */
export interface RefreshMessage {
  readonly type: 'refresh';
  readonly id: number;
  readonly token: string;
}
export type ClientMessage = SubscribeMessage | UnsubscribeMessage | ReplayMessage | PingMessage | RefreshMessage;

// ---- server → client -------------------------------------------------------------------------------

/** Why a resume failed. `unavailable`: the broker could not be asked (outage); the client may retry. */
export const RecoveryFailures = ['epoch_changed', 'history_expired', 'too_many', 'unavailable'] as const;
export type RecoveryFailure = (typeof RecoveryFailures)[number];

export interface ChannelState extends Position {
  /** Present when the subscribe carried `since` for this channel. */
  readonly recovered?: boolean;
  readonly replayed?: number;
  readonly reason?: RecoveryFailure;
}

export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly session: string;
  readonly heartbeatMs: number;
  readonly limits: SessionLimits;
}
export interface SubscribedMessage {
  readonly type: 'subscribed';
  readonly id: number;
  readonly channels: Readonly<Record<string, ChannelState>>;
}
export interface UnsubscribedMessage {
  readonly type: 'unsubscribed';
  readonly id: number;
  readonly channels: readonly string[];
}
export interface ReplayedMessage {
  readonly type: 'replayed';
  readonly id: number;
  readonly channel: string;
  readonly from: number;
  readonly to: number;
  readonly count: number;
}
export interface EventMessage {
  readonly type: 'event';
  readonly ch: string;
  readonly offset: number;
  /** Offset of the previous event on this channel: 0 = none, null = unknown to the gateway. */
  readonly prev: number | null;
  readonly data: unknown;
}
export type GapReason = 'shed' | 'conflated' | 'history_expired' | 'too_many' | 'unavailable';
export interface GapMessage {
  readonly type: 'gap';
  readonly ch: string;
  /** First offset not delivered (inclusive). */
  readonly from: number;
  /** Last offset not delivered (inclusive). */
  readonly to: number;
  readonly reason: GapReason;
}
export interface ThrottleMessage {
  readonly type: 'throttle';
  readonly level: number;
  readonly percent: number;
  readonly message: string;
}
export interface ErrorMessage {
  readonly type: 'error';
  readonly id?: number;
  readonly code: ErrorCode;
  /** The one channel of a subscribe this error is about (`forbidden`); the rest of the request goes on. */
  readonly channel?: string;
  readonly message: string;
}
/** The connection's token expires in `expiresInMs`: send `refresh` with a new one, or be closed 4003. */
export interface TokenExpiringMessage {
  readonly type: 'token_expiring';
  readonly expiresInMs: number;
}
/** The refresh was accepted: the connection now lives by the new token (null: it does not expire). */
export interface RefreshedMessage {
  readonly type: 'refreshed';
  readonly id: number;
  readonly expiresInMs: number | null;
}
export interface PongMessage {
  readonly type: 'pong';
  readonly id: number;
}
export type ServerMessage =
  | WelcomeMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | ReplayedMessage
  | EventMessage
  | GapMessage
  | ThrottleMessage
  | ErrorMessage
  | PongMessage
  | TokenExpiringMessage
  | RefreshedMessage;

export interface SessionLimits {
  readonly channelsPerRequestMax: number;
  readonly subscriptionsMax: number;
  readonly replayEventsMax: number;
  readonly messageBytesMax: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
}

// ---- error and close codes -------------------------------------------------------------------------

export const ErrorCodes = [
  'invalid_json',
  'invalid_message',
  'unknown_type',
  'missing_field',
  'invalid_field',
  'invalid_channel',
  'too_many_channels',
  'subscription_limit',
  'not_subscribed',
  'replay_too_large',
  'history_unavailable',
  'rate_limited',
  'binary_unsupported',
  'forbidden',
  'invalid_token',
  'token_expired',
  'internal',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  /** The connection's token expired without a refresh: reconnect with a new token. */
  tokenExpired: 4003,
} as const;

// ---- channel names ---------------------------------------------------------------------------------

export const CHANNEL_BYTES_MAX = 200;
export const CHANNEL_TOKENS_MAX = 16;
const TOKEN = /^[A-Za-z0-9_\-:@~=+]+$/;

/**
 * Checks a channel name: dot-separated tokens of [A-Za-z0-9_-:@~=+]. With `allowPattern`, a token may be
 * `*` (exactly one token) and the last token may be `>` (one or more tokens), as in NATS subjects.
 * Returns null when valid, else why not.
 */
export function channelNameProblem(name: string, allowPattern: boolean): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > CHANNEL_BYTES_MAX) return `is longer than ${CHANNEL_BYTES_MAX} characters`;
  const tokens = name.split('.');
  if (tokens.length > CHANNEL_TOKENS_MAX) return `has more than ${CHANNEL_TOKENS_MAX} tokens`;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '*' || token === '>') {
      if (!allowPattern) return `has wildcard "${token}" where a concrete channel is required`;
      if (token === '>' && i !== tokens.length - 1) return 'has ">" before its last token';
      continue;
    }
    if (token.length === 0) return 'has an empty token';
    if (!TOKEN.test(token)) return `has token "${token}" with characters outside [A-Za-z0-9_-:@~=+]`;
  }
  return null;
}

export function isPattern(name: string): boolean {
  return name.split('.').some((token) => token === '*' || token === '>');
}

/** Does concrete `channel` match `pattern` (`*` = one token, `>` = one or more trailing tokens)? */
export function subjectMatches(pattern: string, channel: string): boolean {
  if (pattern === channel) return true;
  const p = pattern.split('.');
  const c = channel.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return c.length > i;
    if (i >= c.length) return false;
    if (token !== '*' && token !== c[i]) return false;
  }
  return p.length === c.length;
}

// ---- reconnect hints in close reasons ---------------------------------------------------------------

/**
 * A close reason carries the server's reconnect hint as `…; retry-after-ms=N`, because browsers expose the
 * close reason but not the HTTP response of a refused upgrade. Close reasons are limited to 123 bytes.
 */
export function closeReasonWithRetry(text: string, retryAfterMs: number): string {
  return `${text}; retry-after-ms=${Math.max(0, Math.round(retryAfterMs))}`;
}

export function retryHintOf(reason: string): number | null {
  const match = /retry-after-ms=(\d+)/.exec(reason);
  return match === null ? null : Number(match[1]);
}
