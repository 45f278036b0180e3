// The Connection port over a `ws` WebSocket, plus the wiring of socket events into the core.
//
// Two write paths:
//  - 'preframed' (default): every Frame is turned into WebSocket wire bytes once (Sender.frame, cached per
//    Frame object) and written straight to the underlying TCP socket between cork() and uncork(), so a
//    publish to 10,000 sockets frames once and costs one writev per socket (docs/design.md, "Channels, positions and encode once"; I5). The payload is never copied: header and payload go out as two chunks of one writev.
//    This uses ws internals (the private `_socket`) and is only correct while nothing else can reorder
//    bytes on that socket: no permessage-deflate (ws would deflate asynchronously and our bytes would
//    overtake its queue) and no Blob sends through ws. Pings and close frames from ws are written
//    synchronously through the same socket, so they interleave at frame boundaries only. Guarded by
//    test/adapters/transport-ws.test.ts, which decodes what a real ws client receives; ws is pinned.
//  - 'send': ws.send() per frame inside one cork/uncork: the documented API, kept as a fallback and used
//    automatically when an extension was negotiated.
import type { Duplex } from 'node:stream';
import * as wsExports from 'ws';
import { WebSocket } from 'ws';
import type { Connection, Frame } from '../core/ports.js';

/** ws exports Sender from its ESM wrapper but @types/ws 8.18 does not declare it; ws is pinned (package.json). */
interface SenderStatic {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
const Sender: SenderStatic = (() => {
  const exported = (wsExports as unknown as { Sender?: SenderStatic }).Sender;
  if (exported === undefined || typeof exported.frame !== 'function') {
    throw new Error('ws no longer exports Sender.frame: pre-framed writes need ws 8.x (package.json pins 8.23.0)');
  }
  return exported;
})();

export type WriteMode = 'preframed' | 'send';

const OPCODE_TEXT = 1;
/** Close reasons are limited to 123 bytes by RFC 6455 §5.5 (125-byte control payload minus the code). */
const CLOSE_REASON_BYTES_MAX = 123;

/**
 * Wire chunks per Frame: the frame header and a view of the payload (no copy). Shared frames (one per
 * publish) are framed once, whatever the fan-out. The payload is not copied into one contiguous buffer
 * because the core keeps event frames in its history rings: a copy would double the memory they hold.
 */
const wireCache = new WeakMap<Frame, readonly Buffer[]>();

/** The unmasked server-to-client text frame for `frame` as [header, payload] (or [header] when empty). */
export function wireChunks(frame: Frame): readonly Buffer[] {
  let chunks = wireCache.get(frame);
  if (chunks === undefined) {
    const payload = Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength);
    chunks = Sender.frame(payload, { fin: true, opcode: OPCODE_TEXT, mask: false, readOnly: true, rsv1: false });
    wireCache.set(frame, chunks);
  }
  return chunks;
}

/** The whole frame as one buffer (tests and diagnostics; the write path uses wireChunks). */
export function wireBytes(frame: Frame): Buffer {
  return Buffer.concat(wireChunks(frame));
}

interface WsInternals {
  _socket: Duplex | null;
}

function rawSocketOf(ws: WebSocket): Duplex | null {
  return (ws as unknown as WsInternals)._socket ?? null;
}

export class WsConnection implements Connection {
  readonly mode: WriteMode;
  private readonly socket: Duplex | null;
  /** Whose socket events these are (set by bindWebSocket): the connection is its own binding, one object less per connection. */
  session: unknown = null;
  events: SocketEvents<unknown> | null = null;
  /** When ws itself closes for a protocol violation it sends e.g. 1009 but reports 1006 (no close frame
   * came back from the peer); the core is told the code that explains the close. */
  closedByWs: number | null = null;

  constructor(
    readonly ws: WebSocket,
    requested: WriteMode = 'preframed',
  ) {
    this.socket = rawSocketOf(ws);
    // Any negotiated extension (permessage-deflate) changes framing and ordering: use ws's own path.
    this.mode = requested === 'preframed' && this.socket !== null && ws.extensions === '' ? 'preframed' : 'send';
  }

