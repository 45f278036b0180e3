// The production guards end to end on loopback: refusals are HTTP answers before the upgrade, a slow
// reader degrades explicitly, drain closes everyone with a hint.
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { retryHintOf } from '../../src/core/protocol.js';
import type { RunningServer } from '../../src/server/server.js';
import { hs256, nowS, SECRET } from '../security/tokens.js';
import { is, probe, publish, serve, upgradeStatus, type Probe } from './support.js';

let server: RunningServer | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await server?.close();
  server = undefined;
});

describe('admission before upgrade', () => {
  it('with capacity 50 and 60 clients: exactly 50 open, 10 HTTP 503 with Retry-After, no reset', async () => {
    server = await serve({ 'admission.connectionsMax': 50, 'admission.retryAfterS': 3, 'admission.handshakeBurst': 1000 });
    const results = await Promise.all(Array.from({ length: 60 }, () => upgradeStatus(server!)));
    for (const r of results) if (r.ws) sockets.push(r.ws);
    expect(results.filter((r) => r.status === 101)).toHaveLength(50);
    const refused = results.filter((r) => r.status !== 101);
    expect(refused.map((r) => r.status)).toEqual(Array(10).fill(503));
    expect(refused.every((r) => r.retryAfter === '3')).toBe(true);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
    expect(server.gateway.stats().connections).toMatchObject({ current: 50, capacity: 50, free: 0 });
  });

  it("refuses a user's 6th connection with 429 (users are token subjects)", async () => {
    server = await serve({ 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'auth.queryToken': 'true' });
    const alice = await hs256({ sub: 'alice', exp: nowS() + 600 });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await upgradeStatus(server, `?token=${alice}`));
    for (const r of results) if (r.ws) sockets.push(r.ws);
    expect(results.map((r) => r.status)).toEqual([101, 101, 101, 101, 101, 429]);
    expect((await upgradeStatus(server, `?token=${await hs256({ sub: 'bob', exp: nowS() + 600 })}`)).status).toBe(101);
  });

  it('refuses a handshake burst over the per-IP bucket with 429', async () => {
    server = await serve({ 'admission.handshakeBurst': 5, 'admission.handshakesPerSecond': 0.5 });
    const results = await Promise.all(Array.from({ length: 8 }, () => upgradeStatus(server!)));
    for (const r of results) if (r.ws) sockets.push(r.ws);
    expect(results.filter((r) => r.status === 101)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(3);
    expect(results.find((r) => r.status === 429)!.retryAfter).not.toBeNull();
  });
});

describe('a slow reader', () => {
  it('degrades explicitly (gaps or 1008) while the others keep receiving promptly', async () => {
    server = await serve({ 'outbound.queueBytesMax': 256 * 1024, 'outbound.socketHighWaterBytes': 64 * 1024, 'outbound.slowCloseAfterMs': 500 });
    const fast: Probe[] = await Promise.all([probe(server), probe(server), probe(server)]);
    const slow = await probe(server);
    for (const c of [...fast, slow]) {
      sockets.push(c.ws);
      c.send({ type: 'subscribe', id: 1, channels: ['feed'] });
      await c.waitFor(is('subscribed'));
    }
    // Stop reading: the kernel buffers fill, then the server's socket buffer, then the gateway's queue.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'p'.repeat(64 * 1024);
    const latenciesMs: number[] = [];
    let lastOffset = 0;
    for (let i = 0; i < 300; i++) {
      const sentAt = performance.now();
      const { body } = await publish(server, 'feed', payload);
      lastOffset = body.offset!;
      await Promise.all(
        fast.map((c) =>
          c.waitFor(
            is('event', (e) => e.offset === lastOffset),
            0,
            5_000,
          ),
        ),
      );
      latenciesMs.push(performance.now() - sentAt);
    }
    for (const c of fast) expect(c.ofType('event')).toHaveLength(300);
    latenciesMs.sort((a, b) => a - b);
    // Loose bound on purpose: it fails only if the fast clients were made to wait for the slow one.
    expect(latenciesMs[Math.floor(latenciesMs.length * 0.99)]!).toBeLessThan(2_000);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Once it reads again, the slow client learns of every offset: delivered, named in a gap, or the
    // connection is closed 1008 (and it would resume from history).
    const accountedFor = () => {
      const covered = new Set(slow.ofType('event').map((e) => e.offset));
      for (const g of slow.ofType('gap')) for (let o = g.from; o <= g.to; o++) covered.add(o);
      return Array.from({ length: lastOffset }, (_, i) => i + 1).every((o) => covered.has(o));
    };
    const end = await Promise.race([
      slow.waitForClose(10_000).then((c) => ({ closed: c })),
      slow.waitFor((_m): _m is never => accountedFor(), 0, 10_000).then(() => ({ closed: null })),
    ]);
    const gaps = slow.ofType('gap');
    if (end.closed) expect(end.closed.code).toBe(1008);
    else expect(accountedFor()).toBe(true);
    expect(slow.ofType('throttle').length).toBeGreaterThan(0);
    expect(gaps.length > 0 || end.closed !== null).toBe(true);
    expect(server.gateway.stats().events.gaps + server.gateway.stats().slowDisconnects).toBeGreaterThan(0);
  }, 60_000);
});

describe('graceful drain', () => {
  it('closes every client with 1001 and a reconnect hint, then refuses new handshakes', async () => {
    server = await serve({ 'gateway.drainRetryJitterMs': 4_000 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => probe(server!)));
    const closing = server.close();
    const closes = await Promise.all(clients.map((c) => c.waitForClose()));
    for (const close of closes) {
      expect(close.code).toBe(1001);
      const hint = retryHintOf(close.reason);
      expect(hint).not.toBeNull();
      expect(hint!).toBeLessThan(4_000);
    }
    await closing;
    server = undefined;
  });
});
