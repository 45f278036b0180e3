// The WebSocket endpoint: admission before the upgrade (refusals are real HTTP responses a ws client sees
// as 'unexpected-response'), protocol versioning, slots given back when a handshake fails, maxPayload,
// and the drain on shutdown.
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { retryHintOf, SUBPROTOCOL } from '../../src/core/protocol.js';
import { WebSocket } from 'ws';
import { opened, openedSocket, refused, refusedSocket, start, type Started } from './server-fixture.js';

let server: Started | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('handshake', () => {
  it('opens with ?v=1 or the odin.v1 subprotocol, or neither, and sends the welcome', async () => {
    server = await start();
    const byQuery = await opened(`${server.wsUrl}?v=1`);
    expect(byQuery.welcome).toMatchObject({ type: 'welcome', session: expect.any(String), heartbeatMs: expect.any(Number) });
    const bySubprotocol = await opened(server.wsUrl, SUBPROTOCOL);
    expect(bySubprotocol.ws.protocol).toBe(SUBPROTOCOL);
    const plain = await opened(server.wsUrl);
    expect(plain.ws.protocol).toBe('');
    for (const { ws } of [byQuery, bySubprotocol, plain]) ws.close();
  });

  it('refuses other paths with 404 and unknown versions with 400, before upgrading', async () => {
    server = await start();
    expect(await refused(`${server.url.replace('http', 'ws')}/other`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await refused(`${server.wsUrl}?v=2`)).toMatchObject({ status: 400, body: { error: 'unsupported_protocol' } });
    expect(await refused(server.wsUrl, 'odin.v2')).toMatchObject({ status: 400, body: { error: 'unsupported_protocol' } });
  });

  it('refuses over capacity with a real HTTP 503 and Retry-After', async () => {
    server = await start({ 'admission.connectionsMax': '0', 'admission.retryAfterS': '7' });
    const refusal = await refused(`${server.wsUrl}?v=1`);
    expect(refusal.status).toBe(503);
    expect(refusal.headers['retry-after']).toBe('7');
    expect(refusal.headers.connection).toBe('close');
    expect(refusal.body).toEqual({ error: 'capacity', message: expect.stringContaining('capacity') });
  });

  it('counts per-IP caps by X-Forwarded-For only when trustProxy is on', async () => {
    server = await start({ 'admission.perIpMax': '1', 'server.trustProxy': 'true' });
    // The peer (127.0.0.1) is a trusted proxy by default (server.trustedProxies); the per-user cap and
    // forged chains are in test/security.
    const as = (ip: string) => new WebSocket(`${server!.wsUrl}?v=1`, { headers: { 'X-Forwarded-For': ip } });
    const first = await openedSocket(as('203.0.113.7'));
    const second = await refusedSocket(as('203.0.113.7'));
    expect([second.status, second.body]).toMatchObject([429, { error: 'per_ip' }]);
    const other = await openedSocket(as('203.0.113.8'));
    first.close();
    other.close();
    await server.close();
    server = await start({ 'admission.perIpMax': '1' });
    const direct = await openedSocket(as('203.0.113.7'));
    // Without trustProxy the header is ignored: both come from 127.0.0.1.
    expect((await refusedSocket(as('203.0.113.9'))).status).toBe(429);
    direct.close();
  });

  it('gives the slot back when ws rejects a malformed handshake after admission', async () => {
    server = await start({ 'admission.connectionsMax': '1' });
    const port = server.port;
    const raw = netConnect(port, '127.0.0.1');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      raw.on('data', (chunk: Buffer) => (text += chunk.toString()));
      raw.on('close', () => resolve(text));
      // No Sec-WebSocket-Key: admitted by the gateway, then rejected by ws with 400.
      raw.write('GET /ws?v=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.gateway.stats().connections).toMatchObject({ held: 0 });
    (await opened(`${server.wsUrl}?v=1`)).ws.close();
  });

  it('closes 1009 on a client frame over messageBytesMax', async () => {
    server = await start({ 'gateway.messageBytesMax': '1024' });
    const { ws } = await opened(`${server.wsUrl}?v=1`);
    const code = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(JSON.stringify({ type: 'ping', id: 1, pad: 'x'.repeat(2000) }));
    expect(await code).toBe(1009);
  });
});

describe('drain', () => {
  it('closes every client with 1001 and a reconnect hint, then stops', async () => {
    server = await start({ 'gateway.drainRetryJitterMs': '3000' });
    const clients = await Promise.all([1, 2, 3].map(() => opened(`${server!.wsUrl}?v=1`)));
    const closes = clients.map(
      ({ ws }) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }))),
    );
    const running = server;
    server = undefined;
    await running.close();
    for (const close of await Promise.all(closes)) {
      expect(close.code).toBe(1001);
      const hint = retryHintOf(close.reason);
      expect(hint).not.toBeNull();
      expect(hint!).toBeLessThanOrEqual(3000);
    }
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });
});
