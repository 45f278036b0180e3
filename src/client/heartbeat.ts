// Liveness of one connection. Every heartbeatMs the client sends an application ping (browsers cannot send
// WebSocket pings, and the server's pings are answered inside the socket, out of the client's sight).
// Silence — nothing at all received — for 2 × heartbeatMs means the connection is dead, even if TCP has not
// noticed: a half-open connection can look healthy for many minutes.
import type { Clock, Timer } from '../core/ports.js';

export class Heartbeat {
  private lastReceivedMs: number;
  private pingTimer: Timer;
  private silenceTimer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly sendPing: () => void,
    private readonly onSilence: () => void,
  ) {
    this.lastReceivedMs = clock.nowMs();
    this.pingTimer = clock.setTimer(intervalMs, this.ping);
    this.silenceTimer = clock.setTimer(2 * intervalMs, this.checkSilence);
  }

  /** Called for every frame received. Cheap: it does not touch timers. */
  received(): void {
    this.lastReceivedMs = this.clock.nowMs();
  }

  stop(): void {
    this.pingTimer.cancel();
    this.silenceTimer.cancel();
  }

  private readonly ping = (): void => {
    this.pingTimer = this.clock.setTimer(this.intervalMs, this.ping);
    this.sendPing();
  };

  // Re-armed lazily for the remaining time rather than on every frame, which would mean a timer
  // cancel-and-create per event on a busy connection.
  private readonly checkSilence = (): void => {
    const silentMs = this.clock.nowMs() - this.lastReceivedMs;
    const timeoutMs = 2 * this.intervalMs;
    if (silentMs >= timeoutMs) {
      this.stop();
      this.onSilence();
      return;
    }
    this.silenceTimer = this.clock.setTimer(timeoutMs - silentMs, this.checkSilence);
  };
}
