// A real node:http + ws server on an ephemeral port whose connections are wrapped in WsConnection, and
// helpers to connect real ws clients to it. Shared by the transport tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import { WsConnection, type WriteMode } from '../../src/adapters/transport-ws.js';

export interface Fixture {
  readonly url: string;
  /** Resolves with the server side of the next connection. */
  nextServerSide(): Promise<{ ws: WebSocket; conn: WsConnection }>;
  close(): Promise<void>;
}

export async function startFixture(mode: WriteMode = 'preframed', options: ServerOptions = {}): Promise<Fixture> {
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, ...options });
  const waiting: Array<(side: { ws: WebSocket; conn: WsConnection }) => void> = [];
  const ready: Array<{ ws: WebSocket; conn: WsConnection }> = [];
  http.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const side = { ws, conn: new WsConnection(ws, mode) };
      const resolve = waiting.shift();
      if (resolve) resolve(side);
      else ready.push(side);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    nextServerSide: () => {
      const side = ready.shift();
      return side ? Promise.resolve(side) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** A real ws client that records every message it receives. */
export async function connectClient(url: string, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; messages: Received[] }> {
  const ws = new WebSocket(url, options);
  const messages: Received[] = [];
  ws.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages };
}

export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
