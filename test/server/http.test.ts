// The HTTP endpoints of the real server: health, readiness, stats, metrics, and POST /publish validation
// and authentication.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { createHttpHandler, type HttpGateway } from '../../src/server/http.js';
import { request, start, type Started } from './server-fixture.js';

let server: Started | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('probes and introspection', () => {
  it('answers /health, /ready and /stats', async () => {
    server = await start();
    const health = await request(server, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', broker: { kind: 'memory', status: 'live', detail: null } });
    const ready = await request(server, 'GET', '/ready');
    expect([ready.status, ready.json]).toEqual([200, { ready: true, draining: false, broker: { kind: 'memory', status: 'live', detail: null } }]);
    const stats = await request(server, 'GET', '/stats');
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({ ready: true, connections: { current: 0, capacity: expect.any(Number) } });
    expect((await request(server, 'HEAD', '/health')).text).toBe('');
  });

  it('exposes our metric names and the process metrics in Prometheus text', async () => {
    server = await start();
    const metrics = await request(server, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    for (const name of [
      'odin_connections',
      'odin_handshakes_total',
      'odin_events_published_total',
      'odin_connections_capacity',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(metrics.text).toContain(`# TYPE ${name} `);
    }
  });

  it('answers 404 for unknown paths, 405 with Allow for wrong methods, 426 for a plain GET on /ws', async () => {
    server = await start();
    const missing = await request(server, 'GET', '/nope');
    expect([missing.status, (missing.json as { error: string }).error]).toEqual([404, 'not_found']);
    const wrong = await request(server, 'DELETE', '/health');
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const getPublish = await request(server, 'GET', '/publish');
    expect([getPublish.status, getPublish.headers.get('allow')]).toEqual([405, 'POST']);
    const ws = await request(server, 'GET', '/ws');
    expect([ws.status, ws.headers.get('upgrade')]).toEqual([426, 'websocket']);
  });

  it('reports not ready (503) while the gateway is not ready or drains, and says which', async () => {
    let ready = false;
    let draining = false;
    // As the Gateway does: ready() is false while draining (one drain flag, read by readiness and stats).
    const gateway: HttpGateway = {
      ready: () => ready && !draining,
      get draining() {
        return draining;
      },
      stats: () => ({}) as ReturnType<HttpGateway['stats']>,
      publish: () => undefined,
    };
    const http = createServer(
      createHttpHandler({
        gateway,
        metrics: { exposition: async () => '', contentType: 'text/plain' },
        apiKey: null,
        publishBodyBytesMax: 1024,
        nowMs: () => 0,
        startedAtMs: 0,
        wsPath: '/ws',
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/ready`;
    const answer = async () => {
      const res = await fetch(url);
      return [res.status, await res.json()];
    };
    expect(await answer()).toEqual([503, { ready: false, draining: false }]);
    ready = true;
    expect(await answer()).toEqual([200, { ready: true, draining: false }]);
    draining = true;
    expect(await answer()).toEqual([503, { ready: false, draining: true }]);
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
});

describe('POST /publish', () => {
  it('publishes and answers the assigned position', async () => {
    server = await start();
    const first = await request(server, 'POST', '/publish', JSON.stringify({ channel: 'odin.token.ABC.trade', data: { px: 1 } }));
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ epoch: expect.any(String), offset: expect.any(Number) });
    const second = await request(server, 'POST', '/publish', JSON.stringify({ channel: 'odin.token.ABC.trade', data: null }));
    expect((second.json as { offset: number }).offset).toBeGreaterThan((first.json as { offset: number }).offset);
  });

  it.each([
    ['{"channel":', 400, 'invalid_json'],
    ['[1,2]', 400, 'invalid_message'],
    ['"text"', 400, 'invalid_message'],
    ['{"data":1}', 400, 'missing_field'],
    ['{"channel":"odin.a"}', 400, 'missing_field'],
    ['{"channel":42,"data":1}', 400, 'invalid_field'],
    ['{"channel":"odin..a","data":1}', 400, 'invalid_channel'],
    ['{"channel":"odin.>","data":1}', 400, 'invalid_channel'],
    ['{"channel":"","data":1}', 400, 'invalid_channel'],
  ])('rejects %s with %i %s', async (body, status, code) => {
    server = await start();
    const answer = await request(server, 'POST', '/publish', body, { 'Content-Type': 'application/json' });
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ error: code, message: expect.any(String) });
  });

  it.each([
    ['invalid_channel', 400, null],
    ['draining', 503, '1'],
    ['broker_unavailable', 503, '1'],
  ] as const)('maps the core refusal %s to %i (Retry-After %s)', async (code, status, retryAfter) => {
    // The core decides in domain terms (src/core/publisher.ts); the HTTP layer only chooses the status.
    const gateway: HttpGateway = {
      ready: () => true,
      draining: false,
      stats: () => ({}) as ReturnType<HttpGateway['stats']>,
      publish: (_channel, _data, done) => done({ ok: false, code, message: `refused: ${code}` }),
    };
    const http = createServer(
      createHttpHandler({
        gateway,
        metrics: { exposition: async () => '', contentType: 'text/plain' },
        apiKey: null,
        publishBodyBytesMax: 1024,
        nowMs: () => 0,
        startedAtMs: 0,
        wsPath: '/ws',
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'odin.a', data: 1 }),
    });
    expect([res.status, res.headers.get('retry-after'), await res.json()]).toEqual([status, retryAfter, { error: code, message: `refused: ${code}` }]);
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('rejects a body over the limit with 413', async () => {
    server = await start({ 'server.publishBodyBytesMax': '2048' });
    const answer = await request(server, 'POST', '/publish', JSON.stringify({ channel: 'odin.a', data: 'x'.repeat(4096) }));
    expect([answer.status, (answer.json as { error: string }).error]).toEqual([413, 'body_too_large']);
  });

  it('requires the API key when one is configured', async () => {
    const key = 'k3y-0123456789abcdef';
    server = await start({ 'publish.apiKey': key });
    const body = JSON.stringify({ channel: 'odin.a', data: 1 });
    const none = await request(server, 'POST', '/publish', body);
    expect([none.status, (none.json as { error: string }).error, none.headers.get('www-authenticate')]).toEqual([
      401,
      'unauthorized',
      'Bearer realm="odin-publish"',
    ]);
    expect((await request(server, 'POST', '/publish', body, { Authorization: `Bearer ${key}x` })).status).toBe(401);
    expect((await request(server, 'POST', '/publish', body, { Authorization: `Basic ${key}` })).status).toBe(401);
    expect((await request(server, 'POST', '/publish', body, { 'X-API-Key': 'nope' })).status).toBe(401);
    expect((await request(server, 'POST', '/publish', body, { Authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await request(server, 'POST', '/publish', body, { 'X-API-Key': key })).status).toBe(200);
    // The key never reaches the logs.
    expect(JSON.stringify(server.logs)).not.toContain(key);
  });
});

describe('keep-alive', () => {
  // server.httpKeepAliveMs replaces Node's 5 s default, which closed publishers' connections between
  // bursts seconds apart (docs/benchmarks.md, "Burst drain and keep-alive").
  const idleLifetimeMs = async (s: Started): Promise<number> => {
    const { port } = new URL(s.url);
    const socket = connectTcp(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write('GET /health HTTP/1.1\r\nHost: odin\r\nConnection: keep-alive\r\n\r\n');
    await answered;
    const t0 = performance.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return performance.now() - t0;
  };

  it('closes an idle connection after server.httpKeepAliveMs, not before', async () => {
    server = await start({ 'server.httpKeepAliveMs': '1500' });
    const lifetime = await idleLifetimeMs(server);
    // Not before the setting; and closed by it, not by Node's own 5 s default.
    expect(lifetime).toBeGreaterThanOrEqual(1_400);
    expect(lifetime).toBeLessThan(4_900);
  });
});
