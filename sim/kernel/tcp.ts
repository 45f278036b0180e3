// The TCP handshake between simulated hosts (docs/kernel.md, "The handshake and its
// retransmissions"), and the listening socket.
//
// Client side (connect): descriptor (EMFILE) → ephemeral port (EADDRNOTAVAIL) → SYN; retransmit the SYN on
// the host's SynPlan (Linux 1, 3, 7, 15, 31, 63 s → ETIMEDOUT at 127 s; macOS → 75 s connect timer);
// SYN-ACK → ESTABLISHED (the client now believes it is connected and may send data); RST in SYN_SENT →
// ECONNREFUSED.
// Server side: SYN → conntrack (full → drop) → listener verdict (listener.ts) → SYN-ACK; final ACK →
// accept queue, or on a full Linux accept queue ignored (or RST with tcp_abort_on_overflow) while the
// SYN-ACK is retransmitted (1, 3, 7, 15, 31 s; the request is dropped at 63 s and the client's next segment
// meets a RST → ECONNRESET). A final ACK that reaches a closed listener (a syncookie connection outlives
// it: the listener held no state to reset) is answered with RST.
//
// Cost: a clean handshake is three scheduler events (SYN, SYN-ACK, ACK) plus the client's SYN timer, which
// is cancelled when the SYN-ACK arrives. Server-side timers are armed only on the paths that need them
// (lost SYN-ACK, ignored ACK).
import { CONNTRACK_SYN_SENT_MS } from './conntrack.js';
import type { Errno } from './errors.js';
import { type Host, timerWheelFireMs } from './host.js';
import { ListenQueues } from './listener.js';
import { BOUND } from './ports.js';
import type { SimProcess } from './process.js';
import { TCP_RTO_MIN_MS, arrivalMs, fail, finish, pump, sendRst, type SocketHandler, TcpSocket } from './socket.js';

/** A listening socket: its queues, owner process and the callback its runtime installs. */
export class Listener {
  readonly q: ListenQueues<TcpSocket>;
  closed = false;
  /** Virtual time of the first SYN this listener dropped, or -1. */
  firstDropAtMs = -1;
  /** Called when the accept queue goes from empty to non-empty or grows (the runtime's readiness event). */
  onReadable: (l: Listener) => void = () => undefined;

  constructor(
    readonly proc: SimProcess,
    readonly addr: string,
    readonly port: number,
    readonly fd: number,
    backlog: number,
  ) {
    this.q = new ListenQueues<TcpSocket>(backlog, proc.host.sysctls, proc.world.rng.fork(`listener:${proc.host.name}:${port}`));
  }

  get key(): string {
    return `${this.addr}:${this.port}`;
  }

  /** accept(2): the oldest completed connection with a new descriptor; EMFILE leaves it queued. */
  accept(): TcpSocket | 'EAGAIN' | 'EMFILE' {
    for (;;) {
      const c = this.q.peekAccept();
      if (c === undefined) return 'EAGAIN';
      if (c.state === 'CLOSED') {
        this.q.shiftAccept();
        continue;
      }
      const fd = this.proc.fds.open();
      if (fd === 'EMFILE') return 'EMFILE';
      this.q.shiftAccept();
      c.fd = fd;
      c.state = 'ESTABLISHED';
      this.proc.sockets.add(c);
      return c;
    }
  }

  /** close(2) on the listening socket: every queued connection is reset (inet_csk_listen_stop). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.proc.host.listeners.delete(this.key);
    if (this.fd >= 0) this.proc.fds.close(this.fd);
    for (const c of this.q.drainAll()) {
      c.listener = null;
      c.embryoIndex = -1;
      const peer = c.peer;
      finish(c, false);
      if (peer !== null) sendRst(c.host, peer);
    }
  }
}

export interface ConnectOptions {
  /** Source address (one of the host's); more addresses give more port space. */
  readonly srcAddr?: string;
  /**
   * bind(srcAddr, 0) before connect(), as a client that sets its local address does: the port is then
   * exclusive to the address across destinations, without tcp_tw_reuse; exhaustion is EADDRINUSE (ports.ts).
   */
  readonly bind?: boolean;
}

