// The baseline of the end-to-end fan-out bench: the hub people write first. One ws server, a Set of
// sockets per channel, and on publish JSON.stringify + ws.send for every subscriber. Same message shapes
// as odin's, so the benchmark clients cannot tell the two apart; no history, no limits, no coalescing.
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface NaiveHub {
  readonly url: string;
  publish(channel: string, data: unknown): void;
  close(): Promise<void>;
}

export function startNaiveHub(): Promise<NaiveHub> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const subscribers = new Map<string, Set<WebSocket>>();
  const lastOffset = new Map<string, number>();
  let offset = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; id: number; channels: string[] };
      if (message.type !== 'subscribe') return;
      for (const channel of message.channels) {
        if (!subscribers.has(channel)) subscribers.set(channel, new Set());
        subscribers.get(channel)!.add(ws);
      }
      ws.send(JSON.stringify({ type: 'subscribed', id: message.id, channels: Object.fromEntries(message.channels.map((c) => [c, { offset }])) }));
    });
    ws.on('close', () => {
      for (const set of subscribers.values()) set.delete(ws);
    });
  });
  return new Promise((resolve) => {
    wss.on('listening', () => {
      const { port } = wss.address() as AddressInfo;
      resolve({
        url: `ws://127.0.0.1:${port}/`,
        publish(channel, data) {
          const prev = lastOffset.get(channel) ?? 0;
          lastOffset.set(channel, ++offset);
          for (const ws of subscribers.get(channel) ?? []) ws.send(JSON.stringify({ type: 'event', ch: channel, offset, prev, data }));
        },
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}
