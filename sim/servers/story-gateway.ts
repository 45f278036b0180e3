// A gateway that behaves like the stories' Go servers (docs/lab.md, "The field stories"), on the kernel model. Not our
// gateway: a small model of theirs, configured per story through `StoryGatewaySpec`.
//
// Per connection, like the gorilla/websocket chat pattern the stories describe: a reader and a writer
// goroutine, a send channel of `sendBufferMessages`; a broadcast that finds the channel full closes the
// client (the story's rule, "closes a client whose buffer is full"); a writer blocked on a full socket
// longer than `writeWaitMs` closes it. No admission control unless the spec gives a slot semaphore.
// CPU: every handshake, inbound and outbound message costs CPU on the process's cores, stretched by GC
// pressure (memory.ts), so a herd queues.
import type { SimEvent } from '../engine/scheduler.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import { AcceptLoop } from '../kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import type { Listener } from '../kernel/tcp.js';
import { frameBytes, UPGRADE_RESPONSE_BYTES, HTTP_REFUSAL_BYTES, type WireMessage } from '../net/wire.js';

export interface StoryGatewaySpec {
  readonly port: number;
  /** listen() backlog as the server asks for it (the kernel clamps to somaxconn). */
  readonly backlog: number;
  /** CPU per WebSocket upgrade (HTTP parse, Sec-WebSocket-Accept, goroutine start). */
  readonly handshakeCpuMs: number;
  /** CPU per message read from a client / written to a client. */
  readonly inboundCpuMs: number;
  readonly outboundCpuMs: number;
  /** Memory charged per open connection (buffers, goroutine stacks, channel). */
  readonly perConnectionBytes: number;
  readonly sendBufferMessages: number;
  readonly writeWaitMs: number;
  /** Handling of a bet: CPU, then a round trip to the game service, then a reply to the bettor. */
  readonly betCpuMs: number;
  readonly gameServiceMs: number;
  /** Relay each accepted bet to every player (a game that shows everyone's bets): a herd of bets fills send buffers. */
  readonly relayBets?: boolean;
  /** Slot semaphore (cloudrun story): at most `slots` connections; a handshake waits ≤ waitMs, then 503. */
  readonly slots: number | null;
  readonly slotWaitMs: number;
}

interface Session {
  readonly sock: TcpSocket;
  upgraded: boolean;
  closed: boolean;
  queue: WireMessage[];
  writing: boolean;
  blockedTimer: SimEvent | null;
}

export interface StoryGatewayStats {
  upgrades: number;
  refused503: number;
  closedSlow: number;
  closedWriteWait: number;
  messagesOut: number;
  peakSessions: number;
}

const BET_OK: WireMessage = { k: 'ws', kind: 'betOk' };
const BET_SEEN: WireMessage = { k: 'ws', kind: 'betSeen' };

export class StoryGateway implements SocketHandler {
  readonly listener: Listener;
  readonly accept: AcceptLoop;
  readonly sessions = new Set<Session>();
  readonly stats: StoryGatewayStats = { upgrades: 0, refused503: 0, closedSlow: 0, closedWriteWait: 0, messagesOut: 0, peakSessions: 0 };

  constructor(
    readonly proc: SimProcess,
    readonly spec: StoryGatewaySpec,
  ) {
    const l = proc.listen('*', spec.port, spec.backlog);
    if (typeof l === 'string') throw new Error(`story gateway cannot listen: ${l}`);
    this.listener = l;
    this.accept = new AcceptLoop(l, proc.spec.runtime, (s) => this.onAccept(s));
  }

  private onAccept(sock: TcpSocket): void {
    const sess: Session = { sock, upgraded: false, closed: false, queue: [], writing: false, blockedTimer: null };
    sock.attach(this, sess);
  }

  onConnect(): void {}

  onData(sock: TcpSocket, payload: unknown): void {
    const sess = sock.ctx as Session;
    const msg = payload as WireMessage;
    if (sess.closed) return;
    if (msg.k === 'upgrade') {
      this.proc.work(this.spec.handshakeCpuMs, upgradeDone, { gw: this, sess });
      return;
    }
    if (msg.k === 'ws') {
      this.proc.work(this.spec.inboundCpuMs, inboundDone, { gw: this, sess, msg });
      return;
    }
    if (msg.k === 'close') this.drop(sess);
  }

  onEnd(sock: TcpSocket): void {
    this.drop(sock.ctx as Session);
  }

  onError(sock: TcpSocket, _code: Errno): void {
    const sess = sock.ctx as Session;
    if (!sess.closed) {
      sess.closed = true;
      this.forget(sess);
    }
  }

  onDrain(sock: TcpSocket): void {
    const sess = sock.ctx as Session;
    if (sess.blockedTimer !== null) {
      this.proc.world.sched.cancel(sess.blockedTimer);
      sess.blockedTimer = null;
    }
    if (!sess.closed && sess.writing) this.writeNext(sess);
  }