/** connect(2), non-blocking: a socket in SYN_SENT, or the errno of a synchronous failure. */
export function connect(
  proc: SimProcess,
  dstAddr: string,
  dstPort: number,
  handler: SocketHandler,
  ctx: unknown,
  opts: ConnectOptions = {},
): TcpSocket | Errno {
  const host = proc.host;
  const world = proc.world;
  const fd = proc.fds.open();
  if (fd === 'EMFILE') return 'EMFILE';
  const src = opts.srcAddr ?? host.addresses[0]!;
  const bound = opts.bind === true;
  const dstKey = bound ? BOUND : `${dstAddr}:${dstPort}`;
  const port = bound ? host.ports.bind(src, world.sched.nowMs) : host.ports.allocate(src, dstKey, world.sched.nowMs, host.twReuseFor(src, dstAddr));
  if (typeof port === 'string') {
    proc.fds.close(fd);
    return port;
  }
  const s = new TcpSocket(world, host, proc, true, fd, src, port, dstAddr, dstPort, 'SYN_SENT');
  s.handler = handler;
  s.ctx = ctx;
  s.dstKey = dstKey;
  proc.sockets.add(s);
  sendSyn(s);
  armSynTimer(s);
  return s;
}

/**
 * The next SYN timer: the plan's gap since the previous SYN, on the timer wheel (timerWheelFireMs), so
 * clients that sent their SYNs within one wheel slot retransmit together — as a batch, which can fill a
 * SYN queue that the same clients one by one would not (the parity suite's cookies-off row).
 */
function armSynTimer(s: TcpSocket): void {
  const plan = s.host.synPlan;
  const at = s.attempts < plan.retransmitAtMs.length ? (plan.retransmitAtMs[s.attempts] as number) : plan.giveUpAtMs;
  const prev = s.attempts === 0 ? 0 : (plan.retransmitAtMs[s.attempts - 1] as number);
  s.timer = s.world.sched.at(timerWheelFireMs(s.world.sched.nowMs, at - prev, s.host.sysctls.timerHz), onSynTimer, s);
}

function onSynTimer(s: TcpSocket): void {
  s.timer = null;
  if (s.state !== 'SYN_SENT') return;
  if (s.attempts < s.host.synPlan.retransmitAtMs.length) {
    s.attempts++;
    sendSyn(s);
    armSynTimer(s);
    return;
  }
  const dst = s.world.hostByAddr(s.remoteAddr);
  if (dst !== undefined && dst.conntrack !== null && s.peer === null && s.ctHost === dst) {
    // An unanswered flow's entry lives nf_conntrack_tcp_timeout_syn_sent after its last SYN.
    dst.conntrack.releaseAfter(CONNTRACK_SYN_SENT_MS);
    s.ctHost = null;
  }
  fail(s, 'ETIMEDOUT');
}

function sendSyn(c: TcpSocket): void {
  const dst = c.world.hostByAddr(c.remoteAddr);
  if (dst === undefined) return; // no route: the SYN vanishes, the client times out
  const link = c.world.net.link(c.host.name, dst.name);
  const t = link.transit(c.world.sched.nowMs, 60);
  if (t < 0) return; // lost: the retransmission timer covers it
  c.world.sched.at(t, onSynArrive, c);
}

function onSynArrive(c: TcpSocket): void {
  if (c.state !== 'SYN_SENT') return; // a retransmitted SYN overtaken by events
  const host = c.world.hostByAddr(c.remoteAddr) as Host;
  const existing = c.peer;
  if (existing !== null && existing.state === 'SYN_RECV') {
    sendSynAck(existing); // duplicate SYN for a live request: answer again (tcp_check_req)
    return;
  }
  if (host.conntrack !== null && c.ctHost !== host) {
    if (!host.conntrack.admit()) return; // "table full, dropping packet"
    c.ctHost = host;
  }
  const l = host.listenerFor(c.remoteAddr, c.remotePort);
  if (l === undefined || l.closed) {
    sendRst(host, c);
    return;
  }
  const verdict = l.q.onSyn();
  if (verdict === 'drop-syn-queue-full' || verdict === 'drop-accept-queue-full' || verdict === 'drop-syn-backlog') {
    if (l.firstDropAtMs < 0) l.firstDropAtMs = c.world.sched.nowMs;
    return;
  }
  if (verdict === 'evict-then-queue') evict(l.q.pickEvictee());
  const srv = new TcpSocket(c.world, host, l.proc, false, -1, c.remoteAddr, c.remotePort, c.localAddr, c.localPort, 'SYN_RECV');
  srv.listener = l;
  // The flow's conntrack entry is released when the connection ends; the server side carries it.
  srv.ctHost = c.ctHost;
  c.ctHost = null;
  srv.peer = c;
  c.peer = srv;
  c.tx.rcvCapBytes = host.sysctls.rmemBytes;
  srv.tx.rcvCapBytes = c.host.sysctls.rmemBytes;
  if (verdict === 'cookie') srv.cookie = true;
  else l.q.addEmbryo(srv);
  sendSynAck(srv);
}

