// The README's example, for real: the TypeScript client against the real server on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from './support.js';

let server: RunningServer | undefined;
let client: OdinClient | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = undefined;
});

function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 5);
  });
}

describe('the TypeScript client against the real server', () => {
  it('receives what curl publishes, in order', async () => {
    server = await serve();
    const received: unknown[] = [];
    client = connect(server.wsUrl);
    client.subscribe('odin.token.ABC.trade', { onEvent: (data) => received.push(data) });
    await eventually(() => client!.position('odin.token.ABC.trade') !== undefined, 'the subscribe reply');
    for (let i = 0; i < 5; i++) await publish(server, 'odin.token.ABC.trade', { price: 40 + i });
    await eventually(() => received.length === 5, '5 events');
    expect(received).toEqual([40, 41, 42, 43, 44].map((price) => ({ price })));
  });

  it('loses nothing across a dropped connection: it resumes and replays what it missed', async () => {
    server = await serve({ 'gateway.heartbeatMs': 60_000 });
    const received: number[] = [];
    const gaps: unknown[] = [];
    client = connect(server.wsUrl, { reconnect: { baseMs: 20, capMs: 100 } });
    client.subscribe('feed', { onEvent: (data) => received.push(data as number), onGap: (_c, gap) => gaps.push(gap), onReset: (_c, r) => gaps.push(r) });
    await eventually(() => client!.position('feed') !== undefined, 'the subscribe reply');
    await publish(server, 'feed', 1);
    await eventually(() => received.length === 1, 'the first event');
    // Cut every connection from the server side without a close handshake, then publish while it is away.
    for (const session of [...(server.gateway as unknown as { ctx: { sessions: Map<string, { conn: { terminate(): void } }> } }).ctx.sessions.values()])
      session.conn.terminate();
    for (const n of [2, 3, 4]) await publish(server, 'feed', n);
    await eventually(() => received.length === 4, 'the replayed events', 10_000);
    await publish(server, 'feed', 5);
    await eventually(() => received.length === 5, 'the live event after the resume');
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(gaps).toEqual([]);
    expect(client.counters.reconnects).toBeGreaterThanOrEqual(1);
  });
});
