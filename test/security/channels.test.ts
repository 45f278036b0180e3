// What a connection may read and for how long (docs/security.md), against the real server: grants from
// the token, the owner's user.{sub}.> channels, another user's channels, replay following subscribe, the
// expiry warning, a refresh that keeps the connection, and the 4003 close without one.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { request, settle, start, type Started } from '../server/server-fixture.js';
import { hs256, nowS, SECRET } from './tokens.js';

let server: Started | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await server?.close();
  server = undefined;
});

const jwt = { 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'auth.refreshWindowMs': '1000' };

interface Peer {
  readonly ws: WebSocket;
  send(message: unknown): void;
  /** The next frame of `type` (frames of other types are kept for later calls). */
  next(type: string): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

async function connectAs(claims: Record<string, unknown>): Promise<Peer> {
  const ws = new WebSocket(`${server!.wsUrl}?v=1`, { headers: { Authorization: `Bearer ${await hs256(claims)}` } });
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const result = await settle(ws);
  if ('refusal' in result) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  sockets.push(ws);
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === type);
      if (i >= 0) return frames.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { ws, send: (message) => ws.send(JSON.stringify(message)), next, closed };
}

const hour = (): number => nowS() + 3_600;

describe('channel permissions', () => {
  it('answers a forbidden channel with its own error and subscribes the rest', async () => {
    server = await start(jwt);
    const alice = await connectAs({ sub: 'alice', exp: hour(), channels: ['news.>'] });
    alice.send({ type: 'subscribe', id: 1, channels: ['news.eu', 'secret.plans'] });
    expect(await alice.next('error')).toEqual({
      type: 'error',
      id: 1,
      code: 'forbidden',
      channel: 'secret.plans',
      message: 'not allowed to subscribe to "secret.plans": no grant in the token covers it',
    });
    const reply = await alice.next('subscribed');
    expect(Object.keys(reply.channels as object)).toEqual(['news.eu']);
    // A pattern wider than the grant is refused too: news.> does not cover >.
    alice.send({ type: 'subscribe', id: 2, channels: ['>'] });
    expect(await alice.next('error')).toMatchObject({ id: 2, code: 'forbidden', channel: '>' });
    expect(await alice.next('subscribed')).toEqual({ type: 'subscribed', id: 2, channels: {} });
  });

  it("lets a user read user.{sub}.> without a grant and refuses another user's", async () => {
    server = await start(jwt);
    const alice = await connectAs({ sub: 'alice', exp: hour() });
    alice.send({ type: 'subscribe', id: 1, channels: ['user.alice.inbox', 'user.bob.inbox', 'user.*.inbox'] });
    expect(await alice.next('error')).toMatchObject({ id: 1, code: 'forbidden', channel: 'user.bob.inbox' });
    expect(await alice.next('error')).toMatchObject({ id: 1, code: 'forbidden', channel: 'user.*.inbox' });
    expect(Object.keys((await alice.next('subscribed')).channels as object)).toEqual(['user.alice.inbox']);
    expect((await request(server, 'POST', '/publish', JSON.stringify({ channel: 'user.alice.inbox', data: { hi: 1 } }))).status).toBe(200);
    expect(await alice.next('event')).toMatchObject({ ch: 'user.alice.inbox', data: { hi: 1 } });
  });

  it('lets replay follow subscribe: history of a forbidden channel is not reachable', async () => {
    server = await start(jwt);
    await request(server, 'POST', '/publish', JSON.stringify({ channel: 'secret.plans', data: 1 }));
    const alice = await connectAs({ sub: 'alice', exp: hour(), channels: ['news.>'] });
    alice.send({ type: 'replay', id: 3, channel: 'secret.plans', from: 0, to: 1 });
    expect(await alice.next('error')).toEqual({
      type: 'error',
      id: 3,
      code: 'not_subscribed',
      message: 'replay of "secret.plans" needs a subscription that covers it',
    });
    alice.send({ type: 'subscribe', id: 4, channels: ['secret.plans'], since: { 'secret.plans': { epoch: 'x', offset: 0 } } });
    expect(await alice.next('error')).toMatchObject({ id: 4, code: 'forbidden', channel: 'secret.plans' });
    expect(await alice.next('subscribed')).toEqual({ type: 'subscribed', id: 4, channels: {} });
  });
});

describe('token expiry', () => {
  it('warns before exp, accepts a refresh for the same sub, and the connection outlives the first token', async () => {
    server = await start(jwt);
    const exp = nowS() + 3;
    const alice = await connectAs({ sub: 'alice', exp, channels: ['news.>'] });
    const warning = await alice.next('token_expiring');
    expect(warning.expiresInMs).toBeGreaterThan(0);
    expect(warning.expiresInMs).toBeLessThanOrEqual(1_000);
    // Another user's token is no refresh for alice.
    alice.send({ type: 'refresh', id: 8, token: await hs256({ sub: 'bob', exp: hour() }) });
    expect(await alice.next('error')).toEqual({
      type: 'error',
      id: 8,
      code: 'invalid_token',
      message: 'refresh refused: the new token is for another user (sub must stay "alice")',
    });
    alice.send({ type: 'refresh', id: 9, token: await hs256({ sub: 'alice', exp: hour(), channels: ['news.>'] }) });
    const refreshed = await alice.next('refreshed');
    expect(refreshed).toMatchObject({ type: 'refreshed', id: 9 });
    expect(refreshed.expiresInMs).toBeGreaterThan(3_500_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 500));
    alice.send({ type: 'ping', id: 10 });
    expect(await alice.next('pong')).toEqual({ type: 'pong', id: 10 });
  });

  it('ends the subscriptions a refreshed token no longer covers, each with a forbidden error', async () => {
    server = await start(jwt);
    const alice = await connectAs({ sub: 'alice', exp: hour(), channels: ['news.>', 'sport.>'] });
    alice.send({ type: 'subscribe', id: 1, channels: ['news.eu', 'sport.f1'] });
    await alice.next('subscribed');
    alice.send({ type: 'refresh', id: 2, token: await hs256({ sub: 'alice', exp: hour(), channels: ['news.>'] }) });
    expect(await alice.next('error')).toEqual({
      type: 'error',
      code: 'forbidden',
      channel: 'sport.f1',
      message: 'the refreshed token no longer covers "sport.f1"; unsubscribed',
    });
    expect(await alice.next('refreshed')).toMatchObject({ id: 2 });
    await request(server, 'POST', '/publish', JSON.stringify({ channel: 'sport.f1', data: 'hidden' }));
    await request(server, 'POST', '/publish', JSON.stringify({ channel: 'news.eu', data: 'shown' }));
    expect(await alice.next('event')).toMatchObject({ ch: 'news.eu', data: 'shown' });
  });

  it('closes with 4003 at exp when no refresh came, after the warning', async () => {
    server = await start(jwt);
    const alice = await connectAs({ sub: 'alice', exp: nowS() + 2 });
    await alice.next('token_expiring');
    expect(await alice.closed).toEqual({ code: 4003, reason: 'token expired: reconnect with a new token' });
  });
});
