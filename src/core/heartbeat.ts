// Finds dead peers (docs/protocol.md, "Heartbeats"; docs/operations.md, "Heartbeats"). It mirrors the
// client's heartbeat (src/client/heartbeat.ts): our client pings every heartbeatMs, so a session that sent
// anything since the last check is alive and is not pinged — one round trip per interval, not two. A
// silent one is pinged and has heartbeatTimeoutMs to answer with a pong or any message, else it is
// terminated (no close handshake with a peer that does not answer). A dead peer is therefore found between
// heartbeatMs + heartbeatTimeoutMs and 2 × heartbeatMs + heartbeatTimeoutMs after the last thing it sent.
import type { CoreContext } from './context.js';
import type { Session } from './session.js';

export class Heartbeat {
  constructor(private readonly ctx: CoreContext) {}

  /** Starts checking a session that just opened (its timer is stopped by Session.stopTimers). */
  start(session: Session): void {
    this.arm(session, this.ctx.options.heartbeatMs);
  }

  private arm(session: Session, delayMs: number): void {
    session.heartbeatTimer = this.ctx.clock.setTimer(delayMs, () => this.check(session));
  }

  private check(session: Session): void {
    if (session.state !== 'open') return;
    const { heartbeatMs, heartbeatTimeoutMs } = this.ctx.options;
    if (session.heard) {
      session.heard = false;
      this.arm(session, heartbeatMs);
      return;
    }
    session.conn.ping();
    session.heartbeatTimer = this.ctx.clock.setTimer(heartbeatTimeoutMs, () => {
      if (session.state !== 'open') return;
      if (!session.heard) {
        this.ctx.telemetry.log('debug', 'heartbeat overdue; terminating', { session: session.id });
        session.conn.terminate();
        return;
      }
      session.heard = false;
      this.arm(session, Math.max(0, heartbeatMs - heartbeatTimeoutMs));
    });
  }
}
