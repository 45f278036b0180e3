// The outbox (src/core/outbox.ts) as operators and clients see it: throttle levels counted per level and
// announced, gaps counted by reason, the slow-consumer deadline running from the first event over the
// bound, and a client that asks without reading ended before its answers grow without bound.
import { describe, expect, it } from 'vitest';
import { M } from '../../src/core/metrics.js';
import { harness } from '../support/core-harness.js';

const KB = 1024;
const payload = 'x'.repeat(900);
const classes = [
  { pattern: 'trade', priority: 'critical' as const, conflate: false },
  { pattern: 'price', priority: 'normal' as const, conflate: true },
  { pattern: 'chat', priority: 'low' as const, conflate: false },
];

/** A client behind a backed-up socket: everything published waits in its queue. */
function stalled(outbound: Record<string, number> = {}) {
  const h = harness({
    channelClasses: classes,
    inbound: { messageBurst: 10_000, messagesPerSecond: 10_000 },
    outbound: { queueBytesMax: 20 * KB, socketHighWaterBytes: 4 * KB, slowCloseAfterMs: 5_000, ...outbound },
  });
  const c = h.connect();
  c.send({ type: 'subscribe', id: 1, channels: ['trade', 'price', 'chat'] });
  c.conn.clear();
  c.conn.buffered = 4 * KB;
  return { h, c };
}

describe('throttle levels', () => {
  it('counts the session at exactly its level, announces each level entered, and steps back to 0 once drained', () => {
    const { h, c } = stalled();
    const levels = () => h.gateway.stats().throttledSessions;
    expect(levels()).toEqual({ level1: 0, level2: 0, level3: 0 });
    // 4 KB buffered + about 1 KB per critical event: past 90 % of 20 KB by the 16th.
    for (let i = 0; i < 16; i++) h.publish('trade', payload);
    expect(levels()).toEqual({ level1: 0, level2: 0, level3: 1 });
    for (const level of [1, 2, 3]) expect(h.telemetry.counts.get(`${M.throttle}{"level":${level}}`)).toBe(1);
    c.conn.buffered = 0;
    h.gateway.onWritable(c.session);
    h.clock.settle();
    const notices = c.conn.ofType('throttle');
    expect(notices.map((n) => n.level)).toEqual([1, 2, 3, 0]);
    expect(notices.at(-1)).toEqual({ type: 'throttle', level: 0, percent: 0, message: 'caught up: full delivery resumed' });
    expect(levels()).toEqual({ level1: 0, level2: 0, level3: 0 });
    expect(h.telemetry.counts.get(`${M.throttle}{"level":0}`)).toBe(1);
  });

  it('counts two sessions at two levels apart', () => {
    const { h, c } = stalled();
    const other = h.connect();
    other.send({ type: 'subscribe', id: 1, channels: ['chat'] });
    other.conn.buffered = 4 * KB;
    for (let i = 0; i < 16; i++) h.publish('trade', payload);
    // The other session holds only these (the first one sheds them): about 1 KB each over 4 KB buffered.
    for (let i = 0; i < 8; i++) h.publish('chat', payload);
    expect([c.session.throttleLevel, other.session.throttleLevel]).toEqual([3, 1]);
    expect(h.gateway.stats().throttledSessions).toEqual({ level1: 1, level2: 0, level3: 1 });
  });
});

describe('gaps', () => {
  it('counts every event not sent, by reason, in stats and telemetry', () => {
    const { h, c } = stalled();
    for (let i = 0; i < 12; i++) h.publish('trade', payload); // past level 2: low channels are shed
    const before = h.gateway.stats().events.gaps;
    for (let i = 0; i < 3; i++) h.publish('chat', payload);
    h.publish('price', payload);
    h.publish('price', payload);
    h.publish('price', payload);
    expect(h.gateway.stats().events.gaps - before).toBe(5);
    expect(h.telemetry.counts.get(`${M.gaps}{"reason":"shed"}`)).toBe(3);
    expect(h.telemetry.counts.get(`${M.gaps}{"reason":"conflated"}`)).toBe(2);
    c.conn.buffered = 0;
    h.gateway.onWritable(c.session);
    h.clock.settle();
    expect(c.conn.ofType('gap').map((g) => [g.ch, g.reason, g.to - g.from + 1])).toEqual([
      ['chat', 'shed', 3],
      ['price', 'conflated', 2],
    ]);
  });
});

describe('the slow-consumer deadline', () => {
  it('runs from the first critical event over the bound, not from the latest', () => {
    const { h, c } = stalled();
    for (let i = 0; i < 18; i++) h.publish('trade', payload);
    h.clock.advance(3_000);
    h.publish('trade', payload);
    h.clock.advance(1_999);
    expect(c.conn.closed).toBeNull();
    h.clock.advance(1);
    expect(c.conn.closed).toEqual({ code: 1008, reason: 'slow consumer: resume with since to recover' });
    expect(h.telemetry.counts.get(M.slowDisconnects)).toBe(1);
  });

  it('makes room for a critical event by turning queued lower-priority events into gaps, without closing', () => {
    const { h, c } = stalled();
    for (let i = 0; i < 5; i++) h.publish('chat', payload);
    for (let i = 0; i < 14; i++) h.publish('trade', payload);
    c.conn.buffered = 0;
    h.gateway.onWritable(c.session);
    h.clock.settle();
    expect(c.conn.closed).toBeNull();
    expect(c.conn.ofType('event').filter((e) => e.ch === 'trade')).toHaveLength(14);
    const shed = c.conn.ofType('gap').filter((g) => g.ch === 'chat');
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.every((g) => g.reason === 'shed')).toBe(true);
  });
});

describe('answers nobody reads', () => {
  it('closes 1008 a client that keeps asking while its socket is backed up, before twice the bound', () => {
    const { c } = stalled({ queueBytesMax: 2 * KB, socketHighWaterBytes: KB });
    c.conn.buffered = KB;
    let sent = 0;
    while (c.conn.closed === null && sent < 1_000) c.send({ type: 'ping', id: sent++ });
    expect(c.conn.closed).toEqual({ code: 1008, reason: 'slow consumer: resume with since to recover' });
    // Each pong is about 25 bytes: the close comes just past 2 × 2 KB, counting the buffered 1 KB.
    expect(sent).toBeGreaterThan(100);
    expect(sent).toBeLessThan(140);
    expect(c.conn.ofType('pong')).toEqual([]);
  });

  it('lets a client whose socket keeps up ask as much as it likes', () => {
    const { c } = stalled({ queueBytesMax: 2 * KB, socketHighWaterBytes: KB });
    c.conn.buffered = KB - 1;
    for (let i = 0; i < 300; i++) c.send({ type: 'ping', id: i });
    expect(c.conn.closed).toBeNull();
    expect(c.conn.ofType('pong')).toHaveLength(300);
  });
});

describe('errors', () => {
  it('leaves the id out of an error about a message that had none, and counts it by code', () => {
    const h = harness();
    const c = h.connect();
    c.sendRaw('not json');
    const [error] = c.conn.ofType('error');
    expect(error).not.toHaveProperty('id');
    expect(h.telemetry.counts.get(`${M.protocolErrors}{"code":"${error!.code}"}`)).toBe(1);
  });
});
