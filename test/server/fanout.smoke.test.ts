// Smoke test of the real write path under fan-out: many real clients, both write modes, and one client
// whose TCP socket stops reading. Others must get every event promptly and byte-identical (I5, I6); the
// stalled one, once it reads again, must account for every offset: delivered, or named by a gap notice,
// or closed 1008 as a slow consumer (I3).
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { start, type Started } from './server-fixture.js';

let server: Started | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Message {
  type: string;
  offset?: number;
  from?: number;
  to?: number;
}

interface Client {
  readonly ws: WebSocket;
  readonly raw: Buffer[];
  /** Parsed once on arrival: the polling below must not re-parse megabytes every few milliseconds. */
  readonly messages: Message[];
  closeCode: number | null;
}

async function client(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const c: Client = { ws, raw: [], messages: [], closeCode: null };
  ws.on('message', (data: Buffer) => {
    c.raw.push(data);
    c.messages.push(JSON.parse(data.toString('utf8')) as Message);
  });
  ws.on('close', (code) => (c.closeCode = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return c;
}

const messagesOf = (c: Client): readonly Message[] => c.messages;

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function publish(url: string, channel: string, data: unknown): Promise<number> {
  const res = await fetch(`${url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel, data }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { offset: number }).offset;
}

describe.each(['preframed', 'send'] as const)('fan-out over real sockets (%s)', (writeMode) => {
  it('delivers every event to 100 clients, byte-identical, while a stalled client falls behind', async () => {
    server = await start({
      'server.writeMode': writeMode,
      'log.level': 'silent',
      'admission.handshakeBurst': '1000',
      'outbound.queueBytesMax': String(256 * 1024),
    });
    const channel = 'odin.token.ABC.trade';
    // Only the stalled client takes the heavy channel: megabytes for it, kilobytes for everyone else.
    const heavy = 'odin.token.ABC.book';
    const clients = await Promise.all(Array.from({ length: 100 }, () => client(`${server!.wsUrl}?v=1`)));
    const stalled = await client(`${server.wsUrl}?v=1`);
    for (const c of clients) c.ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel] }));
    stalled.ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel, heavy] }));
    await until(() => [...clients, stalled].every((c) => messagesOf(c).some((m) => m.type === 'subscribed')));

    const stalledSocket = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    stalledSocket.pause();
    const offsets: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < 40; i++) {
      const offset = await publish(server.url, channel, { i, pad: 'x'.repeat(1024) });
      offsets.push(offset);
      all.push(offset, await publish(server.url, heavy, { i, pad: 'y'.repeat(200 * 1024) }));
    }

    const eventsOf = (c: Client) => c.raw.filter((_, i) => c.messages[i]!.type === 'event');
    await until(() => clients.every((c) => eventsOf(c).length === offsets.length));
    const reference = eventsOf(clients[0]!);
    expect(clients[0]!.messages.filter((m) => m.type === 'event').map((m) => m.offset)).toEqual(offsets);
    for (const c of clients) {
      const events = eventsOf(c);
      for (let i = 0; i < events.length; i++) expect(events[i]!.equals(reference[i]!)).toBe(true);
    }

    stalledSocket.resume();
    const accounted = (): Set<number> => {
      const seen = new Set<number>();
      for (const m of messagesOf(stalled)) {
        if (m.type === 'event' && m.offset !== undefined) seen.add(m.offset);
        if (m.type === 'gap' && m.from !== undefined && m.to !== undefined) for (let o = m.from; o <= m.to; o++) seen.add(o);
      }
      return seen;
    };
    await until(() => stalled.closeCode !== null || all.every((o) => accounted().has(o)));
    if (stalled.closeCode !== null) expect(stalled.closeCode).toBe(1008);
    else expect(all.filter((o) => !accounted().has(o))).toEqual([]);
    for (const c of [...clients, stalled]) c.ws.terminate();
  });
});
