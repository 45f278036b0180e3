// Everything that leaves a session's queue: the per-turn flush, and closing. Frames queued to one socket
// during one turn of the event loop leave in one write (docs/design.md, "Channels, offsets, encode once"):
// a session with output joins the dirty list once, and one deferred flush per turn writes every session on
// it. A socket whose buffer is past socketHighWaterBytes is skipped — its frames wait in the queue, where
// the slow-client policy can still conflate or shed them — and the transport's onWritable brings it back.
// The flush never waits on one socket, so a stalled client cannot delay the others (I6).
//
// Write batching (docs/protocol.md, "Batched frames"; docs/benchmarks.md, "Write batching"): a live event
// of a class with a write delay does not mark its session dirty at once; the session is held until
// writeDelayMs after its first held event, so the events of that window leave in one write. Anything else
// (a reply, an error, a replay) marks the session dirty and takes the held events with it, in queue order.
// A session whose client negotiated batched frames gets a write's messages joined into one WebSocket
// frame, one per line, up to batchBytesMax each; sessions of one flush that receive the same frames share
// the joined frame, so a fan-out still encodes once.
import type { CoreContext } from './context.js';
import { M } from './metrics.js';
import type { Frame, Timer } from './ports.js';
import { closeReasonWithRetry, CloseCodes } from './protocol.js';
import type { Session } from './session.js';

export class Writer {
  /** Sessions with frames to write this turn; swapped with `flushing` so neither is reallocated. */
  protected dirty: Session[] = [];
  private flushing: Session[] = [];
  protected flushScheduled = false;
  /** One closure for every deferred flush (one per turn with output), not one per turn. */
  private readonly flushDeferred = (): void => this.flush();
  /** Sessions holding live events for their write delay; one timer for all, armed for the earliest. */
  private holding: Session[] = [];
  private holdTimer: Timer | null = null;
  private holdTimerDueMs = Number.POSITIVE_INFINITY;
  private readonly releaseDue = (): void => this.release();
  /** Within one flush: the last batched frames built and the frames they were built from (shared by equal writes). */
  private batchFrom: readonly Frame[] | null = null;
  private batchOut: Frame[] = [];

  constructor(
    protected readonly ctx: CoreContext,
    /** Runs after a session's frames were handed to its socket (the throttle level is looked at again). */
    protected readonly afterWrite: (session: Session) => void,
  ) {}

