// The story gateway (story-gateway.ts) with GC assist charged when a handshake allocates (memory-7gb).
//
// The kernel model stretches CPU work by GC pressure *when the work is queued* (cpu.ts). For a handshake
// that is the wrong moment near the memory limit: its buffers are allocated when the upgrade completes,
// and a Go goroutine that allocates pays mark-assist work at the heap's state *then* (runtime/mgcmark.go
// gcAssistAlloc: assist work ∝ bytes allocated × the pacer's current scan ratio). So when a handshake's
// CPU is done, it owes handshakeCpuMs × (stretch now − stretch already paid); it pays that on a core and
// checks again, until what it paid covers the current stretch (within 1 %). Memory still rises only when
// a connection is admitted, so as usage nears the limit each admission costs more GC work — the same
// smooth stretch(p) of memory.ts, nothing fitted — and the last handshakes before the limit wait instead
// of pushing the process over it.
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import type { WireMessage } from '../net/wire.js';
import { StoryGateway } from './story-gateway.js';

type StorySession = Parameters<StoryGateway['completeUpgrade']>[0];

/** Relative shortfall tolerated before another assist (bounds the loop: each round raises `paid` by > 1 %). */
const ASSIST_TOLERANCE = 0.01;

interface AssistJob {
  readonly gw: AssistingStoryGateway;
  readonly sess: StorySession;
}
function assistDone(j: AssistJob): void {
  j.gw.completeUpgrade(j.sess);
}

export class AssistingStoryGateway extends StoryGateway implements SocketHandler {
  /** Stretch factor each pending handshake has paid so far. */
  private readonly paid = new Map<StorySession, number>();
  readonly assist = { rounds: 0, cpuMs: 0 };

  override onData(sock: TcpSocket, payload: unknown): void {
    if ((payload as WireMessage).k === 'upgrade') this.paid.set(sock.ctx as StorySession, this.proc.mem.stretch());
    super.onData(sock, payload);
  }

  override completeUpgrade(sess: StorySession): void {
    const paid = this.paid.get(sess);
    if (paid !== undefined && !sess.closed && sess.sock.state !== 'CLOSED') {
      const now = this.proc.mem.stretch();
      if (now > paid * (1 + ASSIST_TOLERANCE)) {
        this.paid.set(sess, now);
        const owedMs = this.spec.handshakeCpuMs * (now - paid);
        this.assist.rounds++;
        this.assist.cpuMs += owedMs;
        this.proc.cpu.submit(owedMs, assistDone, { gw: this, sess });
        return;
      }
    }
    this.paid.delete(sess);
    super.completeUpgrade(sess);
  }
}
