// The real adapters against a real local server: ws refusals with Retry-After reach the client, text
// flows both ways, and connect() wires client, socket and system clock end to end.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { connect, type OdinClient } from '../../src/client/index.js';
import type { CloseInfo } from '../../src/client/ports.js';
import { nodeSocketFactory, retryAfterMsOf } from '../../src/client/socket-node.js';
import { systemClock } from '../../src/client/system.js';
import { SUBPROTOCOL } from '../../src/core/protocol.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(server: Server): Promise<number> {
  cleanups.push(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function wsServer(onConnection: (socket: ServerSocket) => void): Promise<number> {
  const server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
  wss.on('connection', onConnection);
  cleanups.push(() => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  });
  return listen(server);
}

describe('socket-node', () => {
  it('reports a refused upgrade with its HTTP status and Retry-After', async () => {
    const server = createServer();
    server.on('upgrade', (_request, socket) => {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const port = await listen(server);
    const closed = await new Promise<CloseInfo>((resolve) => {
      nodeSocketFactory()(`ws://127.0.0.1:${port}/ws`, [SUBPROTOCOL], { onMessage: () => {}, onClose: resolve });
    });
    expect(closed).toMatchObject({ code: 1006, httpStatus: 503, retryAfterMs: 7_000 });
  });

  it('carries text both ways, offers the subprotocol, and closes once', async () => {
    const server = { offered: '', text: '', code: 0 };
    let serverClosed = (): void => {};
    const serverDone = new Promise<void>((resolve) => (serverClosed = resolve));
    const port = await wsServer((socket) => {
      server.offered = socket.protocol;
      socket.send('welcome');
      socket.on('message', (data) => {
        server.text = String(data);
        socket.send(`echo ${server.text}`);
      });
      socket.on('close', (code) => {
        server.code = code;
        serverClosed();
      });
    });
    const messages: string[] = [];
    const closes: CloseInfo[] = [];
    await new Promise<void>((resolve) => {
      const socket = nodeSocketFactory()(`ws://127.0.0.1:${port}/ws`, [SUBPROTOCOL], {
        onMessage: (message) => {
          messages.push(message);
          if (message === 'welcome') socket.send('hello');
          else socket.close(1000, 'done');
        },
        onClose: (info) => {
          closes.push(info);
          resolve();
        },
      });
    });
    await serverDone;
    expect(messages).toEqual(['welcome', 'echo hello']);
    expect(closes).toEqual([{ code: 1000, reason: 'done' }]);
    expect(server).toEqual({ offered: SUBPROTOCOL, text: 'hello', code: 1000 });
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMsOf('120', 0)).toBe(120_000);
    expect(retryAfterMsOf('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMsOf('soon', 0)).toBeUndefined();
    expect(retryAfterMsOf(undefined, 0)).toBeUndefined();
  });
});

describe('connect() end to end', () => {
  it('subscribes over a real socket and delivers an event', async () => {
    let client: OdinClient | undefined;
    const port = await wsServer((socket) => {
      socket.send(JSON.stringify({ type: 'welcome', session: 's1', heartbeatMs: 25_000, limits: { channelsPerRequestMax: 100 } }));
      socket.on('message', (data) => {
        const request = JSON.parse(String(data)) as { type: string; id: number; channels: string[] };
        if (request.type !== 'subscribe') return;
        socket.send(JSON.stringify({ type: 'subscribed', id: request.id, channels: { 'odin.global.x': { epoch: 'E1', offset: 9 } } }));
        socket.send(JSON.stringify({ type: 'event', ch: 'odin.global.x', offset: 10, prev: 0, data: { hello: 'world' } }));
      });
    });
    const received = await new Promise<unknown>((resolve) => {
      client = connect(`ws://127.0.0.1:${port}/ws`);
      client.subscribe('odin.global.x', { onEvent: (data) => resolve(data) });
    });
    cleanups.push(() => client?.close());
    expect(received).toEqual({ hello: 'world' });
    expect(client?.state).toBe('open');
    expect(client?.position('odin.global.x')).toEqual({ epoch: 'E1', offset: 10 });
  });
});

describe('systemClock', () => {
  it('runs timers after their delay and not once cancelled', () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const fired: string[] = [];
      systemClock.setTimer(100, () => fired.push('kept'));
      systemClock.setTimer(100, () => fired.push('cancelled')).cancel();
      clock.tick(99);
      expect(fired).toEqual([]);
      clock.tick(1);
      expect(fired).toEqual(['kept']);
    } finally {
      clock.uninstall();
    }
  });

  it('defers work to after the current turn', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      systemClock.defer(() => {
        order.push('deferred');
        resolve();
      });
      order.push('same turn');
    });
    expect(order).toEqual(['same turn', 'deferred']);
  });
});
