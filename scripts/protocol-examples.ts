// Regenerate: npx tsx scripts/protocol-examples.ts > /tmp/examples.txt, then update docs/protocol.md by hand.
// Generates the examples of docs/protocol.md by driving the real core (Gateway + MemoryBroker) with fake
// connections. Prints each exchange as "→ client frame" / "← server frame" lines with the exact text.
import { harness } from '../test/support/core-harness.js';
import { FakeConnection, RecordingTelemetry } from '../test/support/fakes.js';
import { SimClock } from '../sim/adapters/clock-sim.js';
import { seededRandom } from '../test/support/seeded-random.js';
import { MemoryBroker } from '../src/adapters/broker-memory.js';
import { Gateway } from '../src/core/gateway.js';
import { gatewayOptions } from '../src/core/options.js';
import type { Broker, BrokerSink, HistoryRequest, HistoryResult } from '../src/core/ports.js';
import type { Session } from '../src/core/session.js';

const dec = new TextDecoder();
function out(conn: FakeConnection): string[] {
  const lines = conn.frames().map((f) => `← ${dec.decode(f.bytes)}`);
  if (conn.closed) lines.push(`← close ${conn.closed.code} "${conn.closed.reason}"`);
  conn.clear();
  return lines;
}
function section(title: string): void {
  console.log(`\n### ${title}`);
}
function show(lines: string[]): void {
  for (const l of lines) console.log(l);
}
function send(c: { send(m: unknown): void; conn: FakeConnection }, m: unknown): void {
  console.log(`→ ${JSON.stringify(m)}`);
  c.send(m);
  show(out(c.conn));
}
/** One admitted session on a gateway built by hand (custom broker), its welcome already read. */
function openSession(gateway: Gateway, clock: SimClock): { conn: FakeConnection; session: Session } {
  const a = gateway.admit({ ip: '1.2.3.4', userId: null });
  if (!a.ok) throw new Error('refused');
  const conn = new FakeConnection();
  const session = gateway.open(conn, a.ticket);
  clock.settle();
  conn.clear();
  return { conn, session };
}
function sendRaw(c: { sendRaw(t: string): void; conn: FakeConnection }, t: string): void {
  console.log(`→ ${t}`);
  c.sendRaw(t);
  show(out(c.conn));
}

{
  const h = harness({ replayEventsMax: 3, history: { eventsMax: 5 } }, { retention: { eventsMax: 8, bytesMax: 1 << 20, ageMs: 60_000 } });
  section('welcome');
  const c = h.connect();
  show(out(c.conn));
  section('publish before subscribe (POST /publish answers)');
  console.log(JSON.stringify(h.publish('odin.token.ABC.trade', { price: 1.25, size: 100 })));
  console.log(JSON.stringify(h.publish('odin.global.trending', { tokens: ['ABC', 'XYZ'] })));
  section('fresh subscribe: exact + pattern');
  send(c, { type: 'subscribe', id: 1, channels: ['odin.token.ABC.trade', 'odin.global.>'] });
  section('live events');
  h.publish('odin.token.ABC.trade', { price: 1.26, size: 40 });
  h.publish('odin.global.trending', { tokens: ['XYZ'] });
  h.publish('odin.token.XYZ.trade', { price: 9 });
  h.publish('odin.token.ABC.trade', { price: 1.27, size: 10 });
  show(out(c.conn));
  section('ping');
  send(c, { type: 'ping', id: 4 });
  section('replay (from, to]');
  send(c, { type: 'replay', id: 5, channel: 'odin.token.ABC.trade', from: 1, to: 6 });
  section('replay too large');
  for (let i = 0; i < 4; i++) h.publish('odin.token.ABC.trade', { price: 1.3 + i / 100 });
  c.conn.clear();
  send(c, { type: 'replay', id: 6, channel: 'odin.token.ABC.trade', from: 1, to: 10 });
  section('replay not subscribed');
  send(c, { type: 'replay', id: 7, channel: 'odin.token.QQQ.trade', from: 1, to: 3 });
  section('unsubscribe');
  send(c, { type: 'unsubscribe', id: 8, channels: ['odin.global.>', 'odin.token.NOPE.trade'] });

  section('resume ok');
  const epoch = h.broker.epoch();
  const d = h.connect();
  out(d.conn);
  send(d, { type: 'subscribe', id: 1, channels: ['odin.token.ABC.trade'], since: { 'odin.token.ABC.trade': { epoch, offset: 9 } } });
  section('resume epoch_changed');
  send(d, { type: 'subscribe', id: 2, channels: ['odin.token.DEF.trade'], since: { 'odin.token.DEF.trade': { epoch: 'mem-old', offset: 3 } } });
  section('resume too_many');
  send(d, { type: 'subscribe', id: 3, channels: ['odin.token.ABC.trade'], since: { 'odin.token.ABC.trade': { epoch, offset: 5 } } });
  section('resume history_expired');
  for (let i = 0; i < 10; i++) h.publish('odin.token.ABC.trade', { price: 2 + i / 100 });
  out(d.conn);
  send(d, { type: 'subscribe', id: 4, channels: ['odin.token.ABC.trade'], since: { 'odin.token.ABC.trade': { epoch, offset: 2 } } });
  section('replay history_unavailable');
  send(d, { type: 'replay', id: 5, channel: 'odin.token.ABC.trade', from: 2, to: 5 });
  section('pattern resume');
  send(d, { type: 'subscribe', id: 6, channels: ['odin.token.*.trade'], since: { 'odin.token.*.trade': { epoch, offset: 18 } } });
}

