// The socket port over the `ws` package. Unlike a browser, ws shows us the HTTP response of a refused
// upgrade, so the gateway's 503/429 and its Retry-After reach the client's backoff (docs/protocol.md, "Connecting").
import type { IncomingMessage } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';
import type { ClientSocket, SocketFactory, SocketHandlers } from './ports.js';

// After close() the client has already moved on; a peer that does not finish the close handshake within
// this long is cut off rather than held for ws's default 30 s.
const CLOSE_GRACE_MS = 2_000;

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMsOf(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/**
 * Options for ws's WebSocket constructor, handed over as they are: `headers`, `handshakeTimeout`, TLS
 * settings such as `ca` or `rejectUnauthorized`, an `agent`… (ws's ClientOptions). Typed loosely on
 * purpose: the client package's declarations then need no `@types/ws` in the application.
 */
export interface NodeSocketOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly handshakeTimeout?: number;
  readonly perMessageDeflate?: boolean;
  readonly [option: string]: unknown;
}

/**
 * `options` go to ws as they are. permessage-deflate is off unless asked for: the gateway sends each event
 * frame encoded once, uncompressed, to every subscriber.
 */
export function nodeSocketFactory(options: NodeSocketOptions = {}): SocketFactory {
  return (url: string, protocols: readonly string[], handlers: SocketHandlers): ClientSocket => {
    const ws = new WebSocket(url, [...protocols], { perMessageDeflate: false, ...(options as ClientOptions) });
    let refusal: { httpStatus: number; retryAfterMs?: number } | null = null;
    let killTimer: ReturnType<typeof setTimeout> | null = null;

    ws.on('message', (data: WebSocket.RawData) => handlers.onMessage(textOf(data)));
    // With this listener ws leaves a refused upgrade to us: keep status and hint, then abort, which ends
    // in the 'close' event below like any failed connect.
    ws.on('unexpected-response', (_request, response: IncomingMessage) => {
      const retryAfterMs = retryAfterMsOf(headerOf(response.headers['retry-after']), Date.now());
      refusal = retryAfterMs === undefined ? { httpStatus: response.statusCode ?? 0 } : { httpStatus: response.statusCode ?? 0, retryAfterMs };
      response.resume();
      ws.terminate();
    });
    // Every error is followed by 'close', which reports the outcome; without a listener ws would throw.
    ws.on('error', () => {});
    ws.on('close', (code: number, reason: Buffer) => {
      if (killTimer !== null) clearTimeout(killTimer);
      handlers.onClose({ code, reason: reason.toString('utf8'), ...refusal });
    });

    return {
      send(text: string): void {
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
      },
      close(code: number, reason: string): void {
        ws.close(code, reason);
        killTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        killTimer.unref();
      },
    };
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
