// Everything that leaves a session's queue: the per-turn flush, and closing. Frames queued to one socket
// during one turn of the event loop leave in one write (docs/design.md, "Channels, offsets, encode once"):
// a session with output joins the dirty list once, and one deferred flush per turn writes every session on
// it. A socket whose buffer is past socketHighWaterBytes is skipped — its frames wait in the queue, where
// the slow-client policy can still conflate or shed them — and the transport's onWritable brings it back.
// The flush never waits on one socket, so a stalled client cannot delay the others (I6).
import type { CoreContext } from './context.js';
import { M } from './metrics.js';
import type { Frame } from './ports.js';
import { closeReasonWithRetry, CloseCodes } from './protocol.js';
import type { Session } from './session.js';

export class Writer {
  /** Sessions with frames to write this turn; swapped with `flushing` so neither is reallocated. */
  protected dirty: Session[] = [];
  private flushing: Session[] = [];
  protected flushScheduled = false;
  /** One closure for every deferred flush (one per turn with output), not one per turn. */
  private readonly flushDeferred = (): void => this.flush();

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
  }

  /** Hands every queued frame to the socket in one write; the queue is within its bound again. */
  writeAll(session: Session): void {
    if (session.queue.length === 0) return;
    const frames: Frame[] = session.queue.take();
    let bytes = 0;
    for (const frame of frames) bytes += frame.bytes.byteLength;
    const counters = this.ctx.counters;
    counters.delivered += frames.length;
    counters.bytesOut += bytes;
    this.ctx.telemetry.count(M.bytesOut, undefined, bytes);
    session.clearOverBound();
    session.conn.write(frames);
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
