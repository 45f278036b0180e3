import { describe, expect, it } from 'vitest';
import type { EventMessage } from '../../src/core/protocol.js';
import { harness } from '../support/core-harness.js';

const offsets = (events: EventMessage[]) => events.map((e) => e.offset);

describe('gateway: subscribe and fan-out', () => {
  it('greets a new session with its id, heartbeat interval and limits', () => {
    const h = harness();
    const c = h.connect();
    const [welcome] = c.conn.ofType('welcome');
    expect(welcome?.session).toMatch(/^1-[0-9a-f]{8}$/);
    expect(welcome?.heartbeatMs).toBe(25_000);
    expect(welcome?.limits.channelsPerRequestMax).toBe(100);
  });

  it('answers subscribe with the channel position and delivers events with offset and prev', () => {
    const h = harness();
    h.publish('odin.other', 0);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['odin.token.ABC.trade'] });
    const [reply] = c.conn.ofType('subscribed');
    expect(reply).toEqual({ type: 'subscribed', id: 1, channels: { 'odin.token.ABC.trade': { epoch: h.broker.epoch(), offset: 1 } } });
    h.publish('odin.token.ABC.trade', { price: 1 });
    h.publish('odin.other', 0);
    h.publish('odin.token.ABC.trade', { price: 2 });
    const events = c.conn.ofType('event');
    expect(events).toEqual([
      { type: 'event', ch: 'odin.token.ABC.trade', offset: 2, prev: 0, data: { price: 1 } },
      { type: 'event', ch: 'odin.token.ABC.trade', offset: 4, prev: 2, data: { price: 2 } },
    ]);
  });

  it('sends every subscriber of a channel the same frame bytes for one publish (I5)', () => {
    const h = harness();
    const clients = [h.connect(), h.connect(), h.connect()];
    clients[0]!.send({ type: 'subscribe', id: 1, channels: ['a.b'] });
    clients[1]!.send({ type: 'subscribe', id: 1, channels: ['a.>'] });
    clients[2]!.send({ type: 'subscribe', id: 7, channels: ['a.*'] });
    for (const c of clients) c.conn.clear();
    h.publish('a.b', { x: 'ü' });
    const frames = clients.map((c) => c.conn.frames());
    expect(frames.every((f) => f.length === 1)).toBe(true);
    // Encoded once: not merely equal bytes, the very same buffer.
    expect(frames[1]![0]).toBe(frames[0]![0]);
    expect(frames[2]![0]).toBe(frames[0]![0]);
  });

  it('matches patterns by token: * is one token, > is the rest', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['odin.global.>', 'odin.token.*.trade'] });
    for (const ch of ['odin.global.trending', 'odin.global.a.b', 'odin.global', 'odin.token.X.trade', 'odin.token.X.quote', 'odin.token.X.Y.trade'])
      h.publish(ch, 1);
    expect(c.conn.ofType('event').map((e) => e.ch)).toEqual(['odin.global.trending', 'odin.global.a.b', 'odin.token.X.trade']);
  });

  it('delivers an event once to a session whose subscriptions overlap', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a.b', 'a.>', 'a.*'] });
    h.publish('a.b', 1);
    expect(offsets(c.conn.ofType('event'))).toEqual([1]);
  });

  it('coalesces the frames of one turn into one write per socket', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    c.conn.clear();
    for (let i = 0; i < 3; i++) h.gateway.publish('a', String(i), () => {});
    h.clock.settle();
    expect(c.conn.writes.length).toBe(1);
    expect(c.conn.writes[0]!.length).toBe(3);
  });

  it('stops delivering after unsubscribe and confirms what was removed', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a', 'b'] });
    c.send({ type: 'unsubscribe', id: 2, channels: ['a', 'zzz'] });
    expect(c.conn.ofType('unsubscribed')).toEqual([{ type: 'unsubscribed', id: 2, channels: ['a'] }]);
    h.publish('a', 1);
    h.publish('b', 2);
    expect(c.conn.ofType('event').map((e) => e.ch)).toEqual(['b']);
  });

  it('answers ping with pong', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'ping', id: 9 });
    expect(c.conn.ofType('pong')).toEqual([{ type: 'pong', id: 9 }]);
  });
});

