// The WebSocket handshake over node:http and ws. The decision is the core's (src/core/handshake.ts: path →
// Upgrade header → protocol version → admission), made before the upgrade (I7); this file parses the
// request for it and carries the answer out: a refusal is a plain HTTP response with its status, body and
// Retry-After written to the socket — never an accepted WebSocket closed a moment later — and an admission
// goes on to ws's handshake and gateway.open. Between the two the ticket holds a slot; if the handshake
// fails or the client leaves first, the slot is given back (abandon) exactly once.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Gateway } from '../core/gateway.js';
import { BATCH_SUBPROTOCOL, SUBPROTOCOL } from '../core/protocol.js';
import type { Session } from '../core/session.js';
import { bindWebSocket, WsConnection, type SocketEvents, type WriteMode } from '../adapters/transport-ws.js';
import { refuseUpgrade } from './respond.js';

export type UpgradeGateway = Pick<Gateway, 'handshake' | 'abandon' | 'open' | 'onMessage' | 'onBinaryMessage' | 'onWritable' | 'onPong' | 'onClosed'>;

export interface UpgradeOptions {
  readonly path: string;
  readonly messageBytesMax: number;
  readonly trustProxy: boolean;
  readonly writeMode: WriteMode;
  readonly onError?: (error: Error, context: string) => void;
}

export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Live WebSockets, so shutdown can terminate stragglers after the drain deadline. */
  readonly sockets: ReadonlySet<WebSocket>;
}

/** `?user=` is a stand-in until authentication lands; it is bounded so it cannot bloat admission tables. */
const USER_ID_CHARS_MAX = 128;

/** The pre-handshake error listener: one function for every socket. */
function ignore(): void {}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return typeof header === 'string' ? header.split(',').map((p) => p.trim()).filter((p) => p !== '') : [];
}

/** IPv4 clients on a dual-stack listener appear as ::ffff:a.b.c.d; per-IP caps should see one address. */
function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return normaliseIp(first);
  }
  return normaliseIp(req.socket.remoteAddress ?? 'unknown');
}

export function createUpgradeHandler(gateway: UpgradeGateway, options: UpgradeOptions): UpgradeHandler {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.messageBytesMax,
    // Off: the pre-framed write path needs it off, and deflate costs more CPU than loopback bandwidth here.
    perMessageDeflate: false,
    clientTracking: false,
    // Clients without any subprotocol (but ?v=1, or nothing) get none back; the core's handshake decision
    // already refused offers that do not include ours. A client that also offers the batched variant gets
    // it (docs/protocol.md, "Batched frames").
    handleProtocols: (protocols) => (protocols.has(BATCH_SUBPROTOCOL) ? BATCH_SUBPROTOCOL : protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();
  // One set of handlers for every connection (src/adapters/transport-ws.ts): no closures per socket.
  const events: SocketEvents<Session> = {
    onMessage: (session, text) => gateway.onMessage(session, text),
    onBinaryMessage: (session) => gateway.onBinaryMessage(session),
    onWritable: (session) => gateway.onWritable(session),
    onPong: (session) => gateway.onPong(session),
    onClosed: (session, code) => {
      sockets.delete((session.conn as WsConnection).ws);
      gateway.onClosed(session, code);
    },
    onError: (_session, error) => options.onError?.(error, 'websocket'),
  };

  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // ws installs its own error handling once the handshake completes; until then a reset must not crash.
    socket.on('error', ignore);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const user = url.searchParams.get('user');
    const userId = user === null || user === '' ? null : user.slice(0, USER_ID_CHARS_MAX);
    const batchAsked = url.searchParams.get('batch') === '1';
    const outcome = gateway.handshake(
      { path: url.pathname, upgrade: req.headers.upgrade, version: url.searchParams.get('v'), protocols: offeredProtocols(req), peer: { ip: clientIp(req, options.trustProxy), userId } },
      options.path,
    );
    if (!outcome.ok) {
      refuseUpgrade(socket, outcome.status, outcome.body, outcome.headers);
      return;
    }
    const ticket = outcome.ticket;
    let settled = false;
    // ws gives no callback when it rejects a malformed handshake or the client leaves mid-way; the
    // socket closing before our callback is the one signal that covers both.
    const abandonEarly = (): void => {
      if (settled) return;
      settled = true;
      gateway.abandon(ticket);
    };
    socket.once('close', abandonEarly);
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('close', abandonEarly);
        if (settled) {
          ws.terminate();
          return;
        }
        settled = true;
        sockets.add(ws);
        const batch = batchAsked || ws.protocol === BATCH_SUBPROTOCOL;
        bindWebSocket(ws, gateway.open(new WsConnection(ws, options.writeMode), ticket, batch), events);
      });
    } catch (error) {
      abandonEarly();
      socket.destroy();
      options.onError?.(error as Error, 'upgrade');
    }
  };
  return Object.assign(handler, { sockets });
}
