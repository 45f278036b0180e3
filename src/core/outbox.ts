// Everything that goes into a session's queue: live events as the slow-client policy decides
// (src/core/slow-client-policy.ts), replayed events, gap notices, answers and errors, and throttle notices
// when the session changes level. Each item marks the session dirty, so the writer (src/core/writer.ts)
// sends it this turn; the policy's last resort, closing a slow consumer, is the writer's too.
import type { CoreContext } from './context.js';
import { encodeMessage } from './codec.js';
import type { EventRecord } from './history.js';
import { M } from './metrics.js';
import type { ChannelClass } from './options.js';
import type { ErrorCode, GapReason, ServerMessage } from './protocol.js';
import type { Session } from './session.js';
import type { SlowClientPolicy } from './slow-client-policy.js';
import type { Writer } from './writer.js';

export class Outbox {
  constructor(
    private readonly ctx: CoreContext,
    private readonly policy: SlowClientPolicy,
    private readonly writer: Writer,
  ) {}

  /** A live event for `session`: conflated, shed, queued after making room, held over the bound, or the end. */
  event(session: Session, record: EventRecord, cls: ChannelClass): void {
    const { queueBytesMax } = this.ctx.options.outbound;
    const pressure = session.queue.bytes + session.conn.bufferedBytes();
    const level = this.rethrottle(session, pressure / queueBytesMax);
    const size = record.frame.bytes.byteLength;
    this.writer.hold(session, cls.writeDelayMs ?? this.ctx.options.outbound.writeDelayMs);
    if (this.policy.conflates(level, cls) && session.queue.conflate(record)) return this.countGap('conflated');
    switch (this.policy.onEvent(pressure, size, level, cls)) {
      case 'shed':
        session.queue.shed(record, 'shed');
        return this.countGap('shed');
      case 'evict_or_close':
        if (!session.queue.evictBelow('critical', pressure + size - queueBytesMax)) return this.writer.slowClose(session);
        break;
      case 'evict_or_hold':
        // Critical events are never shed. Hold this one over the bound for a while; a client that does not
        // catch up in time is closed and resumes from history (nothing is lost silently, I3).
        if (!session.queue.evictBelow('critical', pressure + size - queueBytesMax)) this.holdOverBound(session);
        break;
      case 'push':
        break;
    }
    session.queue.pushEvent(record, cls.priority);
  }

  /** A replayed event: the client asked for it, so it is never shed (critical). */
  replayed(session: Session, record: EventRecord): void {
    session.queue.pushEvent(record, 'critical');
    this.writer.markDirty(session);
  }

  gap(session: Session, channel: string, from: number, to: number, reason: GapReason): void {
    this.countGap(reason);
    this.send(session, { type: 'gap', ch: channel, from, to, reason });
  }

  send(session: Session, message: ServerMessage): void {
    if (session.state !== 'open') return;
    session.queue.pushControl(encodeMessage(message));
    this.afterControl(session);
  }

  /** A `subscribed` reply: what follows it belongs to the new subscription (src/core/outbound-queue.ts). */
  boundary(session: Session, message: ServerMessage): void {
    session.queue.pushBoundary(encodeMessage(message));
    this.afterControl(session);
  }

  error(session: Session, code: ErrorCode, message: string, id?: number): void {
    this.ctx.telemetry.count(M.protocolErrors, { code });
    this.send(session, id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });
  }

  /** After a write: the socket's buffer alone decides the level (the queue is empty). */
  afterWrite(session: Session): void {
    this.rethrottle(session, session.conn.bufferedBytes() / this.ctx.options.outbound.queueBytesMax);
  }

  private afterControl(session: Session): void {
    this.writer.markDirty(session);
    if (this.policy.closesOnControl(session.queue.bytes, session.conn.bufferedBytes())) this.writer.slowClose(session);
  }

  /** Moves the session to the policy's level for `fill`, with a notice when it changes; returns the level. */
  private rethrottle(session: Session, fill: number): number {
    const level = this.policy.throttleLevel(fill, session.throttleLevel);
    if (level !== session.throttleLevel) {
      const throttled = this.ctx.counters.throttled;
      throttled[session.throttleLevel]!--;
      throttled[level]!++;
      session.throttleLevel = level;
      const notice = this.policy.throttleNotice(level, fill);
      this.ctx.telemetry.count(M.throttle, { level });
      session.queue.pushControl(encodeMessage(notice));
      this.writer.markDirty(session);
    }
    return level;
  }

  /** Starts the slow-consumer deadline: still over the bound after slowCloseAfterMs, the session ends. */
  private holdOverBound(session: Session): void {
    if (session.overBoundSinceMs !== null) return;
    session.overBoundSinceMs = this.ctx.clock.nowMs();
    session.overBoundTimer = this.ctx.clock.setTimer(this.ctx.options.outbound.slowCloseAfterMs, () => {
      session.overBoundTimer = null;
      if (session.overBoundSinceMs !== null) this.writer.slowClose(session);
    });
  }

  private countGap(reason: GapReason): void {
    this.ctx.counters.gaps++;
    this.ctx.telemetry.count(M.gaps, { reason });
  }
}
