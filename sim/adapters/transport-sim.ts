// The simulated twin of the WebSocket transport (src/adapters/transport-ws.ts + src/server/upgrade.ts):
// our real Gateway behind a listening socket of the kernel model. The handshake is the core's decision
// (src/core/handshake.ts), asked with the request the simulated client sent, exactly as the real server
// asks it; this file only carries the answer out: a refusal as an HTTP response (status + Retry-After)
// *before* any upgrade, or 101 → gateway.open(connection) → frames in and out → gateway.onClosed.
//
// Closing works as ws does it. A close the core asks for sends the close frame and leaves the connection
// CLOSING — its descriptor and its admission slot still held — until the peer answers with its own close
// frame (or its FIN, or an error); a peer that never answers is destroyed after ws's closeTimeout. The core
// hears onClosed only then, and always on a later turn (a socket's 'close' event is emitted
// asynchronously), never inside its own close() or terminate() call.
//
// CPU: the handshake, each inbound message and each outbound write cost CPU on the process (Node: one
// thread), so the gateway's work queues under a herd exactly as the process's event loop would.
import type { Gateway, Session } from '../../src/core/gateway.js';
import type { Connection, Frame } from '../../src/core/ports.js';
import { configSpec } from '../../src/server/config.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import { AcceptLoop } from '../kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import type { Listener } from '../kernel/tcp.js';
import type { SimEvent } from '../engine/scheduler.js';
import { frameBytes, HTTP_REFUSAL_BYTES, UPGRADE_RESPONSE_BYTES, type WireMessage } from '../net/wire.js';

export interface SimTransportSpec {
  readonly port: number;
  readonly backlog: number;
  readonly handshakeCpuMs: number;
  readonly inboundCpuMs: number;
  /** Per write() call (one syscall carrying every frame coalesced in this turn). */
  readonly writeCpuMs: number;
  /**
   * Pass the Upgrade's ?user= to admission (per-user caps). Off by default: robots name users per fleet,
   * so only scenarios that mean one person per user id turn it on.
   */
  readonly usersFromUpgrade?: boolean;
  /** The WebSocket endpoint; the server's default (src/server/config.ts server.path) when absent. */
  readonly path?: string;
}

/** The endpoint path the real server listens on unless configured otherwise. */
const DEFAULT_PATH = configSpec.server.path.default;

/** ws's closeTimeout default (ws/lib/constants.js CLOSE_TIMEOUT): how long a close waits for the peer's answer. */
export const WS_CLOSE_TIMEOUT_MS = 30_000;

type ConnState = 'http' | 'upgrading' | 'open' | 'closing' | 'closed';

class SimConnection implements Connection {
  state: ConnState = 'http';
  session: Session | null = null;
  /** The Upgrade request, kept while its handshake CPU is spent. */
  request: Extract<WireMessage, { k: 'upgrade' }> | null = null;
  closeCode = 1006;
  /** While CLOSING: destroys a connection whose peer does not answer the close frame in time. */
  closeTimer: SimEvent | null = null;

  constructor(
    readonly transport: SimTransport,
    readonly sock: TcpSocket,
  ) {}

  write(frames: readonly Frame[]): void {
    if (this.state !== 'open' || frames.length === 0) return;
    this.transport.proc.work(this.transport.spec.writeCpuMs, doWrite, { conn: this, frames });
  }

  bufferedBytes(): number {
    return this.sock.bufferedBytes();
  }

  ping(): void {
    if (this.state === 'open') this.sock.write(2, { k: 'ping' } satisfies WireMessage);
  }

  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.closeCode = code;
    this.sock.write(frameBytes(2 + reason.length, false), { k: 'close', code, reason } satisfies WireMessage);
    this.state = 'closing';
    this.closeTimer = this.transport.proc.world.sched.after(WS_CLOSE_TIMEOUT_MS, closeTimedOut, this);
  }

  terminate(): void {
    if (this.state === 'closed') return;
    this.sock.destroy();
    this.transport.ended(this, 1006);
  }
}

function closeTimedOut(c: SimConnection): void {
  c.closeTimer = null;
  if (c.state !== 'closing') return;
  c.sock.destroy();
  c.transport.ended(c, 1006);
}

interface Ended {
  readonly transport: SimTransport;
  readonly session: Session;
  readonly code: number;
}

function reportClosed(e: Ended): void {
  e.transport.stats.closed++;
  e.transport.gateway.onClosed(e.session, e.code);
}

interface WriteJob {
  readonly conn: SimConnection;
  readonly frames: readonly Frame[];
}
/**
 * Real TCP streams a big write in segments and ws parses frames as they arrive; the kernel model delivers
 * whole chunks, and a chunk larger than the reader's receive buffer would never arrive. So one write (one
 * CPU charge) reaches the socket in pieces of at most this many bytes, on frame boundaries.
 */
export const WRITE_CHUNK_BYTES = 16 * 1024;

