// The client's one I/O port: a WebSocket as a factory plus two callbacks. Browsers (socket-browser.ts),
// Node (socket-node.ts) and the simulator each implement it, so simulated users run the real client. The
// Clock and Random ports come from src/core/ports.ts. No DOM or Node types here, nothing Promise-shaped.

/** How a socket ended, as far as the transport could tell. */
export interface CloseInfo {
  /** WebSocket close code; 1006 when the connection failed or dropped without a close frame. */
  readonly code: number;
  readonly reason: string;
  /** HTTP status of a refused upgrade (e.g. 503, 429), where the transport exposes it (Node, the lab). */
  readonly httpStatus?: number;
  /** The refusal's Retry-After header in milliseconds, where the transport exposes it. */
  readonly retryAfterMs?: number;
}

/**
 * Callbacks the transport invokes. Like a real WebSocket, never synchronously from within the factory call
 * or from within `send`/`close`. `onClose` is called exactly once per socket (also when it never opened)
 * and nothing after it; failures are reported only through `onClose`. There is no onOpen: the server's
 * `welcome` is what makes a connection usable, and it can only arrive on an open socket.
 */
export interface SocketHandlers {
  onMessage(text: string): void;
  onClose(info: CloseInfo): void;
}

export interface ClientSocket {
  /** Sends one text message. Called only once a message has arrived, and before onClose. */
  send(text: string): void;
  /** Starts the close handshake (or aborts a pending connect). `code` is 1000 or in 4000–4999. */
  close(code: number, reason: string): void;
}

/** Opens a socket to `url` offering `protocols` as WebSocket subprotocols. */
export type SocketFactory = (url: string, protocols: readonly string[], handlers: SocketHandlers) => ClientSocket;
