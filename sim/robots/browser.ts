// A browser renderer process's WebSocket throttle, as a wrapper around any client SocketFactory (docs/kernel.md,
// "The browser's handshake throttle"). Chrome fails a new WebSocket at once with ERR_INSUFFICIENT_RESOURCES ("WebSocket connection
// failed: Insufficient resources") while the renderer already has 255 handshakes pending — Chromium
// services/network/websocket_throttler.cc. Pending here runs from the factory call to the first message or
// the close (our socket port has no onOpen; the server's welcome follows the 101 at once).
// Left out: Chrome's socket pool (256 total, 255 per host), which queues beyond its limit instead of failing.
import type { ClientSocket, CloseInfo, SocketFactory, SocketHandlers } from '../../src/client/ports.js';
import type { Scheduler } from '../engine/scheduler.js';

/** Chromium's limit on pending WebSocket handshakes per renderer process. */
export const CHROME_PENDING_HANDSHAKES_MAX = 255;

const REFUSED: ClientSocket = { send: () => undefined, close: () => undefined };

function fireClose(j: { readonly handlers: SocketHandlers; readonly info: CloseInfo }): void {
  j.handlers.onClose(j.info);
}

export class BrowserRenderer {
  pending = 0;
  peakPending = 0;
  /** WebSockets failed with ERR_INSUFFICIENT_RESOURCES. */
  refused = 0;
  readonly factory: SocketFactory;

  constructor(
    private readonly sched: Scheduler,
    inner: SocketFactory,
    readonly pendingMax = CHROME_PENDING_HANDSHAKES_MAX,
  ) {
    this.factory = (url, protocols, handlers) => {
      if (this.pending >= this.pendingMax) {
        this.refused++;
        // Like every socket callback: never synchronously inside the factory call.
        this.sched.after(0, fireClose, { handlers, info: { code: 1006, reason: 'ERR_INSUFFICIENT_RESOURCES' } });
        return REFUSED;
      }
      this.pending++;
      if (this.pending > this.peakPending) this.peakPending = this.pending;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        this.pending--;
      };
      return inner(url, protocols, {
        onMessage: (text) => {
          settle();
          handlers.onMessage(text);
        },
        onClose: (info) => {
          settle();
          handlers.onClose(info);
        },
      });
    };
  }
}