describe('gateway: resume and replay', () => {
  it('resumes after a disconnect with exactly the missed events, then live ones, no duplicate at the seam', () => {
    const h = harness();
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    h.publish('ch', 'e1');
    h.publish('ch', 'e2');
    const last = a.conn.ofType('event').at(-1)!;
    a.close();
    h.publish('ch', 'm1');
    h.publish('noise', 0);
    h.publish('ch', 'm2');
    h.publish('ch', 'm3');
    const b = h.connect();
    b.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: h.broker.epoch(), offset: last.offset } } });
    h.publish('ch', 'live');
    const reply = b.conn.ofType('subscribed')[0]!.channels.ch!;
    expect(reply).toMatchObject({ recovered: true, replayed: 3 });
    expect(b.conn.ofType('event').map((e) => e.data)).toEqual(['m1', 'm2', 'm3', 'live']);
    // The prev chain is unbroken from the resume point.
    const events = b.conn.ofType('event');
    expect(events[0]!.prev).toBe(last.offset);
    for (let i = 1; i < events.length; i++) expect(events[i]!.prev).toBe(events[i - 1]!.offset);
  });

  it('lets a client that saw no event yet resume from the subscribe reply without losing the first event', () => {
    const h = harness();
    h.publish('elsewhere', 0);
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['quiet'] });
    const position = a.conn.ofType('subscribed')[0]!.channels.quiet!;
    a.close();
    h.publish('quiet', 'first');
    const b = h.connect();
    b.send({ type: 'subscribe', id: 1, channels: ['quiet'], since: { quiet: { epoch: position.epoch, offset: position.offset } } });
    expect(b.conn.ofType('event').map((e) => e.data)).toEqual(['first']);
  });

  it('falls back to broker history when the ring no longer holds the suffix', () => {
    const h = harness({ history: { eventsMax: 2 } });
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    h.publish('ch', 0);
    const at = a.conn.ofType('event')[0]!.offset;
    a.close();
    for (let i = 1; i <= 5; i++) h.publish('ch', i);
    const b = h.connect();
    b.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: h.broker.epoch(), offset: at } } });
    expect(b.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: true, replayed: 5 });
    expect(b.conn.ofType('event').map((e) => e.data)).toEqual([1, 2, 3, 4, 5]);
    expect(h.telemetry.counts.get('odin_resumes_total{"outcome":"recovered","source":"broker"}')).toBe(1);
  });

  it('answers recovered:false history_expired when neither ring nor broker still holds the events', () => {
    const h = harness({ history: { eventsMax: 2 } }, { retention: { eventsMax: 3, bytesMax: 1e9, ageMs: 1e9 } });
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    h.publish('ch', 0);
    a.close();
    for (let i = 1; i <= 5; i++) h.publish('ch', i);
    const b = h.connect();
    b.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: h.broker.epoch(), offset: 1 } } });
    expect(b.conn.ofType('subscribed')[0]!.channels.ch).toEqual({ epoch: h.broker.epoch(), offset: 6, recovered: false, reason: 'history_expired' });
    expect(b.conn.ofType('event')).toEqual([]);
    h.publish('ch', 'next');
    expect(b.conn.ofType('event').map((e) => e.data)).toEqual(['next']);
  });

  it('answers recovered:false epoch_changed for another timeline or an offset beyond the head', () => {
    const h = harness();
    h.publish('ch', 1);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch', 'other'], since: { ch: { epoch: 'old', offset: 1 }, other: { epoch: h.broker.epoch(), offset: 99 } } });
    const states = c.conn.ofType('subscribed')[0]!.channels;
    expect(states.ch).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    expect(states.other).toMatchObject({ recovered: false, reason: 'epoch_changed' });
  });

  it('answers recovered:false too_many rather than a replay longer than the bound', () => {
    const h = harness({ replayEventsMax: 3 });
    for (let i = 0; i < 5; i++) h.publish('ch', i);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: h.broker.epoch(), offset: 0 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: false, reason: 'too_many', offset: 5 });
    expect(c.conn.ofType('event')).toEqual([]);
  });

  it('resumes a pattern subscription from broker history across its channels, in offset order', () => {
    const h = harness();
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['g.>'] });
    const at = a.conn.ofType('subscribed')[0]!.channels['g.>']!.offset;
    a.close();
    h.publish('g.x', 1);
    h.publish('h.y', 2);
    h.publish('g.y.z', 3);
    const b = h.connect();
    b.send({ type: 'subscribe', id: 1, channels: ['g.>'], since: { 'g.>': { epoch: h.broker.epoch(), offset: at } } });
    expect(b.conn.ofType('event').map((e) => [e.ch, e.data])).toEqual([
      ['g.x', 1],
      ['g.y.z', 3],
    ]);
  });

  it('replays an event once when overlapping subscriptions resume in one request', () => {
    const h = harness();
    const a = h.connect();
    a.send({ type: 'subscribe', id: 1, channels: ['p.x', 'p.>'] });
    const at = a.conn.ofType('subscribed')[0]!.channels['p.x']!.offset;
    a.close();
    h.publish('p.x', 1);
    h.publish('p.y', 2);
    const b = h.connect();
    const since = { epoch: h.broker.epoch(), offset: at };
    b.send({ type: 'subscribe', id: 1, channels: ['p.x', 'p.>'], since: { 'p.x': since, 'p.>': since } });
    expect(b.conn.ofType('event').map((e) => [e.ch, e.offset])).toEqual([
      ['p.x', 1],
      ['p.y', 2],
    ]);
  });

  it('serves an explicit replay of (from, to] and then says how many it sent', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    for (let i = 1; i <= 6; i++) h.publish(i % 2 ? 'ch' : 'x', i);
    c.conn.clear();
    c.send({ type: 'replay', id: 2, channel: 'ch', from: 1, to: 5 });
    expect(offsets(c.conn.ofType('event'))).toEqual([3, 5]);
    expect(c.conn.ofType('replayed')).toEqual([{ type: 'replayed', id: 2, channel: 'ch', from: 1, to: 5, count: 2 }]);
    // The replayed events are the ring's frames: the same bytes the live subscribers got.
    const types = c.conn.messages().map((m) => m.type);
    expect(types).toEqual(['event', 'event', 'replayed']);
  });

  it('refuses replays it cannot serve, each with its own code', () => {
    const h = harness({ replayEventsMax: 2, history: { eventsMax: 2 } }, { retention: { eventsMax: 4, bytesMax: 1e9, ageMs: 1e9 } });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    c.send({ type: 'replay', id: 2, channel: 'nope', from: 0, to: 1 });
    for (let i = 0; i < 8; i++) h.publish('ch', i);
    c.send({ type: 'replay', id: 3, channel: 'ch', from: 4, to: 8 });
    c.send({ type: 'replay', id: 4, channel: 'ch', from: 0, to: 2 });
    expect(c.conn.ofType('error').map((e) => [e.id, e.code])).toEqual([
      [2, 'not_subscribed'],
      [3, 'replay_too_large'],
      [4, 'history_unavailable'],
    ]);
  });
});

