// Wraps a client SocketFactory so a timeline recorder sees every socket the real client opens: an attempt
// when it opens, "opened" at its first message (the welcome), and at close either "closed" (it had been
// open) or a failure under the contract's kind (HTTP status, the client's 4001 timeout, the close reason).
import type { CloseInfo, SocketFactory } from '../../src/client/ports.js';
import type { TimelineRecorder } from '../report/timeline.js';

/** How a socket that never got its welcome ended, in the robots' words. */
export function closeOutcome(info: CloseInfo): string {
  if (info.httpStatus !== undefined) return `http-${info.httpStatus}`;
  if (info.code === 4001) return 'upgrade-timeout';
  return info.reason === '' ? `close-${info.code}` : info.reason;
}

export function trackSockets(factory: SocketFactory, rec: () => TimelineRecorder | null): SocketFactory {
  return (url, protocols, handlers) => {
    const t = rec();
    if (t === null) return factory(url, protocols, handlers);
    t.attempt();
    let open = false;
    return factory(url, protocols, {
      onMessage: (text) => {
        if (!open) {
          open = true;
          t.opened();
        }
        handlers.onMessage(text);
      },
      onClose: (info: CloseInfo) => {
        if (open) t.closed();
        else t.failedAs(closeOutcome(info));
        open = false;
        handlers.onClose(info);
      },
    });
  };
}
