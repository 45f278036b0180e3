// Write batching (docs/protocol.md, "Batched frames"; src/core/writer.ts) as properties: whatever the
// publishes, their timing and the write delays, a client that reads batched frames receives exactly the
// messages, in exactly the order, of one that reads one message per frame; every channel's events arrive
// once each with exact offsets (each `prev` is the offset before it); no event waits longer than its
// class's write delay; and a batched frame stays within batchBytesMax unless it holds a single message.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../src/core/ports.js';
import type { EventMessage, ServerMessage } from '../src/core/protocol.js';
import { harness } from '../test/support/core-harness.js';
import { FakeConnection } from '../test/support/fakes.js';
import { runs } from './support/runs.js';

const CHANNELS = ['fast.a', 'fast.b', 'slow.c'] as const;
const utf8 = new TextDecoder();

const step = fc.record({
  channel: fc.constantFrom(...CHANNELS),
  /** Milliseconds to advance before this publish (0: same instant, so several per turn). */
  afterMs: fc.constantFrom(0, 0, 0, 1, 3, 7, 15, 40),
  padding: fc.nat(120),
});

function eventsOf(messages: readonly ServerMessage[]): EventMessage[] {
  return messages.filter((m): m is EventMessage => m.type === 'event');
}

describe('write batching', () => {
  it('never reorders, drops or duplicates, keeps offsets exact, bounds the delay and the frame size', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 5, 20),
        fc.constantFrom(0, 10, 50),
        fc.array(step, { minLength: 1, maxLength: 60 }),
        (defaultDelayMs, fastDelayMs, steps) => {
          const batchBytesMax = 700;
          const h = harness({
            outbound: { writeDelayMs: defaultDelayMs, batchBytesMax },
            channelClasses: [{ pattern: 'fast.>', priority: 'normal', conflate: false, writeDelayMs: fastDelayMs }],
          });
          const delayOf = (channel: string): number => (channel.startsWith('fast.') ? fastDelayMs : defaultDelayMs);
          const batched = h.connect({}, true);
          const plain = h.connect({}, false);
          // When each write happened, to bound the wait of what it carried.
          const writeTimes = new Map<FakeConnection, number[]>();
          for (const conn of [batched.conn, plain.conn]) {
            const times: number[] = [];
            writeTimes.set(conn, times);
            const write = conn.write.bind(conn);
            conn.write = (frames: readonly Frame[]) => {
              times.push(h.clock.nowMs());
              write(frames);
            };
          }
          for (const client of [batched, plain]) client.send({ type: 'subscribe', id: 1, channels: [...CHANNELS] });
          for (const client of [batched, plain]) client.conn.clear();
          for (const times of writeTimes.values()) times.length = 0;

          const publishedAt = new Map<number, number>();
          const published: { channel: string; offset: number }[] = [];
          for (const s of steps) {
            h.clock.advance(s.afterMs);
            const outcome = h.publish(s.channel, { pad: 'x'.repeat(s.padding) });
            if (!outcome.ok) throw new Error('publish refused');
            publishedAt.set(outcome.offset, h.clock.nowMs());
            published.push({ channel: s.channel, offset: outcome.offset });
          }
          h.clock.advance(100); // past every delay

          // Same messages, same order, whatever the framing.
          const got = eventsOf(batched.conn.messages());
          expect(got).toEqual(eventsOf(plain.conn.messages()));
          // Every event once, in publish order, with exact offsets per channel.
          expect(got.map((e) => e.offset)).toEqual(published.map((p) => p.offset));
          const last = new Map<string, number>();
          for (const e of got) {
            expect(e.prev).toBe(last.get(e.ch) ?? 0);
            last.set(e.ch, e.offset);
          }
          // The wait of every event is bounded by its class's delay.
          for (const client of [batched, plain]) {
            const times = writeTimes.get(client.conn)!;
            client.conn.writes.forEach((frames, w) => {
              for (const frame of frames) {
                for (const line of utf8.decode(frame.bytes).split('\n')) {
                  const m = JSON.parse(line) as ServerMessage;
                  if (m.type !== 'event') continue;
                  expect(times[w]! - publishedAt.get(m.offset)!).toBeLessThanOrEqual(delayOf(m.ch));
                }
              }
            });
          }
          // Framing: one message per frame for the plain client; batched frames within the bound.
          for (const frame of plain.conn.frames()) expect(utf8.decode(frame.bytes)).not.toContain('\n');
          for (const frame of batched.conn.frames()) {
            const text = utf8.decode(frame.bytes);
            if (text.includes('\n')) expect(frame.bytes.byteLength).toBeLessThanOrEqual(batchBytesMax);
          }
        },
      ),
      runs(150),
    );
  });

  it('batches several events into one frame when they leave in one write', () => {
    const h = harness({ outbound: { writeDelayMs: 10 } });
    const batched = h.connect({}, true);
    const plain = h.connect({}, false);
    for (const client of [batched, plain]) client.send({ type: 'subscribe', id: 1, channels: ['a'] });
    for (const client of [batched, plain]) client.conn.clear();
    for (let i = 0; i < 5; i++) {
      h.publish('a', { i });
      h.clock.advance(1);
    }
    expect(batched.conn.writes).toEqual([]); // still within the 10 ms
    h.clock.advance(5);
    expect(batched.conn.writes).toHaveLength(1);
    expect(batched.conn.writes[0]).toHaveLength(1);
    expect(plain.conn.writes).toHaveLength(1);
    expect(plain.conn.writes[0]).toHaveLength(5);
    expect(eventsOf(batched.conn.messages()).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends a reply at once, taking the held events along in order', () => {
    const h = harness({ outbound: { writeDelayMs: 50 } });
    const client = h.connect({}, true);
    client.send({ type: 'subscribe', id: 1, channels: ['a'] });
    client.conn.clear();
    h.publish('a', { i: 1 });
    h.clock.advance(1);
    client.send({ type: 'ping', id: 7 });
    expect(client.conn.messages().map((m) => m.type)).toEqual(['event', 'pong']);
  });

  it('joins a fan-out once: sessions that get the same events share one batched frame', () => {
    const h = harness({ outbound: { writeDelayMs: 5 } });
    const clients = [h.connect({}, true), h.connect({}, true), h.connect({}, true)];
    for (const client of clients) client.send({ type: 'subscribe', id: 1, channels: ['a'] });
    for (const client of clients) client.conn.clear();
    h.publish('a', { i: 1 });
    h.publish('a', { i: 2 });
    h.clock.advance(5);
    const frames = clients.map((c) => c.conn.frames());
    expect(frames.map((f) => f.length)).toEqual([1, 1, 1]);
    expect(frames[1]![0]).toBe(frames[0]![0]);
    expect(frames[2]![0]).toBe(frames[0]![0]);
  });
});
