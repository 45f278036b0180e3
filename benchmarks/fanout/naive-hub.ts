// The baseline of the end-to-end benches: the hub people write first. One ws server, a Set of sockets per
// channel, and on publish JSON.stringify + ws.send for every subscriber. Same message shapes as odin's, so
// the benchmark clients cannot tell the two apart; no history, no limits, no coalescing.
// With `httpPublish` it also takes POST /publish {"channel","data"} on the same port, as such hubs
// usually do (an HTTP server with the WebSocket server attached), so the load tool publishes to both
// servers the same way.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface NaiveHub {
  readonly url: string;
  /** http://host:port (POST /publish there when started with httpPublish). */
  readonly httpUrl: string;
  publish(channel: string, data: unknown): number;
  close(): Promise<void>;
}

export interface NaiveHubOptions {
  readonly httpPublish?: boolean;
  readonly port?: number;
}

export function startNaiveHub(options: NaiveHubOptions = {}): Promise<NaiveHub> {
  const http = options.httpPublish === true ? createServer((req, res) => handlePublish(req, res)) : null;
  const wss =
    http !== null
      ? new WebSocketServer({ server: http, perMessageDeflate: false })
      : new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, perMessageDeflate: false });
  const subscribers = new Map<string, Set<WebSocket>>();
  const lastOffset = new Map<string, number>();
  let offset = 0;
  const publish = (channel: string, data: unknown): number => {
    const prev = lastOffset.get(channel) ?? 0;
    lastOffset.set(channel, ++offset);
    for (const ws of subscribers.get(channel) ?? []) ws.send(JSON.stringify({ type: 'event', ch: channel, offset, prev, data }));
    return offset;
  };
  function handlePublish(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== '/publish') {
      res.writeHead(404).end();
      req.resume();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      try {
        const message = JSON.parse(body) as { channel: string; data: unknown };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ offset: publish(message.channel, message.data) }));
      } catch {
        res.writeHead(400).end();
      }
    });
  }
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const message = JSON.parse((raw as Buffer).toString('utf8')) as { type: string; id: number; channels: string[] };
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
    const listening = (port: number): void =>
      resolve({
        url: `ws://127.0.0.1:${port}/`,
        httpUrl: `http://127.0.0.1:${port}`,
        publish,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => (http !== null ? http.close(() => done()) : done()));
          }),
      });
    if (http !== null) http.listen(options.port ?? 0, '127.0.0.1', () => listening((http.address() as AddressInfo).port));
    else wss.on('listening', () => listening((wss.address() as AddressInfo).port));
  });
}
