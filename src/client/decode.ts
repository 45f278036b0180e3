// Decoding server frames, validating and never throwing: a bad frame from the server is reported and
// skipped, it must not take the client down or corrupt its positions.
import {
  ErrorCodes,
  type ChannelState,
  type ErrorCode,
  type GapReason,
  RecoveryFailures,
  type RecoveryFailure,
  type ServerMessage,
  type SessionLimits,
} from '../core/protocol.js';

export type DecodedServer = { readonly ok: true; readonly message: ServerMessage } | { readonly ok: false; readonly problem: string };

type Obj = Record<string, unknown>;

class Malformed {
  constructor(readonly problem: string) {}
}

const RECOVERY_FAILURES: readonly string[] = RecoveryFailures;
const ERROR_CODES: readonly string[] = ErrorCodes;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function offset(obj: Obj, name: string): number {
  const value = obj[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Malformed(`"${name}" must be a non-negative integer`);
  }
  return value;
}

function text(obj: Obj, name: string): string {
  const value = obj[name];
  if (typeof value !== 'string') throw new Malformed(`"${name}" must be a string`);
  return value;
}

function finite(obj: Obj, name: string): number {
  const value = obj[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Malformed(`"${name}" must be a number`);
  return value;
}

function channelState(name: string, value: unknown): ChannelState {
  if (!isObject(value)) throw new Malformed(`channels["${name}"] must be an object`);
  const state: { epoch: string; offset: number; recovered?: boolean; replayed?: number; reason?: RecoveryFailure } = {
    epoch: text(value, 'epoch'),
    offset: offset(value, 'offset'),
  };
  if (value.recovered !== undefined) {
    if (typeof value.recovered !== 'boolean') throw new Malformed('"recovered" must be a boolean');
    state.recovered = value.recovered;
  }
  if (value.replayed !== undefined) state.replayed = offset(value, 'replayed');
  if (value.reason !== undefined) {
    if (typeof value.reason !== 'string' || !RECOVERY_FAILURES.includes(value.reason)) {
      throw new Malformed(`"reason" must be one of ${RECOVERY_FAILURES.join(', ')}`);
    }
    state.reason = value.reason as RecoveryFailure;
  }
  return state;
}

function decodeObject(obj: Obj): ServerMessage {
  const type = obj.type;
  switch (type) {
    case 'event': {
      const at = offset(obj, 'offset');
      const prev = obj.prev === null ? null : offset(obj, 'prev');
      // prev names an earlier event of the channel; one at or past `offset` would corrupt gap detection.
      if (prev !== null && prev >= at) throw new Malformed(`"prev" ${prev} is not below "offset" ${at}`);
      if (!('data' in obj)) throw new Malformed('"data" is required');
      return { type, ch: text(obj, 'ch'), offset: at, prev, data: obj.data };
    }
    case 'gap': {
      const from = offset(obj, 'from');
      const to = offset(obj, 'to');
      if (from < 1 || to < from) throw new Malformed(`gap ${from}..${to} is not a range of offsets`);
      // Reasons are open-ended: the client replays any it does not know to be final.
      return { type, ch: text(obj, 'ch'), from, to, reason: text(obj, 'reason') as GapReason };
    }
    case 'subscribed': {
      if (!isObject(obj.channels)) throw new Malformed('"channels" must be an object');
      // Channel names as keys: a null prototype keeps `__proto__` and `constructor` ordinary names.
      const channels = Object.create(null) as Record<string, ChannelState>;
      for (const [name, value] of Object.entries(obj.channels)) channels[name] = channelState(name, value);
      return { type, id: offset(obj, 'id'), channels };
    }
    case 'replayed':
      return {
        type,
        id: offset(obj, 'id'),
        channel: text(obj, 'channel'),
        from: offset(obj, 'from'),
        to: offset(obj, 'to'),
        count: offset(obj, 'count'),
      };
    case 'welcome': {
      const heartbeatMs = finite(obj, 'heartbeatMs');
      if (heartbeatMs <= 0) throw new Malformed('"heartbeatMs" must be positive');
      if (!isObject(obj.limits)) throw new Malformed('"limits" must be an object');
      if (offset(obj.limits, 'channelsPerRequestMax') < 1) throw new Malformed('"channelsPerRequestMax" must be positive');
      return { type, session: text(obj, 'session'), heartbeatMs, limits: obj.limits as unknown as SessionLimits };
    }
    case 'unsubscribed': {
      const channels = obj.channels;
      if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) {
        throw new Malformed('"channels" must be an array of strings');
      }
      return { type, id: offset(obj, 'id'), channels: channels };
    }
    case 'error': {
      const code = text(obj, 'code');
      if (!ERROR_CODES.includes(code)) throw new Malformed(`unknown error code "${code}"`);
      const message = text(obj, 'message');
      const channel = obj.channel === undefined ? {} : { channel: text(obj, 'channel') };
      if (obj.id === undefined) return { type, code: code as ErrorCode, ...channel, message };
      return { type, id: offset(obj, 'id'), code: code as ErrorCode, ...channel, message };
    }
    case 'token_expiring':
      return { type, expiresInMs: offset(obj, 'expiresInMs') };
    case 'refreshed':
      return { type, id: offset(obj, 'id'), expiresInMs: obj.expiresInMs === null ? null : offset(obj, 'expiresInMs') };
    case 'throttle':
      return { type, level: finite(obj, 'level'), percent: finite(obj, 'percent'), message: text(obj, 'message') };
    case 'pong':
      return { type, id: offset(obj, 'id') };
    default:
      throw new Malformed(`unknown message type ${JSON.stringify(type)}`);
  }
}

export function decodeServerMessage(frame: string): DecodedServer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch (error) {
    return { ok: false, problem: `malformed JSON: ${(error as Error).message}` };
  }
  if (!isObject(parsed)) return { ok: false, problem: 'a message must be a JSON object' };
  try {
    return { ok: true, message: decodeObject(parsed) };
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, problem: `${String(parsed.type)}: ${error.problem}` };
    throw error;
  }
}

/**
 * The messages of one frame, in order: a batched frame (docs/protocol.md, "Batched frames") holds one per
 * line; any other frame is one message. No message contains a raw line break, so splitting is exact.
 */
export function messagesOf(frame: string): string[] {
  return frame.includes('\n') ? frame.split('\n') : [frame];
}
