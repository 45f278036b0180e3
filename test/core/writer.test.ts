// The writer (src/core/writer.ts) as a client sees it: when frames leave (this turn, after a write delay,
// not while the socket is backed up), how batched frames are cut, what is counted, and how sessions close.
import { describe, expect, it } from 'vitest';
import { frameOf } from '../../src/core/codec.js';
import { M } from '../../src/core/metrics.js';
import { joinFrames } from '../../src/core/writer.js';
import { harness } from '../support/core-harness.js';

const text = new TextDecoder();

describe('joinFrames', () => {
  it('joins consecutive frames with a newline up to bytesMax, an exact fit included', () => {
    const frames = ['aaaa', 'bb', 'c', 'dddddd', 'e'].map(frameOf);
    // 4 + 1 + 2 = 7 fits exactly; adding "c" would make 9.
    const out = joinFrames(frames, 7);
    expect(out.map((f) => text.decode(f.bytes))).toEqual(['aaaa\nbb', 'c', 'dddddd', 'e']);
    expect(joinFrames(frames, 9).map((f) => text.decode(f.bytes))).toEqual(['aaaa\nbb\nc', 'dddddd\ne']);
  });

  it('leaves a frame that does not fit with its neighbours alone, as the very same frame', () => {
    const frames = ['x', 'much too long', 'y'].map(frameOf);
    const out = joinFrames(frames, 5);
    expect(out).toHaveLength(3);
    expect(out[1]).toBe(frames[1]);
    expect(out[0]).toBe(frames[0]);
  });

  it('joins everything into one frame when it all fits', () => {
    const frames = ['{"a":1}', '{"b":2}', '{"c":3}'].map(frameOf);
    const out = joinFrames(frames, 1_000);
    expect(out.map((f) => text.decode(f.bytes))).toEqual(['{"a":1}\n{"b":2}\n{"c":3}']);
  });
});

describe('when frames leave', () => {
  it('holds live events for the write delay, to the millisecond, then writes them in one write', () => {
    const h = harness({ outbound: { writeDelayMs: 10 } });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    c.conn.clear();
    h.publish('a', 1);
    h.clock.advance(4);
    h.publish('a', 2);
    h.clock.advance(5);
    expect(c.conn.writes).toEqual([]);
    h.clock.advance(1);
    expect(c.conn.writes).toHaveLength(1);
    expect(c.conn.ofType('event').map((e) => e.data)).toEqual([1, 2]);
  });

  it('lets the shortest wait bind when classes of several delays are held together, per session', () => {
    const channelClasses = [
      { pattern: 'slow', priority: 'normal' as const, conflate: false, writeDelayMs: 50 },
      { pattern: 'fast', priority: 'normal' as const, conflate: false, writeDelayMs: 5 },
    ];
    const h = harness({ channelClasses });
    const both = h.connect();
    const slowOnly = h.connect();
    both.send({ type: 'subscribe', id: 1, channels: ['slow', 'fast'] });
    slowOnly.send({ type: 'subscribe', id: 1, channels: ['slow'] });
    both.conn.clear();
    slowOnly.conn.clear();
    h.publish('slow', 1);
    h.clock.advance(1);
    h.publish('fast', 2);
    h.clock.advance(5);
    expect(both.conn.ofType('event').map((e) => e.ch)).toEqual(['slow', 'fast']);
    expect(slowOnly.conn.writes).toEqual([]);
    // The slow-only session still leaves at its own deadline, 50 ms after its event.
    h.clock.advance(43);
    expect(slowOnly.conn.writes).toEqual([]);
    h.clock.advance(1);
    expect(slowOnly.conn.ofType('event').map((e) => e.ch)).toEqual(['slow']);
  });

  it('releases each held session at its own deadline, the later one after the earlier', () => {
    const h = harness({ outbound: { writeDelayMs: 20 } });
    const first = h.connect();
    const second = h.connect();
    for (const c of [first, second]) {
      c.send({ type: 'subscribe', id: 1, channels: [c === first ? 'one' : 'two'] });
      c.conn.clear();
    }
    h.publish('one', 1);
    h.clock.advance(7);
    h.publish('two', 2);
    h.clock.advance(13);
    expect([first.conn.writes.length, second.conn.writes.length]).toEqual([1, 0]);
    h.clock.advance(6);
    expect(second.conn.writes).toEqual([]);
    h.clock.advance(1);
    expect([first.conn.writes.length, second.conn.writes.length]).toEqual([1, 1]);
  });

  it('holds nothing more for a session that closed while its events waited', () => {
    const h = harness({ outbound: { writeDelayMs: 20 } });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    c.conn.clear();
    h.publish('a', 1);
    c.close();
    h.clock.advance(100);
    expect(c.conn.writes).toEqual([]);
  });

  it('skips a socket at its high-water mark exactly, and writes it once it drains', () => {
    const h = harness({ outbound: { socketHighWaterBytes: 1_000 } });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    c.conn.clear();
    c.conn.buffered = 1_000;
    h.publish('a', 1);
    expect(c.conn.writes).toEqual([]);
    c.conn.buffered = 999;
    h.gateway.onWritable(c.session);
    h.clock.settle();
    expect(c.conn.ofType('event').map((e) => e.data)).toEqual([1]);
  });

  it('counts what it writes: frames delivered and bytes out, in stats and telemetry', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    const before = h.gateway.stats().events;
    const bytesBefore = h.telemetry.counts.get(M.bytesOut)!;
    c.conn.clear();
    h.publish('a', 'x');
    h.publish('a', 'yy');
    const written = c.conn.frames().reduce((n, f) => n + f.bytes.byteLength, 0);
    const after = h.gateway.stats().events;
    expect(after.delivered - before.delivered).toBe(2);
    expect(after.bytesOut - before.bytesOut).toBe(written);
    expect(h.telemetry.counts.get(M.bytesOut)! - bytesBefore).toBe(written);
  });
});

