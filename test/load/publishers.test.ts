// The HTTP publisher against a server that resets connections: a request that went out on a reused
// keep-alive connection the server was closing is sent once more; anything else is a failure, counted.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpPublisher } from '../../src/load/publishers.js';

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}';

/**
 * Answers the first request on each connection and resets the connection on its second one (RST, no
 * answer) — what a client sees when a server closes an idle keep-alive connection as a request arrives.
 * With `resetFirst`, it resets every connection on its first request instead.
 */
function resettingServer(resetFirst = false): Promise<{ server: Server; url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((socket: Socket) => {
    let onThis = 0;
    socket.on('data', (chunk) => {
      // Each test request fits one segment on loopback; a request is a chunk that starts with POST.
      if (!chunk.toString('latin1').startsWith('POST')) return;
      requests++;
      onThis++;
      if (resetFirst || onThis === 2) socket.resetAndDestroy();
      else socket.write(OK);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, url: `http://127.0.0.1:${port}`, requests: () => requests });
    }),
  );
}

async function settle(publisher: HttpPublisher): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (publisher.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('HttpPublisher', () => {
  let server: Server | null = null;
  afterEach(() => new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve()))));

  it('sends once more a publish whose reused keep-alive connection was reset, and counts it', async () => {
    const s = await resettingServer();
    server = s.server;
    const publisher = new HttpPublisher({ baseUrl: s.url, apiKey: null, sockets: 1, inFlightMax: 10, timeoutMs: 5_000 });
    publisher.publish('c', '1');
    await settle(publisher);
    publisher.publish('c', '2'); // goes out on the kept-alive connection, which the server resets
    await settle(publisher);
    await publisher.close();
    expect(publisher.stats).toMatchObject({ sent: 2, ok: 2, retried: 1, failures: {} });
    expect(s.requests()).toBe(3);
  });

  it('does not retry a reset on a new connection: the server may have seen the request', async () => {
    const s = await resettingServer(true);
    server = s.server;
    const publisher = new HttpPublisher({ baseUrl: s.url, apiKey: null, sockets: 1, inFlightMax: 10, timeoutMs: 5_000 });
    publisher.publish('c', '1');
    await settle(publisher);
    await publisher.close();
    expect(publisher.stats).toMatchObject({ sent: 1, ok: 0, retried: 0, failures: { ECONNRESET: 1 } });
    expect(s.requests()).toBe(1);
  });
});