/** bsd: a random embryonic connection makes room; tcp_drop on a SYN_RECEIVED socket emits RST (derived). */
function evict(victim: TcpSocket): void {
  const client = victim.peer;
  finish(victim, false);
  if (client !== null) sendRst(victim.host, client);
}

function sendSynAck(srv: TcpSocket): void {
  const c = srv.peer as TcpSocket;
  const link = srv.world.net.link(srv.host.name, c.host.name);
  const t = link.transit(srv.world.sched.nowMs, 60);
  if (t >= 0) srv.world.sched.at(t, onSynAckArrive, c);
  // A lost SYN-ACK needs the retransmit timer (a cookie connection keeps no state, so no timer).
  else if (!srv.cookie) armSynAckTimer(srv);
}

/** SYN-ACK retransmits: RTO 1 s doubling (TCP_TIMEOUT_INIT), tcp_synack_retries of them, then give up. */
function armSynAckTimer(srv: TcpSocket): void {
  if (srv.timer !== null) return;
  const retries = srv.host.sysctls.tcpSynackRetries;
  const rto = srv.host.sysctls.synRtoInitialMs;
  // Cumulative: attempt k (1-based) at rto·(2^k − 1); the request dies one RTO after the last: rto·(2^(n+1) − 1).
  // The kernel's request timer runs from creation; ours is armed lazily (only on the paths that need it),
  // so slots that already passed count as spent retransmissions.
  const now = srv.world.sched.nowMs;
  const slot = (k: number): number => srv.openedAtMs + rto * (2 ** Math.min(k, retries + 1) - 1);
  while (slot(srv.attempts + 1) <= now && srv.attempts < retries) srv.attempts++;
  srv.timer = srv.world.sched.at(Math.max(now, slot(srv.attempts + 1)), onSynAckTimer, srv);
}

function onSynAckTimer(srv: TcpSocket): void {
  srv.timer = null;
  if (srv.state !== 'SYN_RECV') return;
  if (srv.attempts < srv.host.sysctls.tcpSynackRetries) {
    srv.attempts++;
    sendSynAck(srv);
    armSynAckTimer(srv);
    return;
  }
  // Request dropped. A client that believes it is connected learns on its next segment: RST → ECONNRESET.
  // That segment may be its FIN alone: a client that closed meanwhile has been retransmitting it (Linux
  // FIN_WAIT1), and the listener, which no longer knows the flow, answers it with RST (tcp_rcv_state_process
  // in LISTEN: an ACK → reset), which reaps the orphaned socket.
  const c = srv.peer;
  finish(srv, false);
  if (c !== null && c.state === 'ESTABLISHED') {
    c.tx.open = true; // its data and FIN will now meet a closed socket
    if (c.tx.unsentBytes > 0 || c.tx.finQueued) pump(c);
    else if (c.tx.userBytes === 0) c.world.sched.at(arrivalMs(c.world, c.host, srv.host, 0), probeDeadPeer, c);
  }
}

/** A client whose request vanished and that has nothing to send learns of it when it next writes. */
function probeDeadPeer(c: TcpSocket): void {
  if (c.state === 'ESTABLISHED' && c.tx.unsentBytes > 0) pump(c);
}

