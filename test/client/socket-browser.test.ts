// The browser adapter against a stand-in for the global WebSocket (Node 20 has none): what the DOM events
// carry must reach the port's callbacks unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { browserSocketFactory } from '../../src/client/socket-browser.js';
import type { CloseInfo } from '../../src/client/ports.js';

class StubWebSocket {
  static last: StubWebSocket | null = null;
  readyState = 0;
  binaryType = 'blob';
  readonly sent: string[] = [];
  closed: [number, string] | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    StubWebSocket.last = this;
  }

  send(text: string): void {
    this.sent.push(text);
  }

  close(code: number, reason: string): void {
    this.closed = [code, reason];
  }
}

const original = (globalThis as { WebSocket?: unknown }).WebSocket;
afterEach(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = original;
});

describe('socket-browser', () => {
  it('maps messages (text and binary), sends only when open, and reports the close event', () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = StubWebSocket;
    const messages: string[] = [];
    const closes: CloseInfo[] = [];
    const socket = browserSocketFactory()('wss://gw.test/ws', ['odin.v1'], {
      onMessage: (text) => messages.push(text),
      onClose: (info) => closes.push(info),
    });
    const ws = StubWebSocket.last!;
    expect([ws.url, ws.protocols, ws.binaryType]).toEqual(['wss://gw.test/ws', ['odin.v1'], 'arraybuffer']);
    socket.send('too early');
    ws.readyState = 1;
    socket.send('{"type":"ping","id":1}');
    ws.onmessage!({ data: '{"a":1}' });
    ws.onmessage!({ data: new TextEncoder().encode('{"b":2}').buffer });
    ws.onerror!();
    ws.onclose!({ code: 1013, reason: 'busy; retry-after-ms=900' });
    socket.close(1000, 'bye');
    expect(ws.sent).toEqual(['{"type":"ping","id":1}']);
    expect(messages).toEqual(['{"a":1}', '{"b":2}']);
    expect(closes).toEqual([{ code: 1013, reason: 'busy; retry-after-ms=900' }]);
    expect(ws.closed).toEqual([1000, 'bye']);
  });
});