describe('gateway: bad input never crashes and always gets a precise code', () => {
  const cases: [string, string, string][] = [
    ['malformed JSON', '{"type":', 'invalid_json'],
    ['not an object', '[1,2]', 'invalid_message'],
    ['unknown type', '{"type":"hello","id":1}', 'unknown_type'],
    ['missing id', '{"type":"ping"}', 'missing_field'],
    ['missing channels', '{"type":"subscribe","id":1}', 'missing_field'],
    ['channels not an array', '{"type":"subscribe","id":1,"channels":"a"}', 'invalid_field'],
    ['invalid channel name', '{"type":"subscribe","id":1,"channels":["a..b"]}', 'invalid_channel'],
    ['wildcard in replay', '{"type":"replay","id":1,"channel":"a.*","from":0,"to":1}', 'invalid_channel'],
    ['empty replay range', '{"type":"replay","id":1,"channel":"a","from":5,"to":5}', 'invalid_field'],
    ['since for an unlisted channel', '{"type":"subscribe","id":1,"channels":["a"],"since":{"b":{"epoch":"e","offset":1}}}', 'invalid_field'],
    ['negative offset', '{"type":"subscribe","id":1,"channels":["a"],"since":{"a":{"epoch":"e","offset":-1}}}', 'invalid_field'],
  ];
  for (const [name, text, code] of cases) {
    it(`${name} → ${code}, and the session keeps working`, () => {
      const h = harness();
      const c = h.connect();
      c.sendRaw(text);
      expect(c.conn.ofType('error').map((e) => e.code)).toEqual([code]);
      c.send({ type: 'ping', id: 2 });
      expect(c.conn.ofType('pong')).toHaveLength(1);
      expect(c.conn.closed).toBeNull();
    });
  }

  it('refuses more channels in one request than the limit', () => {
    const h = harness({ channelsPerRequestMax: 3 });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 5, channels: ['a', 'b', 'c', 'd'] });
    expect(c.conn.ofType('error')).toEqual([{ type: 'error', id: 5, code: 'too_many_channels', message: '4 channels in one request; at most 3 are allowed' }]);
  });

  it('refuses subscriptions beyond the per-session limit, atomically', () => {
    const h = harness({ subscriptionsMax: 3 });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a', 'b'] });
    c.send({ type: 'subscribe', id: 2, channels: ['c', 'd'] });
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(['subscription_limit']);
    h.publish('c', 1);
    expect(c.conn.ofType('event')).toEqual([]);
  });

  it('answers a binary frame with an error and close 1003', () => {
    const h = harness();
    const c = h.connect();
    h.gateway.onBinaryMessage(c.session);
    h.clock.settle();
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(['binary_unsupported']);
    expect(c.conn.closed?.code).toBe(1003);
  });

  it('keeps serving other clients while one sends garbage', () => {
    const h = harness();
    const bad = h.connect();
    const good = h.connect();
    good.send({ type: 'subscribe', id: 1, channels: ['a'] });
    for (let i = 0; i < 20; i++) bad.sendRaw('\u0000garbage');
    h.publish('a', 1);
    expect(good.conn.ofType('event')).toHaveLength(1);
  });
});
