// Small response helpers shared by the HTTP routes and the refused-upgrade path.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ErrorBody {
  readonly error: string;
  readonly message: string;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

export function sendError(res: ServerResponse, status: number, error: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(res, status, { error, message } satisfies ErrorBody, headers);
}

/** How long a refused upgrade socket may linger before we drop it (the client should close on the response). */
const REFUSED_SOCKET_LINGER_MS = 2_000;

/**
 * Answers an upgrade request with a plain HTTP response and ends the socket: the client sees a real
 * status (503/429 + Retry-After) before any WebSocket exists — never an accepted connection reset later.
 */
export function refuseUpgrade(socket: Duplex, status: number, body: ErrorBody, headers: Readonly<Record<string, string>> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Cache-Control: no-store',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
  setTimeout(() => socket.destroy(), REFUSED_SOCKET_LINGER_MS).unref();
}
