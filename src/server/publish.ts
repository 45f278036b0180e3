// POST /publish: {"channel": "...", "data": <any JSON>} → {"epoch", "offset"}. The body is bounded, the
// API key (when configured) is checked in constant time, and every rejection is a precise 4xx or 503 with
// {"error": code, "message"} — the same shape the WebSocket error frames use. This file owns the HTTP
// part only: the channel is validated, and the publish decided, by the core (src/core/publisher.ts), whose
// domain outcome is mapped to a status here.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway.js';
import type { PublishRefusal } from '../core/publisher.js';
import { TokenBucket } from '../core/token-bucket.js';
import { sendError, sendJson } from './respond.js';

export interface PublishDeps {
  readonly gateway: Pick<Gateway, 'publish'>;
  readonly apiKey: string | null;
  readonly bodyBytesMax: number;
  readonly limiter: PublishLimiter;
}

/** Distinct keys given buckets; beyond it the oldest is forgotten (only the configured key ever passes auth). */
const BUCKETS_MAX = 64;

/**
 * One token bucket per publish key (docs/security.md, "Publishing"): a leaked or runaway publisher is held
 * to publish.ratePerSecond. Keys are hashed, so the table never holds a secret.
 */
export class PublishLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly nowMs: () => number,
  ) {}

  /** 0 when this key may publish now, else whole seconds until it may. */
  take(key: string | null): number {
    const id = key === null ? 'anonymous' : createHash('sha256').update(key).digest('hex');
    const now = this.nowMs();
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      if (this.buckets.size >= BUCKETS_MAX) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(this.burst, this.perSecond, now);
      this.buckets.set(id, bucket);
    }
    return bucket.take(now) ? 0 : Math.max(1, Math.ceil(bucket.waitMs(now) / 1000));
  }
}

/** `application/json`, with or without parameters (charset=utf-8); anything else is refused 415. */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * The status of each refusal: the publisher's mistake is a 400; a publish that was not stored now but may
 * be shortly is a 503 with Retry-After (on another instance, while this one drains).
 */
const REFUSAL_STATUS: Readonly<Record<PublishRefusal, 400 | 503>> = {
  invalid_channel: 400,
  channel_outside_stream: 400,
  draining: 503,
  broker_unavailable: 503,
};
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
  // Only JSON: a cross-site HTML form can send text/plain, form-urlencoded or multipart without a CORS
  // preflight, never application/json — so this check is what keeps a browser from publishing for a page.
  if (!isJson(req.headers['content-type'])) {
    sendError(res, 415, 'unsupported_media_type', 'POST /publish takes "Content-Type: application/json" only', { Accept: 'application/json' });
    req.resume();
    return;
  }
  const waitS = deps.limiter.take(deps.apiKey === null ? null : presentedKey(req));
  if (waitS > 0) {
    sendError(res, 429, 'rate_limited', 'this publish key is over publish.ratePerSecond; retry after the wait', { 'Retry-After': String(waitS) });
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