function doWrite(j: WriteJob): void {
  if (j.conn.state !== 'open') return;
  const frames = j.frames;
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < frames.length; i++) {
    const size = frameBytes(frames[i]!.bytes.length, false);
    if (bytes + size > WRITE_CHUNK_BYTES && i > start) {
      j.conn.sock.write(bytes, { k: 'frames', frames: frames.slice(start, i) } satisfies WireMessage);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  j.conn.sock.write(bytes, { k: 'frames', frames: start === 0 ? frames : frames.slice(start) } satisfies WireMessage);
}
function handshakeDone(c: SimConnection): void {
  c.transport.upgrade(c);
}
interface InboundJob {
  readonly conn: SimConnection;
  readonly text: string;
}
function inboundDone(j: InboundJob): void {
  const s = j.conn.session;
  if (j.conn.state === 'open' && s !== null) j.conn.transport.gateway.onMessage(s, j.text);
}

export class SimTransport implements SocketHandler {
  readonly listener: Listener;
  readonly accept: AcceptLoop;
  readonly stats = { refused: 0, opened: 0, closed: 0 };
  /** Refusals by the core's reason (capacity, handshake_rate, per_ip, …): reports say what refused ours. */
  readonly refusedBy: Record<string, number> = {};

  constructor(
    readonly proc: SimProcess,
    readonly gateway: Gateway,
    readonly spec: SimTransportSpec,
  ) {
    const l = proc.listen('*', spec.port, spec.backlog);
    if (typeof l === 'string') throw new Error(`sim transport cannot listen: ${l}`);
    this.listener = l;
    this.accept = new AcceptLoop(l, proc.spec.runtime, (s) => s.attach(this, new SimConnection(this, s)));
  }

  onConnect(): void {}

  onData(sock: TcpSocket, payload: unknown): void {
    const c = sock.ctx as SimConnection;
    const msg = payload as WireMessage;
    switch (msg.k) {
      case 'upgrade':
        if (c.state !== 'http') return;
        c.state = 'upgrading';
        c.request = msg;
        this.proc.work(this.spec.handshakeCpuMs, handshakeDone, c);
        return;
      case 'text':
        if (c.state === 'open') this.proc.work(this.spec.inboundCpuMs, inboundDone, { conn: c, text: msg.text });
        return;
      case 'pong':
        if (c.state === 'open' && c.session !== null) this.gateway.onPong(c.session);
        return;
      case 'close':
        // The peer's close frame: its own close, or the answer to ours. ws reports the peer's code.
        if (c.state === 'open' || c.state === 'closing') {
          sock.close();
          this.ended(c, msg.code);
        }
        return;
      default:
        return;
    }
  }

  /** The handshake's CPU is spent: the core decides it before any upgrade (src/core/handshake.ts). */
  upgrade(c: SimConnection): void {
    if (c.state !== 'upgrading' || c.sock.state === 'CLOSED' || c.request === null) return;
    const req = c.request;
    c.request = null;
    const query = req.target.indexOf('?');
    const params = new URLSearchParams(query < 0 ? '' : req.target.slice(query + 1));
    const outcome = this.gateway.handshake(
      {
        path: query < 0 ? req.target : req.target.slice(0, query),
        upgrade: 'websocket',
        version: params.get('v'),
        protocols: req.protocols,
        peer: { ip: c.sock.remoteAddr, userId: this.spec.usersFromUpgrade === true ? String(req.user) : null },
      },
      this.spec.path ?? DEFAULT_PATH,
    );
    if (!outcome.ok) {
      this.stats.refused++;
      this.refusedBy[outcome.body.error] = (this.refusedBy[outcome.body.error] ?? 0) + 1;
      c.state = 'closed';
      const refusal: WireMessage = { k: 'http', status: outcome.status, ...(outcome.retryAfterS === null ? {} : { retryAfterMs: outcome.retryAfterS * 1000 }) };
      c.sock.write(HTTP_REFUSAL_BYTES, refusal);
      c.sock.close();
      return;
    }
    c.state = 'open';
    this.stats.opened++;
    c.sock.write(UPGRADE_RESPONSE_BYTES, { k: 'http', status: 101 } satisfies WireMessage);
    c.session = this.gateway.open(c, outcome.ticket);
  }

  onEnd(sock: TcpSocket): void {
    const c = sock.ctx as SimConnection;
    if (c.state === 'open' || c.state === 'closing') {
      sock.close();
      this.ended(c, 1006);
    } else if (c.state !== 'closed') {
      c.state = 'closed';
      sock.close();
    }
  }

  onError(sock: TcpSocket, _code: Errno): void {
    const c = sock.ctx as SimConnection;
    if (c.state === 'open' || c.state === 'closing') this.ended(c, 1006);
    c.state = 'closed';
  }

  onDrain(sock: TcpSocket): void {
    const c = sock.ctx as SimConnection;
    if (c.state === 'open' && c.session !== null) this.gateway.onWritable(c.session);
  }

  /** The connection is over; the core hears it on a later turn, as from ws's 'close' event. */
  ended(c: SimConnection, code: number): void {
    const s = c.session;
    c.state = 'closed';
    c.session = null;
    if (c.closeTimer !== null) {
      this.proc.world.sched.cancel(c.closeTimer);
      c.closeTimer = null;
    }
    if (s !== null) this.proc.world.sched.after(0, reportClosed, { transport: this, session: s, code } satisfies Ended);
  }
}
