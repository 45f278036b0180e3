// Decoding client frames (validating, never throwing) and encoding server frames (once per publish).
import { TOKEN_CHARS_MAX } from './auth.js';
import type { BrokerEvent, Frame } from './ports.js';
import { channelNameProblem, type ClientMessage, type ErrorCode, type Position, type ServerMessage } from './protocol.js';

export interface DecodeLimits {
  readonly channelsPerRequestMax: number;
}

export interface DecodeError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The request id when it could be read, so the client can match the error to its request. */
  readonly id?: number;
}

export type Decoded = { readonly ok: true; readonly message: ClientMessage } | { readonly ok: false; readonly error: DecodeError };

type Obj = Record<string, unknown>;

class Invalid {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function field(obj: Obj, name: string): unknown {
  if (!(name in obj)) throw new Invalid('missing_field', `field "${name}" is required`);
  return obj[name];
}

function offsetField(obj: Obj, name: string): number {
  const value = field(obj, name);
  if (!isOffset(value)) throw new Invalid('invalid_field', `field "${name}" must be a non-negative integer`);
  return value;
}

function channelList(obj: Obj, limits: DecodeLimits): string[] {
  const value = field(obj, 'channels');
  if (!Array.isArray(value) || value.length === 0) {
    throw new Invalid('invalid_field', 'field "channels" must be a non-empty array of channel names');
  }
  if (value.length > limits.channelsPerRequestMax) {
    throw new Invalid('too_many_channels', `${value.length} channels in one request; at most ${limits.channelsPerRequestMax} are allowed`);
  }
  const seen = new Set<string>();
  for (const channel of value) {
    if (typeof channel !== 'string') throw new Invalid('invalid_channel', 'every channel must be a string');
    const problem = channelNameProblem(channel, true);
    if (problem !== null) throw new Invalid('invalid_channel', `channel "${truncate(channel)}" ${problem}`);
    if (seen.has(channel)) throw new Invalid('invalid_field', `channel "${channel}" is listed twice`);
    seen.add(channel);
  }
  return value as string[];
}

function sinceField(obj: Obj, channels: readonly string[]): Record<string, Position> | undefined {
  if (!('since' in obj) || obj.since === undefined) return undefined;
  const since = obj.since;
  if (!isObject(since)) throw new Invalid('invalid_field', 'field "since" must be an object keyed by channel');
  // Keyed by channel name: a null prototype keeps `__proto__` and `constructor` ordinary keys.
  const result = Object.create(null) as Record<string, Position>;
  for (const [channel, position] of Object.entries(since)) {
    if (!channels.includes(channel)) {
      throw new Invalid('invalid_field', `since names "${truncate(channel)}", which is not in "channels"`);
    }
    if (!isObject(position) || typeof position.epoch !== 'string' || !isOffset(position.offset)) {
      throw new Invalid('invalid_field', `since["${channel}"] must be {"epoch": string, "offset": non-negative integer}`);
    }
    result[channel] = { epoch: position.epoch, offset: position.offset };
  }
  return result;
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

function decodeObject(obj: Obj, limits: DecodeLimits): ClientMessage {
  const type = field(obj, 'type');
  if (typeof type !== 'string') throw new Invalid('invalid_field', 'field "type" must be a string');
  if (type !== 'subscribe' && type !== 'unsubscribe' && type !== 'replay' && type !== 'ping' && type !== 'refresh') {
    throw new Invalid('unknown_type', `unknown message type "${truncate(type)}"; expected subscribe, unsubscribe, replay, ping or refresh`);
  }
  const id = offsetField(obj, 'id');
  switch (type) {
    case 'subscribe': {
      const channels = channelList(obj, limits);
      const since = sinceField(obj, channels);
      return since === undefined ? { type, id, channels } : { type, id, channels, since };
    }
    case 'unsubscribe':
      return { type, id, channels: channelList(obj, limits) };
    case 'replay': {
      const channel = field(obj, 'channel');
      if (typeof channel !== 'string') throw new Invalid('invalid_channel', 'field "channel" must be a string');
      const problem = channelNameProblem(channel, false);
      if (problem !== null) throw new Invalid('invalid_channel', `channel "${truncate(channel)}" ${problem}`);
      const from = offsetField(obj, 'from');
      const to = offsetField(obj, 'to');
      if (to <= from) throw new Invalid('invalid_field', `replay range (${from}, ${to}] is empty: "to" must exceed "from"`);
      return { type, id, channel, from, to };
    }
    case 'ping':
      return { type, id };
    case 'refresh': {
      const token = field(obj, 'token');
      if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_CHARS_MAX) {
        throw new Invalid('invalid_field', `field "token" must be a non-empty string of at most ${TOKEN_CHARS_MAX} characters`);
      }
      return { type, id, token };
    }
  }
}

/** Parses and validates one client text frame. Never throws: bad input becomes a precise error code. */
export function decodeClientMessage(text: string, limits: DecodeLimits): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: { code: 'invalid_json', message: `malformed JSON: ${(error as Error).message}` } };
  }
  if (!isObject(parsed)) return { ok: false, error: { code: 'invalid_message', message: 'a message must be a JSON object' } };
  try {
    return { ok: true, message: decodeObject(parsed, limits) };
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    const id = isOffset(parsed.id) ? parsed.id : undefined;
    return { ok: false, error: id === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, id } };
  }
}

const utf8 = new TextEncoder();

export function frameOf(text: string): Frame {
  return { bytes: utf8.encode(text) };
}

export function encodeMessage(message: ServerMessage): Frame {
  return frameOf(JSON.stringify(message));
}

/**
 * The event frame, built once per publish and shared by every subscriber (I5). `data` is spliced in as the
 * publisher's JSON text, so the payload is neither parsed nor re-serialised on the hot path.
 */
export function encodeEvent(event: BrokerEvent): Frame {
  return frameOf(
    `{"type":"event","ch":${JSON.stringify(event.channel)},"offset":${event.offset},"prev":${event.prev === null ? 'null' : event.prev},"data":${oneLine(event.data)}}`,
  );
}

/**
 * The payload without raw line breaks, so a batched frame can hold one message per line (docs/protocol.md,
 * "Batched frames"). The payload is one JSON value (src/adapters/nats/payload.ts, the publish route), where a
 * raw CR or LF can only be whitespace between tokens — inside a string it would be escaped — so a space in
 * its place is the same value.
 */
function oneLine(json: string): string {
  return json.includes('\n') || json.includes('\r') ? json.replace(/[\r\n]/g, ' ') : json;
}