{
  section('errors');
  const h = harness({ channelsPerRequestMax: 2, subscriptionsMax: 3 });
  const c = h.connect();
  out(c.conn);
  sendRaw(c, '{"type":"subscribe",');
  sendRaw(c, '[1,2]');
  send(c, { type: 'publish', id: 1 });
  send(c, { type: 'subscribe', id: 2 });
  send(c, { type: 'subscribe', id: 3, channels: [] });
  send(c, { type: 'subscribe', id: 4, channels: ['odin..x'] });
  send(c, { type: 'replay', id: 5, channel: 'odin.token.*.trade', from: 1, to: 2 });
  send(c, { type: 'replay', id: 6, channel: 'a.b', from: 5, to: 5 });
  send(c, { type: 'subscribe', id: 7, channels: ['a', 'b', 'c'] });
  send(c, { type: 'subscribe', id: 8, channels: ['a', 'b'] });
  send(c, { type: 'subscribe', id: 9, channels: ['c', 'd'] });
  send(c, { type: 'subscribe', id: 10, channels: ['a'], since: { a: { epoch: 'x', offset: -1 } } });
  send(c, { type: 'ping', id: -1 });
  section('binary');
  h.gateway.onBinaryMessage(c.session);
  h.clock.settle();
  show(out(c.conn));
}

{
  section('rate limited, then closed');
  const h = harness({ inbound: { messageBurst: 2, messagesPerSecond: 1, violationsMax: 2 } });
  const c = h.connect();
  out(c.conn);
  for (let i = 1; i <= 5; i++) send(c, { type: 'ping', id: i });
}

{
  section('slow client: throttle, shed gap, conflated gap');
  const h = harness({
    outbound: { queueBytesMax: 2_000, socketHighWaterBytes: 500, throttleLevels: [0.3, 0.6, 0.9], slowCloseAfterMs: 5_000 },
    channelClasses: [
      { pattern: 'odin.global.>', priority: 'normal', conflate: true },
      { pattern: 'odin.token.*.book', priority: 'low', conflate: false },
      { pattern: 'odin.token.*.trade', priority: 'critical', conflate: false },
    ],
  });
  const c = h.connect();
  out(c.conn);
  send(c, { type: 'subscribe', id: 1, channels: ['odin.global.>', 'odin.token.ABC.book', 'odin.token.ABC.trade'] });
  c.conn.buffered = 600; // the socket is backed up: frames wait in the core queue
  for (let i = 0; i < 6; i++) {
    h.publish('odin.global.trending', { n: i, pad: 'x'.repeat(100) });
    h.publish('odin.token.ABC.book', { n: i, pad: 'x'.repeat(100) });
    h.publish('odin.token.ABC.trade', { n: i });
  }
  c.conn.buffered = 0;
  h.gateway.onWritable(c.session);
  h.clock.settle();
  show(out(c.conn));
  section('slow consumer close');
  c.conn.buffered = 1_900;
  for (let i = 0; i < 40; i++) h.publish('odin.token.ABC.trade', { n: i, pad: 'y'.repeat(100) });
  h.clock.advance(6_000);
  const lines = out(c.conn);
  show(lines.slice(-3));
}

