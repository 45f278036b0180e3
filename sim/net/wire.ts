// What travels inside simulated TCP connections at the HTTP/WebSocket level, with the byte counts the
// socket buffers and links charge. Payloads are objects (no real bytes): the model needs sizes and order.

/** HTTP/1.1 GET with Upgrade, Connection, Sec-WebSocket-Key/Version/Protocol, Host, User-Agent: ~250 B. */
export const UPGRADE_REQUEST_BYTES = 250;
/** "HTTP/1.1 101 Switching Protocols" + Upgrade, Connection, Sec-WebSocket-Accept/Protocol: ~160 B. */
export const UPGRADE_RESPONSE_BYTES = 160;
/** An HTTP error response with a short body and Retry-After: ~150 B. */
export const HTTP_REFUSAL_BYTES = 150;

/** RFC 6455 §5.2 frame size: 2-byte header, 2 or 8 more for longer payloads, 4 for the client's mask. */
export function frameBytes(payloadBytes: number, masked: boolean): number {
  const ext = payloadBytes < 126 ? 0 : payloadBytes < 65_536 ? 2 : 8;
  return payloadBytes + 2 + ext + (masked ? 4 : 0);
}

import type { Frame } from '../../src/core/ports.js';

export type WireMessage =
  /**
   * The HTTP Upgrade request: its target (path and query) and offered subprotocols, as the core's handshake
   * decision reads them; `user` stands for the ?user= parameter (per-user caps).
   */
  | { readonly k: 'upgrade'; readonly target: string; readonly protocols: readonly string[]; readonly user: number | string }
  | { readonly k: 'http'; readonly status: number; readonly retryAfterMs?: number }
  /** A text frame of the story models: `kind` names the message, no real JSON. */
  | { readonly k: 'ws'; readonly kind: string; readonly text?: string }
  /** Text frames as our gateway encodes them (shared Frame objects: encode once, I5). */
  | { readonly k: 'frames'; readonly frames: readonly Frame[] }
  /** A client's text frame carrying real protocol JSON. */
  | { readonly k: 'text'; readonly text: string }
  | { readonly k: 'ping' }
  | { readonly k: 'pong' }
  | { readonly k: 'close'; readonly code: number; readonly reason: string };