  completeUpgrade(sess: Session): void {
    if (sess.closed || sess.sock.state === 'CLOSED') return;
    if (this.spec.slots !== null && this.sessions.size >= this.spec.slots) {
      // The story's semaphore: wait up to slotWaitMs for a slot, then 503 (modelled as one re-check).
      this.proc.world.sched.after(this.spec.slotWaitMs, slotRecheck, { gw: this, sess });
      return;
    }
    this.admit(sess);
  }

  recheckSlot(sess: Session): void {
    if (sess.closed || sess.sock.state === 'CLOSED') return;
    if (this.spec.slots !== null && this.sessions.size >= this.spec.slots) {
      this.stats.refused503++;
      sess.sock.write(HTTP_REFUSAL_BYTES, { k: 'http', status: 503 } satisfies WireMessage);
      sess.closed = true;
      sess.sock.close();
      return;
    }
    this.admit(sess);
  }

  private admit(sess: Session): void {
    if (!this.proc.mem.charge(this.spec.perConnectionBytes)) return; // OOM: the process is gone
    sess.upgraded = true;
    this.sessions.add(sess);
    if (this.sessions.size > this.stats.peakSessions) this.stats.peakSessions = this.sessions.size;
    this.stats.upgrades++;
    sess.sock.write(UPGRADE_RESPONSE_BYTES, { k: 'http', status: 101 } satisfies WireMessage);
  }

  handleInbound(sess: Session, msg: WireMessage): void {
    if (sess.closed || msg.k !== 'ws') return;
    if (msg.kind === 'bet') {
      this.proc.work(this.spec.betCpuMs, betProcessed, { gw: this, sess });
    }
  }

  betReply(sess: Session): void {
    this.enqueue(sess, BET_OK);
    if (this.spec.relayBets === true) this.broadcast(BET_SEEN);
  }

  /** Sends `msg` to every upgraded session (one message object shared by all). */
  broadcast(msg: WireMessage): void {
    for (const sess of [...this.sessions]) this.enqueue(sess, msg);
  }

  enqueue(sess: Session, msg: WireMessage): void {
    if (sess.closed) return;
    if (sess.queue.length >= this.spec.sendBufferMessages) {
      this.stats.closedSlow++;
      this.drop(sess);
      return;
    }
    sess.queue.push(msg);
    if (!sess.writing) {
      sess.writing = true;
      this.writeNext(sess);
    }
  }

  writeNext(sess: Session): void {
    if (sess.closed) return;
    if (sess.queue.length === 0) {
      sess.writing = false;
      return;
    }
    this.proc.work(this.spec.outboundCpuMs, writeDone, { gw: this, sess });
  }

  writeOne(sess: Session): void {
    if (sess.closed) return;
    const msg = sess.queue.shift();
    if (msg === undefined) {
      sess.writing = false;
      return;
    }
    this.stats.messagesOut++;
    const buffered = sess.sock.write(frameBytes(40, false), msg);
    if (buffered > 0) {
      // The socket is full: the writer goroutine blocks until drain or the write deadline.
      sess.blockedTimer = this.proc.world.sched.after(this.spec.writeWaitMs, writeWaitExpired, { gw: this, sess });
      return;
    }
    this.writeNext(sess);
  }

  writeWaitExpired(sess: Session): void {
    sess.blockedTimer = null;
    if (sess.closed) return;
    this.stats.closedWriteWait++;
    this.drop(sess);
  }

  /** The server closes a session (gorilla: close frame, then conn.Close()). */
  drop(sess: Session): void {
    if (sess.closed) return;
    sess.closed = true;
    if (sess.upgraded) sess.sock.write(frameBytes(2, false), { k: 'close', code: 1000, reason: '' } satisfies WireMessage);
    sess.sock.close();
    this.forget(sess);
  }

  private forget(sess: Session): void {
    if (sess.blockedTimer !== null) this.proc.world.sched.cancel(sess.blockedTimer);
    sess.blockedTimer = null;
    if (this.sessions.delete(sess)) this.proc.mem.release(this.spec.perConnectionBytes);
  }
}

interface Job {
  readonly gw: StoryGateway;
  readonly sess: Session;
}

function upgradeDone(j: Job): void {
  j.gw.completeUpgrade(j.sess);
}
function slotRecheck(j: Job): void {
  j.gw.recheckSlot(j.sess);
}
function inboundDone(j: Job & { readonly msg: WireMessage }): void {
  j.gw.handleInbound(j.sess, j.msg);
}
function betProcessed(j: Job): void {
  j.gw.proc.world.sched.after(j.gw.spec.gameServiceMs, betReplied, j);
}
function betReplied(j: Job): void {
  j.gw.betReply(j.sess);
}
function writeDone(j: Job): void {
  j.gw.writeOne(j.sess);
}
function writeWaitExpired(j: Job): void {
  j.gw.writeWaitExpired(j.sess);
}
