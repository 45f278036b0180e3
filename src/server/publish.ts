// POST /publish: {"channel": "...", "data": <any JSON>} → {"epoch", "offset"}. The body is bounded, the
// API key (when configured) is checked in constant time, and every rejection is a precise 4xx or 503 with
// {"error": code, "message"} — the same shape the WebSocket error frames use. This file owns the HTTP
// part only: the channel is validated, and the publish decided, by the core (src/core/publisher.ts), whose
// domain outcome is mapped to a status here.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway.js';
import type { PublishRefusal } from '../core/publisher.js';
import { sendError, sendJson } from './respond.js';

export interface PublishDeps {
  readonly gateway: Pick<Gateway, 'publish'>;
  readonly apiKey: string | null;
  readonly bodyBytesMax: number;
}

/**
 * The status of each refusal: the publisher's mistake is a 400; a publish that was not stored now but may
 * be shortly is a 503 with Retry-After (on another instance, while this one drains).
 */
const REFUSAL_STATUS: Readonly<Record<PublishRefusal, 400 | 503>> = { invalid_channel: 400, channel_outside_stream: 400, draining: 503, broker_unavailable: 503 };
const RETRY_AFTER_S = 1;

/** Compares digests, so neither the key's length nor its prefix leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function presentedKey(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match?.[1] ?? null;
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : null;
}

export function authorized(req: IncomingMessage, apiKey: string | null): boolean {
  if (apiKey === null) return true;
  const key = presentedKey(req);
  return key !== null && sameSecret(key, apiKey);
}

/** Reads the body up to `limit` bytes; null (and a 413 already sent) when it is larger. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, done: (body: Buffer) => void): void {
  const declared = Number(req.headers['content-length']);
  const tooLarge = (): void => {
    // We stop reading, so this connection cannot carry another request.
    sendError(res, 413, 'body_too_large', `request body exceeds ${limit} bytes`, { Connection: 'close' });
    req.resume();
  };
  if (Number.isFinite(declared) && declared > limit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      chunks.length = 0;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(Buffer.concat(chunks));
  });
  req.on('error', () => undefined); // the client went away; nothing to answer
}

export function handlePublish(req: IncomingMessage, res: ServerResponse, deps: PublishDeps): void {
  if (!authorized(req, deps.apiKey)) {
    sendError(res, 401, 'unauthorized', 'publishing needs "Authorization: Bearer <key>" or "X-API-Key: <key>"', {
      'WWW-Authenticate': 'Bearer realm="odin-publish"',
    });
    req.resume();
    return;
  }
  readBody(req, res, deps.bodyBytesMax, (body) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return sendError(res, 400, 'invalid_json', `malformed JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return sendError(res, 400, 'invalid_message', 'the body must be a JSON object {"channel": string, "data": any JSON}');
    }
    const { channel } = parsed as Record<string, unknown>;
    if (!('channel' in parsed)) return sendError(res, 400, 'missing_field', 'field "channel" is required');
    if (!('data' in parsed)) return sendError(res, 400, 'missing_field', 'field "data" is required');
    if (typeof channel !== 'string') return sendError(res, 400, 'invalid_field', 'field "channel" must be a string');
    // Re-serialised from the parsed value: the event frame embeds this text verbatim, so it must be
    // exactly one JSON value with nothing around it.
    const data = JSON.stringify((parsed as { data: unknown }).data);
    deps.gateway.publish(channel, data, (outcome) => {
      if (outcome.ok) sendJson(res, 200, { epoch: outcome.epoch, offset: outcome.offset });
      else {
        const status = REFUSAL_STATUS[outcome.code];
        sendError(res, status, outcome.code, outcome.message, status === 503 ? { 'Retry-After': String(RETRY_AFTER_S) } : {});
      }
    });
  });
}