  /** Puts the session on this turn's flush list (once), and schedules the flush (once per turn). */
  markDirty(session: Session): void {
    if (session.dirty) return;
    session.dirty = true;
    this.dirty.push(session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.ctx.clock.defer(this.flushDeferred);
  }

  /**
   * A live event was queued: the session leaves this turn (no delay), or by `delayMs` from now — or by the
   * deadline it already had, if that is earlier (events of several classes: the shortest wait binds).
   */
  hold(session: Session, delayMs: number): void {
    if (delayMs <= 0) return this.markDirty(session);
    if (session.dirty) return;
    const dueMs = this.ctx.clock.nowMs() + delayMs;
    if (session.holdUntilMs !== null && session.holdUntilMs <= dueMs) return;
    session.holdUntilMs = dueMs;
    if (!session.inHoldList) {
      session.inHoldList = true;
      this.holding.push(session);
    }
    if (dueMs < this.holdTimerDueMs) this.armHold(dueMs);
  }

  stop(): void {
    this.holdTimer?.cancel();
    this.holdTimer = null;
    this.holdTimerDueMs = Number.POSITIVE_INFINITY;
  }

  private armHold(dueMs: number): void {
    this.holdTimer?.cancel();
    this.holdTimerDueMs = dueMs;
    this.holdTimer = this.ctx.clock.setTimer(dueMs - this.ctx.clock.nowMs(), this.releaseDue);
  }

  /** The hold timer: sessions whose deadline came join this turn's flush; the rest wait on. */
  private release(): void {
    this.holdTimer = null;
    this.holdTimerDueMs = Number.POSITIVE_INFINITY;
    const now = this.ctx.clock.nowMs();
    const sessions = this.holding;
    this.holding = [];
    let next = Number.POSITIVE_INFINITY;
    for (const session of sessions) {
      const due = session.holdUntilMs;
      // Written meanwhile (a reply took the held events along), or closed: nothing is held any more.
      if (due === null || session.state !== 'open') {
        session.inHoldList = false;
        continue;
      }
      if (due <= now) {
        session.inHoldList = false;
        session.holdUntilMs = null;
        this.markDirty(session);
        continue;
      }
      this.holding.push(session);
      if (due < next) next = due;
    }
    if (next !== Number.POSITIVE_INFINITY) this.armHold(next);
  }

  flush(): void {
    this.flushScheduled = false;
    const sessions = this.dirty;
    this.dirty = this.flushing;
    this.flushing = sessions;
    for (const session of sessions) {
      session.dirty = false;
      if (session.state !== 'open') continue;
      if (session.conn.bufferedBytes() >= this.ctx.options.outbound.socketHighWaterBytes) continue; // onWritable resumes
      this.writeAll(session);
      this.afterWrite(session);
    }
    sessions.length = 0;
    this.batchFrom = null;
    this.batchOut = [];
  }

  /** Hands every queued frame to the socket in one write; the queue is within its bound again. */
  writeAll(session: Session): void {
    session.holdUntilMs = null;
    if (session.queue.length === 0) return;
    const frames: Frame[] = session.queue.take();
    let bytes = 0;
    for (const frame of frames) bytes += frame.bytes.byteLength;
    const counters = this.ctx.counters;
    counters.delivered += frames.length;
    counters.bytesOut += bytes;
    this.ctx.telemetry.count(M.bytesOut, undefined, bytes);
    session.clearOverBound();
    session.conn.write(session.batch && frames.length > 1 ? this.batched(frames) : frames);
  }

  /** The frames joined into batched frames, or the ones just built for a session that got the same frames. */
  private batched(frames: readonly Frame[]): Frame[] {
    const last = this.batchFrom;
    if (last !== null && last.length === frames.length && last.every((frame, i) => frame === frames[i])) return this.batchOut;
    this.batchFrom = frames;
    this.batchOut = joinFrames(frames, this.ctx.options.outbound.batchBytesMax);
    return this.batchOut;
  }

  /**
   * Closes with a close frame. Queued frames go first (an error that explains the close must arrive),
   * except for a slow consumer, whose backlog is what we are giving up on: it resumes from history.
   */
  close(session: Session, code: number, reason: string, flush = true): void {
    if (session.state !== 'open') return;
    if (flush) this.writeAll(session);
    session.state = 'closing';
    session.stopTimers();
    session.conn.close(code, reason);
  }

  /** Ends a session that does not read fast enough (docs/protocol.md, "Close codes": 1008). */
  slowClose(session: Session): void {
    if (session.state !== 'open') return;
    this.ctx.counters.slowDisconnects++;
    this.ctx.telemetry.count(M.slowDisconnects);
    this.close(session, CloseCodes.policy, 'slow consumer: resume with since to recover', false);
  }

  /** Closes every open session, each told its own reconnect delay so the clients do not return at once. */
  closeAllWithHint(code: number, text: string, sessions: readonly Session[] = [...this.ctx.sessions.values()]): void {
    for (const session of sessions) {
      const retryMs = Math.floor(this.ctx.random.next() * this.ctx.options.drainRetryJitterMs);
      this.close(session, code, closeReasonWithRetry(text, retryMs));
    }
  }
}

const NEWLINE = 0x0a;

/**
 * Consecutive frames joined with a newline into frames of at most `bytesMax` (a larger one stays alone).
 * No message contains a raw newline: control messages are JSON.stringify output and event payloads have
 * theirs turned into spaces (src/core/codec.ts), so the client splits on it.
 */
export function joinFrames(frames: readonly Frame[], bytesMax: number): Frame[] {
  const out: Frame[] = [];
  for (let start = 0; start < frames.length;) {
    let bytes = frames[start]!.bytes.byteLength;
    let end = start + 1;
    while (end < frames.length && bytes + 1 + frames[end]!.bytes.byteLength <= bytesMax) bytes += 1 + frames[end++]!.bytes.byteLength;
    if (end - start === 1) {
      out.push(frames[start]!);
    } else {
      const joined = new Uint8Array(bytes);
      let at = 0;
      for (let i = start; i < end; i++) {
        if (i > start) joined[at++] = NEWLINE;
        joined.set(frames[i]!.bytes, at);
        at += frames[i]!.bytes.byteLength;
      }
      out.push({ bytes: joined });
    }
    start = end;
  }
  return out;
}
