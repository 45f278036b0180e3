// The HTTP side of docs/security.md against the real server: publishing needs the key and JSON, each key
// is rate limited, /stats names no users to anonymous callers, the internal port takes /stats and
// /metrics off the public one, and a gateway bound beyond loopback will not start open.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { request, start, type Started } from '../server/server-fixture.js';
import { hs256, nowS, SECRET } from './tokens.js';
import { WebSocket } from 'ws';
import { settle } from '../server/server-fixture.js';

let server: Started | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const KEY = 'publish-key-0123456789';
const body = JSON.stringify({ channel: 'news.eu', data: { n: 1 } });

describe('POST /publish', () => {
  it('refuses a publish without the key with 401 and WWW-Authenticate', async () => {
    server = await start({ 'publish.apiKey': KEY });
    const answer = await request(server, 'POST', '/publish', body);
    expect([answer.status, answer.json, answer.headers.get('www-authenticate')]).toEqual([
      401,
      { error: 'unauthorized', message: 'publishing needs "Authorization: Bearer <key>" or "X-API-Key: <key>"' },
      'Bearer realm="odin-publish"',
    ]);
    expect((await request(server, 'POST', '/publish', body, { 'Content-Type': 'application/json', 'X-API-Key': KEY })).status).toBe(200);
  });

  it('refuses text/plain (what a cross-site form can send) with 415, and a body without a type', async () => {
    server = await start({ 'publish.apiKey': KEY });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const answer = await request(server, 'POST', '/publish', body, { 'Content-Type': type, Authorization: `Bearer ${KEY}` });
      expect([answer.status, answer.json]).toEqual([
        415,
        { error: 'unsupported_media_type', message: 'POST /publish takes "Content-Type: application/json" only' },
      ]);
    }
    const charset = await request(server, 'POST', '/publish', body, { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${KEY}` });
    expect(charset.status).toBe(200);
  });

  it('holds each key to publish.ratePerSecond with 429 and Retry-After', async () => {
    server = await start({ 'publish.apiKey': KEY, 'publish.ratePerSecond': '0.5', 'publish.burst': '2' });
    const send = () => request(server!, 'POST', '/publish', body, { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` });
    expect([(await send()).status, (await send()).status]).toEqual([200, 200]);
    const third = await send();
    expect([third.status, third.json, third.headers.get('retry-after')]).toEqual([
      429,
      { error: 'rate_limited', message: 'this publish key is over publish.ratePerSecond; retry after the wait' },
      '2',
    ]);
  });
});

describe('/stats and the internal port', () => {
  async function connectAlice(): Promise<WebSocket> {
    const ws = new WebSocket(`${server!.wsUrl}?v=1`, { headers: { Authorization: `Bearer ${await hs256({ sub: 'alice', exp: nowS() + 600 })}` } });
    const result = await settle(ws);
    if ('refusal' in result) throw new Error('refused');
    return ws;
  }

  it('shows anonymous callers counts but no user ids; the key holder sees them', async () => {
    server = await start({ 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'publish.apiKey': KEY });
    const ws = await connectAlice();
    const anonymous = (await request(server, 'GET', '/stats')).json as { connections: Record<string, unknown> };
    expect(anonymous.connections).toMatchObject({ current: 1, users: 1 });
    expect(anonymous.connections).not.toHaveProperty('topUsers');
    expect(JSON.stringify(anonymous)).not.toContain('alice');
    const operator = (await request(server, 'GET', '/stats', undefined, { Authorization: `Bearer ${KEY}` })).json as { connections: Record<string, unknown> };
    expect(operator.connections.topUsers).toEqual([{ userId: 'alice', connections: 1 }]);
    ws.terminate();
  });

  it('serves /stats (with user ids) and /metrics on server.internalPort only', async () => {
    server = await start({ 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'server.internalPort': '0' });
    const ws = await connectAlice();
    expect((await request(server, 'GET', '/stats')).status).toBe(404);
    expect((await request(server, 'GET', '/metrics')).status).toBe(404);
    expect((await request(server, 'GET', '/health')).status).toBe(200);
    const internal = { ...server, url: server.internalUrl! };
    const stats = (await request(internal, 'GET', '/stats')).json as { connections: Record<string, unknown> };
    expect(stats.connections.topUsers).toEqual([{ userId: 'alice', connections: 1 }]);
    expect((await request(internal, 'GET', '/metrics')).text).toContain('odin_connections');
    expect((await request(internal, 'POST', '/publish', body)).status).toBe(404);
    ws.terminate();
  });
});

describe('start-up beyond loopback', () => {
  function problems(settings: Record<string, string>): string[] {
    const flags = Object.entries(settings).map(([path, raw]) => ({ path, raw, flag: `--set ${path}` }));
    try {
      loadConfig({ flags });
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    return [];
  }

  it('refuses to start open, naming the settings to choose', () => {
    expect(problems({ 'server.host': '0.0.0.0' })).toEqual([
      'auth.mode (default)="auto": expected jwt or none: server.host=0.0.0.0 is beyond loopback, so choose auth.mode (WS_AUTH_MODE=jwt with a key, or none to accept anonymous clients on purpose)',
      'publish.apiKey (default)=unset: expected a key: server.host=0.0.0.0 is beyond loopback, so POST /publish needs publish.apiKey (WS_PUBLISH_API_KEY, 16+ characters)',
    ]);
    expect(problems({ 'server.host': '0.0.0.0', 'auth.mode': 'none', 'publish.apiKey': KEY })).toEqual([]);
    expect(problems({ 'server.host': '127.0.0.1' })).toEqual([]);
    expect(problems({ 'auth.mode': 'jwt' })).toEqual([
      '--set auth.mode="jwt": expected one key source with auth.mode=jwt: auth.hmacSecret, auth.publicKeyFile, auth.jwksFile or auth.jwksUrl (0 set)',
    ]);
  });

  it('logs anonymous mode loudly and the address actually bound', async () => {
    server = await start();
    const messages = server.logs.map((l) => String(l.msg));
    expect(messages.some((m) => m.startsWith('ANONYMOUS MODE: connections are not authenticated'))).toBe(true);
    expect(messages.find((m) => m.startsWith('bound to'))).toBe(`bound to 127.0.0.1:${server.port}`);
    expect(messages.find((m) => m.startsWith('listening on'))).toBe(`listening on ${server.url} (WebSocket ${server.wsUrl})`);
  });
});
