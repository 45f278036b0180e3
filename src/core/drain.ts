// The graceful drain (I9; docs/operations.md, "Graceful drain"): refuse new handshakes and publishes, flush
// every queue and close every client with 1001 and a jittered reconnect hint, then report once every
// session is gone — or, at drainTimeoutMs, terminate the stragglers and report them.
import type { AdmissionControl } from './admission.js';
import type { CoreContext } from './context.js';
import { CloseCodes } from './protocol.js';
import type { Writer } from './writer.js';

/** How a drain ended: sessions that closed before the deadline, and stragglers terminated at it. */
export interface DrainOutcome {
  readonly closed: number;
  readonly terminated: number;
}

export class Drain {
  /** Set while a drain waits for its sessions; reports once, then null again. */
  protected done: ((outcome: DrainOutcome) => void) | null = null;
  /** Sessions that ended while the drain waited for them. */
  protected closed = 0;

  constructor(
    protected readonly ctx: CoreContext,
    /** Its `draining` flag is the gateway's one drain flag: handshakes and publishes are refused. */
    protected readonly admission: AdmissionControl,
    protected readonly writer: Writer,
  ) {}

  start(done: (outcome: DrainOutcome) => void): void {
    this.admission.draining = true;
    this.done = done;
    this.closed = 0;
    this.closeEveryone();
    this.ctx.clock.setTimer(this.ctx.options.drainTimeoutMs, () => {
      const finish = this.done;
      if (finish === null) return;
      this.done = null;
      const stragglers = [...this.ctx.sessions.values()];
      for (const session of stragglers) session.conn.terminate();
      finish({ closed: this.closed, terminated: stragglers.length });
    });
    this.finishIfEmpty();
  }

  /** A session ended (closed or terminated); the drain may be over. */
  sessionEnded(): void {
    if (this.done === null) return;
    this.closed++;
    this.finishIfEmpty();
  }

  protected closeEveryone(): void {
    this.writer.closeAllWithHint(CloseCodes.goingAway, 'going away: draining');
  }

  /** Reports the drain once every session is gone (the deadline reports stragglers itself). */
  protected finishIfEmpty(): void {
    if (this.done === null || this.ctx.sessions.size > 0) return;
    const done = this.done;
    this.done = null;
    done({ closed: this.closed, terminated: 0 });
  }
}
