// One end of a simulated TCP connection, and everything after the handshake: moving bytes through the
// socket buffers (sim/net/socket-buffer.ts), FIN/RST, TIME_WAIT on the side that closed first, and the
// errors a program sees. The handshake is in tcp.ts.
//
// Both ends of a connection are TcpSocket objects that point at each other (`peer`). Segments between them
// are scheduler events whose argument is the segment or the receiving socket, handled by module-level
// functions: no closure per packet.
//
// Close rules (docs/kernel.md, "Closing a connection"):
// - close() with unread received data sends RST instead of FIN; the peer sees ECONNRESET.
// - data arriving at a socket its program has closed is answered with RST (Linux tcp_rcv_state_process,
//   "abort on data"); the sender sees ECONNRESET.
// - the side whose FIN goes first is the active closer and holds TIME_WAIT; the other side just closes.
// - an orphaned FIN_WAIT2 (closed by its program, peer never sends FIN) dies after tcp_fin_timeout,
//   without TIME_WAIT.
import type { SimEvent } from '../engine/scheduler.js';
import type { Link } from '../net/link.js';
import { Pipe, type Segment } from '../net/socket-buffer.js';
import { CONNTRACK_CLOSE_MS, CONNTRACK_TIME_WAIT_MS } from './conntrack.js';
import type { Errno } from './errors.js';
import type { Host } from './host.js';
import type { Queued } from './listener.js';
import type { SimProcess } from './process.js';
import type { Listener } from './tcp.js';
import type { World } from './world.js';

/** Linux TCP_RTO_MIN: a lost data segment arrives one minimum RTO later (retransmission). */
export const TCP_RTO_MIN_MS = 200;
/** IPv4 + TCP headers with timestamps, charged to the link per segment. */
export const HEADER_BYTES = 52;

export type TcpState = 'SYN_SENT' | 'SYN_RECV' | 'QUEUED' | 'ESTABLISHED' | 'CLOSED';

/** What a program hears from its socket. One handler object serves many sockets; `s.ctx` tells them apart. */
export interface SocketHandler {
  /** Client: the handshake completed (SYN-ACK received). */
  onConnect(s: TcpSocket): void;
  onData(s: TcpSocket, payload: unknown, bytes: number): void;
  /** The peer sent FIN and every byte before it has been read. */
  onEnd(s: TcpSocket): void;
  /** The connection failed or was reset. The socket is closed and its descriptor freed. */
  onError(s: TcpSocket, code: Errno): void;
  /** Everything written has left user space. */
  onDrain(s: TcpSocket): void;
}

const noop = (): void => undefined;
export const NULL_HANDLER: SocketHandler = { onConnect: noop, onData: noop, onEnd: noop, onError: noop, onDrain: noop };

export class TcpPipe extends Pipe {
  constructor(
    readonly sender: TcpSocket,
    sndCapBytes: number,
    rcvCapBytes: number,
  ) {
    super(sndCapBytes, rcvCapBytes);
  }
}

export class TcpSocket implements Queued {
  embryoIndex = -1;
  state: TcpState;
  fd: number;
  handler: SocketHandler = NULL_HANDLER;
  ctx: unknown = null;
  peer: TcpSocket | null = null;
  readonly tx: TcpPipe;
  listener: Listener | null = null;
  /** Flowing (true) or paused reads. */
  reading = true;
  appClosed = false;
  endSeen = false;
  /** The peer's FIN arrived before this side had sent its own: the peer is the active closer. */
  peerClosedFirst = false;
  /** The link toward the peer, looked up once. */
  linkOut: Link | null = null;
  wantDrain = false;
  /** One pending timer at a time: SYN retransmit, SYN-ACK retransmit or FIN_WAIT2 timeout. */
  timer: SimEvent | null = null;
  attempts = 0;
  /** Client: retransmissions of its first data while the server ignored its ACK (tcp.ts). */
  dataRetransmits = 0;
  openedAtMs: number;
  connectedAtMs = -1;
  /** Server side: a syncookie connection, not counted in the SYN queue. */
  cookie = false;
  /** Host whose conntrack table holds an entry for this flow (set on the server side). */
  ctHost: Host | null = null;
  /** Client side: the port space key, so the port can be released. */
  dstKey = '';
  readonly id: number;

  constructor(
    readonly world: World,
    readonly host: Host,
    readonly proc: SimProcess,
    readonly isClient: boolean,
    fd: number,
    readonly localAddr: string,
    readonly localPort: number,
    readonly remoteAddr: string,
    readonly remotePort: number,
    state: TcpState,
  ) {
    this.id = world.nextSocketId++;
    this.fd = fd;
    this.state = state;
    this.openedAtMs = world.sched.nowMs;
    this.tx = new TcpPipe(this, host.sysctls.wmemBytes, 0);
  }

  get rx(): TcpPipe | null {
    return this.peer === null ? null : this.peer.tx;
  }

