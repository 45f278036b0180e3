// One inbound message costs bounded work whatever the history holds (the hardening issue): a request's
// replays share one budget, history reads cost more of the rate limit, and odd but valid inputs — channel
// names that are JavaScript prototype keys, a replay range past the head — get exact answers.
import { describe, expect, it } from 'vitest';
import { requestCost } from '../../src/core/inbound.js';
import { Resume } from '../../src/core/resume.js';
import { harness } from '../support/core-harness.js';

describe('a subscribe request replays within one budget', () => {
  it('gives channels the budget in the order the request names them; the first that does not fit gets too_many', () => {
    const h = harness({ replayEventsMax: 5, history: { eventsMax: 100 } });
    for (let i = 0; i < 3; i++) h.publish('a', i);
    for (let i = 0; i < 3; i++) h.publish('b', i);
    h.publish('c', 0);
    const epoch = h.broker.epoch();
    const c = h.connect();
    const since = { epoch, offset: 0 };
    c.send({ type: 'subscribe', id: 1, channels: ['a', 'b', 'c'], since: { a: since, b: since, c: since } });
    const [reply] = c.conn.ofType('subscribed');
    // a takes 3 of 5; b's 3 do not fit in the 2 left; c's 1 does.
    expect(reply!.channels).toEqual({
      a: { epoch, offset: 3, recovered: true, replayed: 3 },
      b: { epoch, offset: 6, recovered: false, reason: 'too_many' },
      c: { epoch, offset: 7, recovered: true, replayed: 1 },
    });
    expect(c.conn.ofType('event').map((e) => `${e.ch}@${e.offset}`)).toEqual(['a@1', 'a@2', 'a@3', 'c@7']);
    // b is live from its position: the next event arrives, nothing from before it.
    h.publish('b', 9);
    expect(c.conn.ofType('event').at(-1)).toMatchObject({ ch: 'b', offset: 8, prev: 6 });
  });

  it('counts bytes too: a replay larger than the session queue is refused, as a replay request and as a resume', () => {
    const h = harness({ outbound: { queueBytesMax: 16 * 1024, socketHighWaterBytes: 16 * 1024 } });
    const big = 'x'.repeat(6_000);
    for (let i = 0; i < 3; i++) h.publish('a', big);
    const epoch = h.broker.epoch();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'], since: { a: { epoch, offset: 0 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels['a']).toEqual({ epoch, offset: 3, recovered: false, reason: 'too_many' });
    c.send({ type: 'replay', id: 2, channel: 'a', from: 0, to: 3 });
    expect(c.conn.ofType('error').at(-1)).toMatchObject({ id: 2, code: 'replay_too_large' });
    c.send({ type: 'replay', id: 3, channel: 'a', from: 1, to: 3 });
    expect(c.conn.ofType('replayed').at(-1)).toMatchObject({ id: 3, count: 2 });
  });
});

describe('history reads cost more of the inbound rate limit', () => {
  it('costs one token, plus one per ten history reads', () => {
    const since = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, { epoch: 'e', offset: 0 }]));
    const channels = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
    expect(requestCost({ type: 'ping', id: 1 })).toBe(1);
    expect(requestCost({ type: 'subscribe', id: 1, channels: channels(100) })).toBe(1);
    expect(requestCost({ type: 'subscribe', id: 1, channels: channels(100), since: since(1) })).toBe(2);
    expect(requestCost({ type: 'subscribe', id: 1, channels: channels(100), since: since(100) })).toBe(11);
    expect(requestCost({ type: 'replay', id: 1, channel: 'c', from: 0, to: 1 })).toBe(2);
  });

  it('refuses a costly request the bucket cannot pay for, and serves a cheap one', () => {
    const h = harness({ inbound: { messageBurst: 12, messagesPerSecond: 1 } });
    const c = h.connect();
    const since = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`c${i}`, { epoch: h.broker.epoch(), offset: 0 }]));
    const channels = Object.keys(since);
    c.send({ type: 'subscribe', id: 1, channels, since }); // 11 of 12 tokens
    c.send({ type: 'subscribe', id: 2, channels, since }); // 1 left: refused
    c.send({ type: 'ping', id: 3 }); // nothing left: refused before decoding
    h.clock.advance(1_000);
    c.send({ type: 'ping', id: 4 });
    expect(c.conn.ofType('subscribed').map((m) => m.id)).toEqual([1]);
    expect(c.conn.ofType('error').map((e) => [e.id, e.code])).toEqual([
      [2, 'rate_limited'],
      [undefined, 'rate_limited'],
    ]);
    expect(c.conn.ofType('pong').map((m) => m.id)).toEqual([4]);
  });
});