  write(frames: readonly Frame[]): void {
    // After close() the core may still flush a queue; a data frame after our close frame is a protocol
    // error, so anything written once the socket is not OPEN is dropped (onClosed follows).
    if (this.ws.readyState !== WebSocket.OPEN || frames.length === 0) return;
    const socket = this.socket;
    if (this.mode === 'preframed' && socket !== null) {
      // ws reports a reset socket as closed a tick later; writing into it meanwhile only raises errors.
      if (!socket.writable) return;
      // Corked even for one frame: header and payload are two chunks and must leave in one writev.
      socket.cork();
      for (const frame of frames) for (const chunk of wireChunks(frame)) socket.write(chunk);
      socket.uncork();
      return;
    }
    socket?.cork();
    for (const frame of frames) this.ws.send(frame.bytes, { binary: false, fin: true });
    socket?.uncork();
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  ping(): void {
    // ws throws while CONNECTING and silently inflates bufferedAmount after CLOSING: only ping when OPEN.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(code, truncateUtf8(reason, CLOSE_REASON_BYTES_MAX));
    } catch {
      // An invalid close code is our bug, not the peer's; the connection still has to end.
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Cuts `text` to at most `bytesMax` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, bytesMax: number): string {
  if (Buffer.byteLength(text) <= bytesMax) return text;
  let end = Math.min(text.length, bytesMax);
  while (end > 0 && Buffer.byteLength(text.slice(0, end)) > bytesMax) end--;
  // Do not leave half a surrogate pair at the end.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * What the socket reports, for the session it was bound to. One object serves every connection of a server:
 * per-connection closures cost more than the session itself (docs/benchmarks.md, "A lighter connection").
 */
export interface SocketEvents<S> {
  onMessage(session: S, text: string): void;
  onBinaryMessage(session: S): void;
  onWritable(session: S): void;
  onPong(session: S): void;
  onClosed(session: S, code: number): void;
  onError?(session: S, error: Error): void;
}

const kBinding = Symbol('odin.binding');
type Bound = { [kBinding]?: WsConnection };

function bindingOf(ws: unknown): WsConnection {
  return (ws as Bound)[kBinding]!;
}

/**
 * ws keeps its WebSocket on the TCP socket under a private symbol (Symbol('websocket')); the socket's
 * 'drain' listener reaches the binding through it instead of a property of its own on every socket (an
 * added property costs the socket a property array). Found on the first socket; null if ws stops doing it,
 * and the socket then carries the binding itself.
 */
let kWebSocket: symbol | null | undefined;

function wsSymbolOf(raw: Duplex): symbol | null {
  if (kWebSocket === undefined) kWebSocket = Object.getOwnPropertySymbols(raw).find((s) => s.description === 'websocket') ?? null;
  return kWebSocket;
}

// The listeners are module functions shared by every socket: EventEmitter calls them with `this` set to the
// emitter, which carries its binding.
function onWsMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const b = bindingOf(this);
  if (isBinary) b.events!.onBinaryMessage(b.session);
  else b.events!.onMessage(b.session, textOf(data));
}

function onWsPong(this: WebSocket): void {
  const b = bindingOf(this);
  b.events!.onPong(b.session);
}

function onWsClose(this: WebSocket, code: number): void {
  const b = bindingOf(this);
  b.events!.onClosed(b.session, code === 1006 && b.closedByWs !== null ? b.closedByWs : code);
}

function onWsError(this: WebSocket, error: Error): void {
  const b = bindingOf(this);
  b.closedByWs ??= statusCodeOf(error);
  b.events!.onError?.(b.session, error);
}

function onSocketDrain(this: Duplex): void {
  const symbol = kWebSocket;
  const b = bindingOf(symbol !== null && symbol !== undefined ? (this as unknown as Record<symbol, unknown>)[symbol] : this);
  b.events!.onWritable(b.session);
}

/**
 * Pushes socket input into the core for `session`. Frames over maxPayload never arrive here: ws closes with
 * 1009 itself and reports 'error' then 'close'. ws emits no 'drain' of its own, so writability comes from
 * the TCP socket; it fires once the kernel took everything after a write that went over the socket's
 * high-water mark (16 KiB on Node 20), which is why the outbound high-water option has that floor.
 */
export function bindWebSocket<S>(conn: WsConnection, session: S, events: SocketEvents<S>): void {
  conn.session = session;
  conn.events = events;
  const ws = conn.ws;
  (ws as unknown as Bound)[kBinding] = conn;
  ws.on('message', onWsMessage);
  ws.on('pong', onWsPong);
  // 'close' is emitted once; `once` would wrap the listener in a closure per socket.
  ws.on('close', onWsClose);
  // Without an 'error' listener ws errors (bad UTF-8, oversize frame, ECONNRESET) would be thrown.
  ws.on('error', onWsError);
  const raw = rawSocketOf(ws);
  if (raw !== null) {
    if (wsSymbolOf(raw) === null) (raw as unknown as Bound)[kBinding] = conn;
    raw.on('drain', onSocketDrain);
  }
}

/** The close code ws attaches to its protocol errors (a private symbol named 'status-code'). */
function statusCodeOf(error: Error): number | null {
  for (const symbol of Object.getOwnPropertySymbols(error)) {
    if (symbol.description !== 'status-code') continue;
    const code = (error as unknown as Record<symbol, unknown>)[symbol];
    return typeof code === 'number' ? code : null;
  }
  return null;
}

function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