  /** Queues bytes for the peer; returns the buffered amount left in user space afterwards. */
  write(bytes: number, payload: unknown): number {
    if (this.state === 'CLOSED' || this.appClosed) return 0;
    this.tx.write(bytes, payload);
    pump(this);
    if (this.tx.userBytes > 0) this.wantDrain = true;
    return this.tx.userBytes;
  }

  /** Bytes accepted by write() that the kernel has not taken (Node writableLength, ws bufferedAmount). */
  bufferedBytes(): number {
    return this.tx.userBytes;
  }

  /** Bytes received and not yet read by this program. */
  unreadBytes(): number {
    return this.rx?.unreadBytes ?? 0;
  }

  pause(): void {
    this.reading = false;
  }

  resume(): void {
    if (this.reading) return;
    this.reading = true;
    this.world.sched.after(0, deliverReadable, this);
  }

  /** Sets who hears this socket's events (after accept()), then delivers anything already received. */
  attach(handler: SocketHandler, ctx: unknown): void {
    this.handler = handler;
    this.ctx = ctx;
    this.world.sched.after(0, deliverReadable, this);
  }

  /** close(2): FIN after the queued data, or RST when received data is still unread. Frees the fd now. */
  close(): void {
    if (this.appClosed) return;
    this.appClosed = true;
    this.releaseFd();
    if (this.state === 'CLOSED') {
      this.proc.sockets.delete(this);
      return;
    }
    if (this.state === 'SYN_SENT') {
      finish(this, false);
      return;
    }
    if (this.unreadBytes() > 0) {
      abort(this);
      return;
    }
    this.tx.end();
    pump(this);
  }

  /** Node socket.destroy(): drop what user space still holds, then close. */
  destroy(): void {
    this.tx.discardUser();
    this.close();
  }

  /** Abortive close (SO_LINGER 0): RST now. */
  reset(): void {
    if (!this.appClosed) {
      this.appClosed = true;
      this.releaseFd();
    }
    abort(this);
  }

  releaseFd(): void {
    if (this.fd >= 0) {
      this.proc.fds.close(this.fd);
      this.fd = -1;
    }
  }
}

function cancelTimer(s: TcpSocket): void {
  if (s.timer !== null) {
    s.world.sched.cancel(s.timer);
    s.timer = null;
  }
}

/** Arrival time of a packet from `from` toward `to`; a lost packet arrives one RTO later (retransmitted). */
export function arrivalMs(world: World, from: Host, to: Host, bytes: number, cached?: Link): number {
  const now = world.sched.nowMs;
  const link = cached ?? world.net.link(from.name, to.name);
  const t = link.transit(now, bytes + HEADER_BYTES);
  return t >= 0 ? t : now + TCP_RTO_MIN_MS + link.spec.latencyMs;
}

/** Sends whatever the window allows from `s` to its peer. */
export function pump(s: TcpSocket): void {
  const p = s.tx;
  const peer = s.peer;
  if (peer === null) return;
  const sched = s.world.sched;
  const now = sched.nowMs;
  for (let seg = p.nextSegment(); seg !== null; seg = p.nextSegment()) {
    // A FIN sent in the same instant as data rides on the last data segment (one packet: FIN|PSH), so
    // the receiver's kernel sees both before its program reacts to the data.
    const last = p.lastSegment;
    if (seg.fin && last !== null && p.lastSendMs === now && p.lastArrivalMs > now) {
      last.fin = true;
      continue;
    }
    if (s.linkOut === null) s.linkOut = s.world.net.link(s.host.name, peer.host.name);
    let t = arrivalMs(s.world, s.host, peer.host, seg.bytes, s.linkOut);
    if (t < p.lastArrivalMs) t = p.lastArrivalMs;
    p.lastArrivalMs = t;
    p.lastSendMs = now;
    p.lastSegment = seg;
    sched.at(t, onSegmentArrive, seg);
  }
  if (s.wantDrain && p.userBytes === 0 && s.state !== 'CLOSED' && !s.appClosed) {
    s.wantDrain = false;
    s.handler.onDrain(s);
  }
}

function onSegmentArrive(seg: Segment): void {
  const p = seg.pipe as TcpPipe;
  const sender = p.sender;
  const r = sender.peer;
  if (r === null || r.state === 'CLOSED' || (r.appClosed && seg.bytes > 0)) {
    // Nobody to take it, or its program closed: the receiving kernel answers with RST.
    if (r !== null && r.state !== 'CLOSED') abort(r);
    else if (sender.state !== 'CLOSED') sendRst(r?.host ?? sender.host, sender);
    return;
  }
  // The kernel moves to CLOSE_WAIT when the FIN arrives, whether or not the program has read what came
  // before it; who closed first is decided here, not when the program gets to the end of the data.
  if (seg.fin && !r.tx.finSent) {
    r.peerClosedFirst = true;
    // The closer is now in FIN_WAIT2 (its FIN is ACKed by the receiving kernel, whether or not the
    // receiving program reads it); orphaned by its program, it lives tcp_fin_timeout at most.
    if (sender.appClosed && sender.state !== 'CLOSED' && sender.timer === null) {
      sender.timer = r.world.sched.after(sender.host.sysctls.finTimeoutMs, onFinTimeout, sender);
    }
  }
  if (p.lastSegment === seg) p.lastSegment = null;
  p.arrive(seg);
  deliverReadable(r);
}