describe('odd but valid inputs', () => {
  it('treats channel names that are JavaScript prototype keys as plain names', () => {
    const h = harness();
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    for (const name of names) h.publish(name, name);
    const epoch = h.broker.epoch();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: names, since: Object.fromEntries(names.map((n) => [n, { epoch, offset: 0 }])) });
    const reply = c.conn.ofType('subscribed')[0]!;
    expect(Object.keys(reply.channels).sort()).toEqual([...names].sort());
    for (const [i, name] of names.entries()) expect(reply.channels[name]).toEqual({ epoch, offset: i + 1, recovered: true, replayed: 1 });
    expect(c.conn.ofType('event').map((e) => e.data)).toEqual(names);
  });

  it('answers a replay range past the head as empty, never with `to` below `from`', () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish('a', i);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    const from = Number.MAX_SAFE_INTEGER - 1;
    c.send({ type: 'replay', id: 2, channel: 'a', from, to: Number.MAX_SAFE_INTEGER });
    c.send({ type: 'replay', id: 3, channel: 'a', from: 3, to: 10 });
    expect(c.conn.ofType('replayed')).toEqual([
      { type: 'replayed', id: 2, channel: 'a', from, to: from, count: 0 },
      { type: 'replayed', id: 3, channel: 'a', from: 3, to: 3, count: 0 },
    ]);
    expect(c.conn.ofType('event')).toEqual([]);
  });
});

describe('history memory has one bound over all channels', () => {
  it('holds at most totalBytesMax however many channels get large events, and stays exact for resume', () => {
    const MiB = 1024 * 1024;
    const h = harness({ history: { totalBytesMax: 4 * MiB } }, { retention: { eventsMax: 1e6, bytesMax: 1e12, ageMs: 1e12 } });
    const big = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 600; i++) {
      h.publish(`big.c${i}`, big);
      expect(h.gateway.stats().historyBytes).toBeLessThanOrEqual(4 * MiB);
    }
    // About 4 MiB / 100 KiB rings remain; the first channels' events were evicted for room.
    expect(h.gateway.stats().historyChannels).toBeLessThan(45);
    expect(h.gateway.stats().historyChannels).toBeGreaterThan(35);
    // A resume on an evicted channel is answered from the broker, exactly; a recent one from the ring.
    const epoch = h.broker.epoch();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['big.c0', 'big.c599'], since: { 'big.c0': { epoch, offset: 0 }, 'big.c599': { epoch, offset: 599 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels).toEqual({
      'big.c0': { epoch, offset: 600, recovered: true, replayed: 1 },
      'big.c599': { epoch, offset: 600, recovered: true, replayed: 1 },
    });
    expect(h.telemetry.counts.get('odin_resumes_total{"outcome":"recovered","source":"broker"}')).toBe(1);
    expect(h.telemetry.counts.get('odin_resumes_total{"outcome":"recovered","source":"ring"}')).toBe(1);
  });
});

describe('answers to a client that never reads', () => {
  it('stay bounded: past twice the queue bound with the socket backed up, the client is a slow consumer (1008)', () => {
    const h = harness({ outbound: { queueBytesMax: 16 * 1024, socketHighWaterBytes: 16 * 1024 }, inbound: { messageBurst: 1e6, messagesPerSecond: 1e6 } });
    const c = h.connect();
    c.conn.buffered = 16 * 1024; // the socket has stopped taking bytes
    const channels = Array.from({ length: 100 }, (_, i) => `a.channel.with.a.long.name.${i}`);
    let sent = 0;
    while (c.session.state === 'open' && sent < 1_000) {
      c.send({ type: 'subscribe', id: ++sent, channels });
      // Twice the bound, plus the one answer (~10 KiB for 100 long names) that crossed it.
      expect(c.session.queue.bytes).toBeLessThanOrEqual(2 * 16 * 1024 + 12 * 1024);
    }
    expect(c.session.state).not.toBe('open');
    expect(c.conn.closed).toMatchObject({ code: 1008 });
    expect(h.gateway.stats().slowDisconnects).toBe(1);
  });

  it('an internal error names the request it happened in', () => {
    // Our bug planted in one component: unsubscribe throws.
    class ThrowingResume extends Resume {
      override unsubscribe(): void {
        throw new Error('boom');
      }
    }
    const h = harness({}, { parts: { resume: ThrowingResume } });
    const c = h.connect();
    c.send({ type: 'unsubscribe', id: 42, channels: ['a'] });
    expect(c.conn.ofType('error')).toEqual([{ type: 'error', id: 42, code: 'internal', message: 'internal error; reconnect and resume' }]);
  });
});
