// The WebSocket handshake over node:http and ws. The decision is the core's (src/core/handshake.ts: path →
// Upgrade header → protocol version → origin → token → admission), made before the upgrade (I7); this file
// parses the request for it — the client address (src/server/addresses.ts), and the token, which the
// verifier port checks first (asynchronously: the decision is taken when its answer comes) — and carries
// the answer out: a refusal is a plain HTTP response with its status, body and
// Retry-After written to the socket — never an accepted WebSocket closed a moment later — and an admission
// goes on to ws's handshake and gateway.open. Between the two the ticket holds a slot; if the handshake
// fails or the client leaves first, the slot is given back (abandon) exactly once.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Gateway } from '../core/gateway.js';
import { BATCH_SUBPROTOCOL, SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../core/protocol.js';
import type { Session } from '../core/session.js';
import { bindWebSocket, WsConnection, type SocketEvents, type WriteMode } from '../adapters/transport-ws.js';
import type { TokenVerifier } from '../core/auth.js';
import type { HandshakeRequest } from '../core/handshake.js';
import { normaliseIp, type ProxyTrust } from './addresses.js';
import { refuseUpgrade } from './respond.js';

export type UpgradeGateway = Pick<Gateway, 'handshake' | 'abandon' | 'open' | 'onMessage' | 'onBinaryMessage' | 'onWritable' | 'onPong' | 'onClosed'>;

export interface UpgradeOptions {
  readonly path: string;
  readonly messageBytesMax: number;
  /** Set with server.trustProxy: whose X-Forwarded-For to believe; null takes the socket's peer. */
  readonly proxies: ProxyTrust | null;
  /** Checks handshake tokens; null in anonymous mode (no token is looked at). */
  readonly verifier: TokenVerifier | null;
  /** Accept ?token= (auth.queryToken). */
  readonly queryToken: boolean;
  readonly writeMode: WriteMode;
  readonly onError?: (error: Error, context: string) => void;
}

export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Live WebSockets, so shutdown can terminate stragglers after the drain deadline. */
  readonly sockets: ReadonlySet<WebSocket>;
}

/** The pre-handshake error listener: one function for every socket. */
function ignore(): void {}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return typeof header === 'string'
    ? header
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')
    : [];
}

/**
 * The token a handshake carries, in order of preference: the Authorization header, a subprotocol entry,
 * then `?token=` when allowed (docs/security.md, "Where the token travels"). null when there is none.
 */
export function presentedToken(req: IncomingMessage, url: URL, protocols: readonly string[], queryToken: boolean): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (match !== null) return match[1]!;
  const entry = protocols.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (entry !== undefined) return entry.slice(TOKEN_PROTOCOL_PREFIX.length);
  const query = queryToken ? url.searchParams.get('token') : null;
  return query === null || query === '' ? null : query;
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
    const offered = offeredProtocols(req);
    // The token entry is a credential, not a protocol: the version check never sees it, ws never echoes it.
    const protocols = offered.filter((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX));
    const peerIp = normaliseIp(req.socket.remoteAddress ?? 'unknown');
    const ip = options.proxies === null ? peerIp : options.proxies.clientIp(peerIp, req.headers['x-forwarded-for']);
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const base = { path: url.pathname, upgrade: req.headers.upgrade, version: url.searchParams.get('v'), protocols, origin, peer: { ip, userId: null } };
    const token = options.verifier === null ? null : presentedToken(req, url, offered, options.queryToken);
    const batchAsked = url.searchParams.get('batch') === '1';
    if (options.verifier === null || token === null) return decide(req, socket, head, base, batchAsked);
    options.verifier.verify(token, (credential) => {
      // The client may have left while the token was checked: then there is nothing to admit.
      if (!socket.destroyed) decide(req, socket, head, { ...base, credential }, batchAsked);
    });
  };

  const decide = (req: IncomingMessage, socket: Duplex, head: Buffer, request: HandshakeRequest, batchAsked: boolean): void => {
    const outcome = gateway.handshake(request, options.path);
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
        const conn = new WsConnection(ws, options.writeMode);
        bindWebSocket(conn, gateway.open(conn, ticket, batch), events);
      });
    } catch (error) {
      abandonEarly();
      socket.destroy();
      options.onError?.(error as Error, 'upgrade');
    }
  };
  return Object.assign(handler, { sockets });
}