{
  section('unavailable (broker cannot answer history)');
  const clock = new SimClock();
  const random = seededRandom(7);
  const inner = new MemoryBroker(clock, random);
  const broker: Broker = {
    epoch: () => inner.epoch(),
    start: (s) => inner.start(s),
    stop: () => inner.stop(),
    publish: (c, d, done) => inner.publish(c, d, done),
    readHistory: (_r: HistoryRequest, done: (r: HistoryResult) => void) => done({ ok: false, reason: 'unavailable' }),
  };
  const gateway = new Gateway({ clock, random, broker, telemetry: new RecordingTelemetry() }, gatewayOptions());
  gateway.start();
  const { conn, session } = openSession(gateway, clock);
  const m = { type: 'subscribe', id: 1, channels: ['odin.token.*.trade'], since: { 'odin.token.*.trade': { epoch: inner.epoch(), offset: 0 } } };
  console.log(`→ ${JSON.stringify(m)}`);
  gateway.onMessage(session, JSON.stringify(m));
  clock.settle();
  show(out(conn));
}

{
  section('drain');
  const h = harness();
  const c = h.connect();
  out(c.conn);
  h.gateway.drain(() => undefined);
  h.clock.settle();
  show(out(c.conn));
}

{
  section('too_many gap: live events overflow while a resume waits for the broker');
  const clock = new SimClock();
  const random = seededRandom(7);
  const inner = new MemoryBroker(clock, random);
  let pending: (() => void) | null = null;
  const broker: Broker = {
    epoch: () => inner.epoch(),
    start: (s) => inner.start(s),
    stop: () => inner.stop(),
    publish: (c, d, done) => inner.publish(c, d, done),
    readHistory: (r: HistoryRequest, done: (r: HistoryResult) => void) => {
      pending = () => inner.readHistory(r, done);
    },
  };
  const gateway = new Gateway({ clock, random, broker, telemetry: new RecordingTelemetry() }, gatewayOptions({ replayEventsMax: 3 }));
  gateway.start();
  inner.publish('odin.token.ABC.trade', '{"n":0}', () => undefined);
  const { conn, session } = openSession(gateway, clock);
  const m = { type: 'subscribe', id: 1, channels: ['odin.token.*.trade'], since: { 'odin.token.*.trade': { epoch: inner.epoch(), offset: 0 } } };
  console.log(`→ ${JSON.stringify(m)}`);
  gateway.onMessage(session, JSON.stringify(m));
  for (let i = 1; i <= 5; i++) inner.publish(i % 2 ? 'odin.token.ABC.trade' : 'odin.token.XYZ.trade', `{"n":${i}}`, () => undefined);
  inner.publish('odin.token.XYZ.trade', '{}', () => undefined);
  (pending as unknown as () => void)();
  clock.settle();
  show(out(conn));
}

{
  section('new epoch: the broker came back with another history timeline (1012)');
  const clock = new SimClock();
  const random = seededRandom(7);
  const inner = new MemoryBroker(clock, random);
  let epoch = inner.epoch();
  const started: { sink: BrokerSink | null } = { sink: null };
  const broker: Broker = {
    epoch: () => epoch,
    start: (s) => {
      started.sink = s;
      inner.start(s);
    },
    stop: () => inner.stop(),
    publish: (c, d, done) => inner.publish(c, d, done),
    readHistory: (r: HistoryRequest, done: (r: HistoryResult) => void) => inner.readHistory(r, done),
  };
  const gateway = new Gateway({ clock, random, broker, telemetry: new RecordingTelemetry() }, gatewayOptions());
  gateway.start();
  const { conn } = openSession(gateway, clock);
  epoch = 'mem-restarted';
  started.sink!.onStatus('live');
  clock.settle();
  show(out(conn));
}

{
  section('internal error (1011)');
  const h = harness();
  const c = h.connect();
  out(c.conn);
  // Stand-in for a gateway bug on this session's path: its subscription table throws when read.
  Object.defineProperty(c.session, 'subscriptions', {
    get: () => {
      throw new Error('boom');
    },
  });
  send(c, { type: 'subscribe', id: 1, channels: ['a'] });
}