function onSynAckArrive(c: TcpSocket): void {
  const srv = c.peer;
  if (srv === null) return;
  if (c.state === 'CLOSED') {
    if (srv.state !== 'CLOSED') sendRst(c.host, srv);
    return;
  }
  if (c.state === 'SYN_SENT') {
    if (c.timer !== null) {
      c.world.sched.cancel(c.timer);
      c.timer = null;
    }
    c.state = 'ESTABLISHED';
    c.connectedAtMs = c.world.sched.nowMs;
    sendAck(c);
    c.handler.onConnect(c);
    return;
  }
  if (srv.state === 'SYN_RECV') sendAck(c); // retransmitted SYN-ACK: ACK again
}

function sendAck(c: TcpSocket): void {
  const srv = c.peer as TcpSocket;
  const link = c.world.net.link(c.host.name, srv.host.name);
  const t = link.transit(c.world.sched.nowMs, 52);
  if (t >= 0) c.world.sched.at(t, onAckArrive, srv);
  else armSynAckTimer(srv); // lost ACK: the server's SYN-ACK retransmit (or the client's data) repeats it
}

function onAckArrive(srv: TcpSocket): void {
  if (srv.state !== 'SYN_RECV') return;
  const l = srv.listener;
  if (l === null || l.closed) {
    // Only a syncookie connection gets here (closing a listener resets the requests it holds): no socket
    // on this port knows the flow, and the host answers the ACK with RST.
    finish(srv, false);
    if (srv.peer !== null) sendRst(srv.host, srv.peer);
    return;
  }
  if (!l.q.complete(srv)) {
    if (srv.host.sysctls.tcpAbortOnOverflow) {
      const c = srv.peer;
      finish(srv, false);
      if (c !== null) sendRst(srv.host, c);
    } else {
      // A request stays and its SYN-ACK is retransmitted (each answered with the ACK again). A cookie
      // keeps no state: only the client's retransmitted data (its HTTP Upgrade), each copy carrying the
      // ACK again, can complete it — the path by which a queue that starts draining lets it in within a
      // fraction of a second. (A request's client retransmits its data too; the model leaves that to
      // the SYN-ACK retransmissions, which are slower: docs/kernel.md.)
      const c = srv.peer;
      if (srv.cookie && c !== null && c.tx.unsentBytes > 0) armDataRetransmit(c);
      else armSynAckTimer(srv); // for a cookie with nothing to send: a stand-in for the client's later segments
    }
    return;
  }
  if (srv.timer !== null) {
    srv.world.sched.cancel(srv.timer);
    srv.timer = null;
  }
  srv.state = 'QUEUED';
  srv.connectedAtMs = srv.world.sched.nowMs;
  const c = srv.peer as TcpSocket;
  c.tx.open = true;
  srv.tx.open = true;
  pump(c); // the client's early data (the HTTP Upgrade) lands in the new socket's receive buffer
  l.onReadable(l);
}

/** Retransmissions of a client's first data segment whose ACK was ignored, before it gives up (tcp_retries2). */
const DATA_RETRANSMITS_MAX = 15;

/**
 * The client's retransmission timer for data sent in the same breath as its ACK: RTO from TCP_RTO_MIN
 * (200 ms, the handshake's RTT sample on a fast path), doubling, tcp_retries2 (15) of them. Each copy
 * carries the ACK again (tcp_check_req / cookie_v4_check on the listener).
 */
function armDataRetransmit(c: TcpSocket): void {
  if (c.state !== 'ESTABLISHED' || c.timer !== null) return;
  c.timer = c.world.sched.after(TCP_RTO_MIN_MS * 2 ** c.dataRetransmits, onDataRetransmit, c);
  c.dataRetransmits++;
}

function onDataRetransmit(c: TcpSocket): void {
  c.timer = null;
  const srv = c.peer;
  if (c.state !== 'ESTABLISHED' || srv === null || srv.state !== 'SYN_RECV') return;
  if (c.dataRetransmits >= DATA_RETRANSMITS_MAX) {
    // tcp_retries2 exhausted: the connection times out (the server never held it).
    finish(srv, false);
    fail(c, 'ETIMEDOUT');
    return;
  }
  sendAck(c);
}

export { TcpSocket };