describe('batched frames', () => {
  it('gives sessions of one flush that receive different frames each their own joined frame', () => {
    const h = harness({ outbound: { writeDelayMs: 5 } });
    const a = h.connect({}, true);
    const b = h.connect({}, true);
    a.send({ type: 'subscribe', id: 1, channels: ['x'] });
    b.send({ type: 'subscribe', id: 1, channels: ['y'] });
    a.conn.clear();
    b.conn.clear();
    for (const ch of ['x', 'y', 'x', 'y']) h.publish(ch, ch);
    h.clock.advance(5);
    expect(a.conn.writes.map((w) => w.length)).toEqual([1]);
    expect(b.conn.writes.map((w) => w.length)).toEqual([1]);
    expect(a.conn.ofType('event').map((e) => e.offset)).toEqual([1, 3]);
    expect(b.conn.ofType('event').map((e) => e.offset)).toEqual([2, 4]);
  });

  it('shares a joined frame only between sessions whose frames are all the same, not merely the first', () => {
    const h = harness({ outbound: { writeDelayMs: 5 } });
    const a = h.connect({}, true);
    const b = h.connect({}, true);
    a.send({ type: 'subscribe', id: 1, channels: ['x', 'y'] });
    b.send({ type: 'subscribe', id: 1, channels: ['x', 'z'] });
    a.conn.clear();
    b.conn.clear();
    for (const ch of ['x', 'y', 'z']) h.publish(ch, ch);
    h.clock.advance(5);
    expect(a.conn.ofType('event').map((e) => e.ch)).toEqual(['x', 'y']);
    expect(b.conn.ofType('event').map((e) => e.ch)).toEqual(['x', 'z']);
  });

  it('writes a lone frame to a batching session as it is, unjoined', () => {
    const h = harness();
    const a = h.connect({}, true);
    const plain = h.connect();
    for (const c of [a, plain]) c.send({ type: 'subscribe', id: 1, channels: ['x'] });
    a.conn.clear();
    plain.conn.clear();
    h.publish('x', 1);
    expect(a.conn.frames()[0]).toBe(plain.conn.frames()[0]);
  });
});

describe('closing', () => {
  it('closes a session once: a drain after the token closed it does not close it again', () => {
    const h = harness({ security: { authRequired: true, allowedOrigins: [], refreshWindowMs: 1_000 } });
    const c = h.connect({ identity: { user: 'u', grants: ['>'], expiresAtMs: h.clock.wallMs() + 5_000 } });
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    c.conn.clear();
    h.clock.advance(4_000);
    expect(c.conn.ofType('token_expiring')).toHaveLength(1);
    h.clock.advance(1_000);
    expect(c.conn.closed?.code).toBe(4003);
    h.gateway.drain(() => {});
    h.clock.settle();
    expect(c.conn.closed?.code).toBe(4003);
  });
});