/** A call, not a property test, so TypeScript does not narrow across callbacks that may close `s`. */
function isClosed(s: TcpSocket): boolean {
  return s.state === 'CLOSED';
}

/** Hands complete chunks to a reading program; processes FIN once everything before it is read. */
export function deliverReadable(r: TcpSocket): void {
  const rx = r.rx;
  if (rx === null || r.state === 'CLOSED') return;
  const accepted = r.isClient || r.fd >= 0 || r.appClosed;
  if (accepted && !r.appClosed) {
    for (let c = r.reading ? rx.read() : null; c !== null; c = r.reading && !isClosed(r) ? rx.read() : null) {
      r.handler.onData(r, c.payload, c.bytes);
    }
    if (r.peer !== null) pump(r.peer); // window opened
  }
  if (rx.endOfStream && !r.endSeen && !isClosed(r) && (accepted || r.appClosed)) {
    r.endSeen = true;
    onPeerFin(r);
  }
}

function onPeerFin(r: TcpSocket): void {
  const sender = r.peer as TcpSocket;
  if (r.tx.finSent && !r.peerClosedFirst) {
    // We sent FIN first: we are the active closer and hold TIME_WAIT; the peer is done. The flow ended
    // with a FIN exchange, so its conntrack entry lingers in TIME_WAIT (whichever side carries it).
    releaseConntrack(r, CONNTRACK_TIME_WAIT_MS);
    releaseConntrack(sender, CONNTRACK_TIME_WAIT_MS);
    finish(r, true);
    if (sender.state !== 'CLOSED') finish(sender, false);
    return;
  }
  // Peer closed first (it will hold TIME_WAIT once we answer with our FIN; its FIN_WAIT2 timer runs
  // from the FIN's arrival, see onSegmentArrive).
  if (!r.appClosed) r.handler.onEnd(r);
}

function onFinTimeout(s: TcpSocket): void {
  s.timer = null;
  if (s.state !== 'CLOSED') finish(s, false);
}

/** The connection is over for `s`. `timeWait`: `s` closed first and parks its 4-tuple. */
export function finish(s: TcpSocket, timeWait: boolean): void {
  if (s.state === 'CLOSED') return;
  const world = s.world;
  const now = world.sched.nowMs;
  s.state = 'CLOSED';
  cancelTimer(s);
  if (s.listener !== null) s.listener.q.removeEmbryo(s);
  if (s.isClient) {
    s.host.ports.release(s.localAddr, s.dstKey, s.localPort, now, timeWait);
  } else if (timeWait) {
    s.host.enterServerTimeWait(now);
  }
  // Reaching here with an entry means the flow did not end in a FIN exchange (RST, timeout, eviction).
  releaseConntrack(s, CONNTRACK_CLOSE_MS);
  if (s.appClosed) s.proc.sockets.delete(s);
}

function releaseConntrack(s: TcpSocket, lingerMs: number): void {
  if (s.ctHost !== null && s.ctHost.conntrack !== null) s.ctHost.conntrack.releaseAfter(lingerMs);
  s.ctHost = null;
}

/** Local failure or reset: closes `s`, frees its descriptor (the runtime closes failed sockets) and tells its program. */
export function fail(s: TcpSocket, code: 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT'): void {
  if (s.state === 'CLOSED') return;
  finish(s, false);
  const silent = s.appClosed;
  s.appClosed = true;
  s.releaseFd();
  s.proc.sockets.delete(s);
  if (!silent) s.handler.onError(s, code);
}

/** `s` aborts: RST to the peer, `s` closes without TIME_WAIT. */
export function abort(s: TcpSocket): void {
  const peer = s.peer;
  if (s.state === 'CLOSED') return;
  finish(s, false);
  if (!s.appClosed) {
    s.appClosed = true;
    s.releaseFd();
  }
  s.proc.sockets.delete(s);
  if (peer !== null && peer.state !== 'CLOSED') sendRst(s.host, peer);
}

/** A RST from host `from` toward socket `to`. */
export function sendRst(from: Host, to: TcpSocket): void {
  const t = arrivalMs(to.world, from, to.host, 0);
  to.world.sched.at(t, onRstArrive, to);
}

function onRstArrive(s: TcpSocket): void {
  if (s.state === 'CLOSED') return;
  if (s.listener !== null && s.state === 'SYN_RECV') {
    finish(s, false);
    return;
  }
  fail(s, s.state === 'SYN_SENT' ? 'ECONNREFUSED' : 'ECONNRESET');
}
