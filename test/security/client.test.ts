// The TypeScript client in secure mode against the real server: it fetches a token per connection, keeps
// the connection across the token's expiry by refreshing on its own, and reports a forbidden channel
// without losing the channels it may read.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type OdinClient, type OdinError } from '../../src/client/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from '../e2e/support.js';
import { hs256, nowS, SECRET } from './tokens.js';

let server: RunningServer | undefined;
let client: OdinClient | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = undefined;
});

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
  }
}

const jwt = { 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'auth.refreshWindowMs': 2_000, 'auth.clockToleranceS': 0 };

describe('the client with tokens', () => {
  it('refreshes by itself: one connection outlives several 4-second tokens', async () => {
    server = await serve(jwt);
    let issued = 0;
    const received: unknown[] = [];
    client = connect(server.wsUrl, {
      getToken: () => {
        issued++;
        return hs256({ sub: 'alice', exp: nowS() + 4, channels: ['feed'] });
      },
    });
    client.subscribe('feed', { onEvent: (data) => received.push(data) });
    await eventually(() => client!.position('feed') !== undefined, 'the subscribe reply');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await publish(server, 'feed', { n: 1 });
    await eventually(() => received.length === 1, 'an event after the first token expired');
    // One token to connect, then refreshes; never a reconnect.
    expect(issued).toBeGreaterThanOrEqual(2);
    expect(client.counters.reconnects).toBe(0);
    expect(client.state).toBe('open');
  });

  it('reports a forbidden channel with its name and keeps the allowed one', async () => {
    server = await serve(jwt);
    const errors: OdinError[] = [];
    const received: unknown[] = [];
    client = connect(server.wsUrl, { token: await hs256({ sub: 'alice', exp: nowS() + 600, channels: ['news.>'] }), onError: (e) => errors.push(e) });
    const secret = client.subscribe('secret.plans', { onEvent: () => undefined });
    client.subscribe('news.eu', { onEvent: (data) => received.push(data) });
    await eventually(() => client!.position('news.eu') !== undefined, 'the subscribe reply');
    expect(errors).toEqual([
      {
        origin: 'server',
        code: 'forbidden',
        message: 'not allowed to subscribe to "secret.plans": no grant in the token covers it',
        channels: ['secret.plans'],
      },
    ]);
    expect(secret.active).toBe(false);
    await publish(server, 'news.eu', 1);
    await eventually(() => received.length === 1, 'the allowed channel to deliver');
  });
});
