// The socket port over the browser's global WebSocket (also Node ≥ 22's, which lacks the HTTP status of a
// refused upgrade — see socket-node.ts). A refused upgrade looks like close 1006 here; the server's
// retry hint then travels only in close reasons (`retry-after-ms=`), which the client reads itself.
import type { ClientSocket, SocketFactory, SocketHandlers } from './ports.js';

const OPEN = 1;
const utf8 = new TextDecoder();

export function browserSocketFactory(): SocketFactory {
  return (url: string, protocols: readonly string[], handlers: SocketHandlers): ClientSocket => {
    const ws = new WebSocket(url, [...protocols]);
    // The gateway sends text only; should a binary frame come, decode it so the client can judge it.
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      handlers.onMessage(typeof data === 'string' ? data : utf8.decode(data as ArrayBuffer));
    };
    // An error event is always followed by a close event, which carries what there is to know.
    ws.onerror = () => {};
    ws.onclose = (event: CloseEvent) => handlers.onClose({ code: event.code, reason: event.reason });
    return {
      send(text: string): void {
        if (ws.readyState === OPEN) ws.send(text);
      },
      close(code: number, reason: string): void {
        ws.close(code, reason);
      },
    };
  };
}
