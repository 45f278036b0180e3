// Finds dead peers (docs/protocol.md, "Heartbeats"; docs/operations.md, "Heartbeats"). It mirrors the
// client's heartbeat (src/client/heartbeat.ts): our client pings every heartbeatMs, so a session that sent
// anything since the last check is alive and is not pinged — one round trip per interval, not two. A
// silent one is pinged and has heartbeatTimeoutMs to answer with a pong or any message, else it is
// terminated (no close handshake with a peer that does not answer). A dead peer is therefore found between
// heartbeatMs + heartbeatTimeoutMs and 2 × heartbeatMs + heartbeatTimeoutMs after the last thing it sent.
//
// One timer for every session, not one per session (docs/benchmarks.md, "A lighter connection": a timer,
// its handle and its closures were ~0.5 KB of every idle connection). A session waits for one of three
// fixed delays, so each delay's waiting sessions form a FIFO whose due times only grow: a session is
// appended to its list (an intrusive doubly linked list through the session's own fields, so waiting
// allocates nothing and a closing session leaves in O(1)), and the one Clock timer is armed for the
// earliest head. Due times stay exact; sessions due at the same instant are handled in one firing.
import type { CoreContext } from './context.js';
import type { Timer } from './ports.js';
import type { Session } from './session.js';

/** What a session waits for: its next check, a pong to a ping, or the rest of an interval after a pong. */
const Wait = { check: 0, pong: 1, rest: 2 } as const;
type Wait = (typeof Wait)[keyof typeof Wait];

/** Sessions waiting for the same delay, in the order they were armed (so in due order). */
export class DueList {
  head: Session | null = null;
  private tail: Session | null = null;

  constructor(readonly wait: Wait) {}

  append(session: Session): void {
    session.hbList = this;
    session.hbPrev = this.tail;
    session.hbNext = null;
    if (this.tail === null) this.head = session;
    else this.tail.hbNext = session;
    this.tail = session;
  }

  remove(session: Session): void {
    if (session.hbPrev === null) this.head = session.hbNext;
    else session.hbPrev.hbNext = session.hbNext;
    if (session.hbNext === null) this.tail = session.hbPrev;
    else session.hbNext.hbPrev = session.hbPrev;
    session.hbList = null;
    session.hbPrev = null;
    session.hbNext = null;
  }
}

export class Heartbeat {
  private readonly lists = [new DueList(Wait.check), new DueList(Wait.pong), new DueList(Wait.rest)] as const;
  private readonly delays: readonly [number, number, number];
  private timer: Timer | null = null;
  private timerDueMs = Number.POSITIVE_INFINITY;
  private readonly fire = (): void => this.run();

  constructor(private readonly ctx: CoreContext) {
    const { heartbeatMs, heartbeatTimeoutMs } = ctx.options;
    this.delays = [heartbeatMs, heartbeatTimeoutMs, Math.max(0, heartbeatMs - heartbeatTimeoutMs)];
  }

  /** Starts checking a session that just opened (it leaves its list through Session.stopTimers). */
  start(session: Session): void {
    this.arm(session, Wait.check);
  }

  /** Sessions waiting now (tests: a closed session must not stay referenced). */
  waiting(): number {
    let n = 0;
    for (const list of this.lists) for (let s = list.head; s !== null; s = s.hbNext) n++;
    return n;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerDueMs = Number.POSITIVE_INFINITY;
  }

  private arm(session: Session, wait: Wait): void {
    session.hbDueMs = this.ctx.clock.nowMs() + this.delays[wait];
    this.lists[wait].append(session);
    if (session.hbDueMs < this.timerDueMs) this.schedule(session.hbDueMs);
  }

  private schedule(dueMs: number): void {
    this.timer?.cancel();
    this.timerDueMs = dueMs;
    this.timer = this.ctx.clock.setTimer(dueMs - this.ctx.clock.nowMs(), this.fire);
  }

  private run(): void {
    this.timer = null;
    this.timerDueMs = Number.POSITIVE_INFINITY;
    const now = this.ctx.clock.nowMs();
    // A session handled here is appended again with a positive delay (or, for `rest` = 0, moves on to a
    // check that appends it with heartbeatMs), so each list is drained of what is due and the loop ends.
    for (let due = true; due;) {
      due = false;
      for (const list of this.lists) {
        for (let s = list.head; s !== null && s.hbDueMs <= now; s = list.head) {
          list.remove(s);
          due = true;
          this.handle(s, list.wait);
        }
      }
    }
    let next = Number.POSITIVE_INFINITY;
    for (const list of this.lists) if (list.head !== null && list.head.hbDueMs < next) next = list.head.hbDueMs;
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
  }

  private handle(session: Session, wait: Wait): void {
    if (session.state !== 'open') return;
    if (wait === Wait.pong) {
      if (!session.heard) {
        this.ctx.telemetry.log('debug', 'heartbeat overdue; terminating', { session: session.id });
        session.conn.terminate();
        return;
      }
      session.heard = false;
      this.arm(session, Wait.rest);
      return;
    }
    // Once per interval: a queue that kept its arrays for a busy moment gives them up if it is empty now,
    // and a full rate limiter is forgotten (the next message makes a new, equally full one).
    session.queue.trim();
    if (session.inbound?.isFull(this.ctx.clock.nowMs()) === true) session.inbound = null;
    if (session.heard) {
      session.heard = false;
      this.arm(session, Wait.check);
      return;
    }
    session.conn.ping();
    this.arm(session, Wait.pong);
  }
}
