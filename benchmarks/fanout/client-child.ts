// The fan-out bench's clients, in their own process so their parsing does not share the server's core.
// Holds one set of N ws clients per server, subscribes each to the bench channel, and reports when every
// client of a set has received the round's events (the last receipt time is the round's end).
//
// By default a client checks only that each event frame is one (by its first bytes) and parses the first
// and last of a round; with `verify` it parses every event and checks round and order.
import { WebSocket } from 'ws';
import { EVENT_PREFIX, type FromClients, type ServerVariant, type ToClients } from './messages.js';

const PREFIX = Buffer.from(EVENT_PREFIX);
const CONNECT_CONCURRENCY = 50;

interface Client {
  readonly ws: WebSocket;
  events: number;
  bytes: number;
  other: number;
}

interface ClientSet {
  readonly name: ServerVariant;
  readonly clients: Client[];
  readonly verify: boolean;
  round: number;
  expect: number;
  done: number;
  errors: string[];
  lastNs: bigint;
  armed: boolean;
}

const sets = new Map<ServerVariant, ClientSet>();

function send(message: FromClients): void {
  process.send?.(message);
}

function isEvent(data: Buffer): boolean {
  return data.length >= PREFIX.length && data.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) === 0;
}

function onMessage(set: ClientSet, client: Client, data: Buffer): void {
  if (!isEvent(data)) {
    client.other++;
    // A gap or throttle notice means the server degraded this client: the round cannot complete fully.
    const text = data.toString('utf8');
    if (!text.startsWith('{"type":"welcome"') && !text.startsWith('{"type":"subscribed"') && set.errors.length < 10)
      set.errors.push(`unexpected: ${text.slice(0, 200)}`);
    return;
  }
  if (!set.armed) {
    if (set.errors.length < 10) set.errors.push('event outside a round');
    return;
  }
  const seq = client.events++;
  client.bytes += data.length;
  if (set.verify || seq === 0 || client.events === set.expect) {
    const event = JSON.parse(data.toString('utf8')) as { data: { round: number; seq: number } };
    if ((event.data.round !== set.round || event.data.seq !== seq) && set.errors.length < 10) {
      set.errors.push(`expected round ${set.round} seq ${seq}, got round ${event.data.round} seq ${event.data.seq}`);
    }
  }
  if (client.events === set.expect) {
    set.done++;
    if (set.done === set.clients.length) {
      set.lastNs = process.hrtime.bigint();
      set.armed = false;
      let events = 0;
      let bytes = 0;
      let other = 0;
      for (const c of set.clients) {
        events += c.events;
        bytes += c.bytes;
        other += c.other;
      }
      send({ type: 'done', set: set.name, round: set.round, lastNs: set.lastNs.toString(), events, bytes, otherMessages: other, errors: set.errors });
    }
  }
}

function connectOne(set: ClientSet, url: string, channel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client: Client = { ws, events: 0, bytes: 0, other: 0 };
    const timer = setTimeout(() => reject(new Error(`no subscribe reply from ${url} within 10 s`)), 10_000);
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel] })));
    const untilSubscribed = (data: Buffer): void => {
      if (!data.toString('utf8').startsWith('{"type":"subscribed"')) return;
      clearTimeout(timer);
      ws.off('message', untilSubscribed);
      ws.on('message', (frame: Buffer) => onMessage(set, client, frame));
      set.clients.push(client);
      resolve();
    };
    ws.on('message', untilSubscribed);
  });
}

async function connectSet(message: Extract<ToClients, { cmd: 'connect' }>): Promise<void> {
  const started = performance.now();
  const set: ClientSet = { name: message.set, clients: [], verify: message.verify, round: -1, expect: 0, done: 0, errors: [], lastNs: 0n, armed: false };
  sets.set(message.set, set);
  for (let i = 0; i < message.clients; i += CONNECT_CONCURRENCY) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(message.clients, i + CONNECT_CONCURRENCY); j++) batch.push(connectOne(set, message.url, message.channel));
    await Promise.all(batch);
  }
  send({ type: 'connected', set: message.set, clients: set.clients.length, ms: Math.round(performance.now() - started) });
}

process.on('message', (message: ToClients) => {
  switch (message.cmd) {
    case 'connect':
      connectSet(message).catch((error: unknown) =>
        send({ type: 'failed', message: `connecting ${message.set}: ${String((error as Error).message ?? error)}` }),
      );
      return;
    case 'arm': {
      const set = sets.get(message.set)!;
      set.round = message.round;
      set.expect = message.expect;
      set.done = 0;
      set.errors = [];
      for (const c of set.clients) {
        c.events = 0;
        c.bytes = 0;
        c.other = 0;
      }
      set.armed = true;
      send({ type: 'armed', set: message.set, round: message.round });
      return;
    }
    case 'status': {
      const set = sets.get(message.set);
      const counts = set?.clients.map((c) => c.events) ?? [];
      const text =
        set === undefined
          ? 'no such set'
          : `${set.done}/${set.clients.length} clients done; events per client min ${Math.min(...counts)} max ${Math.max(...counts)}; errors: ${set.errors.join(' | ')}`;
      send({ type: 'status', set: message.set, text });
      return;
    }
    case 'stop':
      for (const set of sets.values()) for (const c of set.clients) c.ws.terminate();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
