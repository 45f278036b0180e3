// The shared history rings (src/core/history.ts) against the true stream: a ring that says it covers a
// range must hand back exactly the stream's events of that channel in it (never a partial replay presented
// as complete: docs/design.md, "History and recovery", and I4), including events from before the gateway started reading; and it must
// cover what it certainly still holds (the newest event of a channel, right after it arrived).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameOf } from '../src/core/codec.js';
import { History, recordBytes, RING_BYTES, type EventRecord } from '../src/core/history.js';
import type { BrokerEvent } from '../src/core/ports.js';
import { runs } from './support/runs.js';

const CH = ['a', 'b', 'c'];

interface Step {
  readonly channel: number;
  readonly dtMs: number;
  readonly size: number;
  readonly probe: { channel: number; back: number; span: number } | null;
  readonly expireAtMs: number | null;
}

const steps = fc.array(
  fc.record({
    channel: fc.nat(2),
    dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
    size: fc.constantFrom(1, 10, 100),
    probe: fc.option(fc.record({ channel: fc.nat(2), back: fc.nat(12), span: fc.oneof(fc.constant(-1), fc.nat(12)) }), { freq: 2 }),
    expireAtMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { freq: 6 }),
  }),
  { maxLength: 120, size: 'max' },
);

interface RingView {
  records: (EventRecord | undefined)[];
  head: number;
  bytes: number;
  lastOffset: number;
  evictedThrough: number;
  size: number;
}
interface HistoryView {
  rings: Map<string, RingView>;
  byAge: EventRecord[];
  byAgeHead: number;
  bytes: number;
}

interface Limits {
  readonly eventsMax: number;
  readonly bytesMax: number;
  readonly ageMs: number;
  readonly totalBytesMax: number;
}

/** No global byte bound: the rings are bounded per channel only. */
const UNBOUNDED = 1e15;

/**
 * A verify mode (O(n), tests only): every ring within its bounds, in order, its byte count true, nothing
 * older than the last expiry cutoff, and the backing arrays O(live records).
 */
function ok(condition: boolean, message: string): void {
  if (!condition) throw new Error(`history verify: ${message}`);
}

function verify(history: History, limits: Limits, cutoffMs: number): void {
  const view = history as unknown as HistoryView;
  let live = 0;
  let held = 0;
  for (const [channel, ring] of view.rings) {
    const records = ring.records.slice(ring.head) as EventRecord[];
    live += records.length;
    held += RING_BYTES + records.reduce((n, r) => n + recordBytes(r), 0);
    ok(records.length === ring.size, 'ring size');
    ok(records.length > 0, 'empty ring kept');
    ok(records.length <= limits.eventsMax, 'ring over eventsMax');
    const bytes = records.reduce((n, r) => n + r.frame.bytes.byteLength, 0);
    ok(ring.bytes === bytes, `ring bytes ${ring.bytes}, records hold ${bytes}`);
    ok(records.length === 1 || bytes <= limits.bytesMax, 'ring over bytesMax');
    ok(ring.lastOffset === records.at(-1)!.offset, 'ring lastOffset');
    ok(ring.evictedThrough < records[0]!.offset, 'evictedThrough inside the ring');
    for (const [i, r] of records.entries()) {
      ok(r.channel === channel && !r.evicted && r.atMs > cutoffMs, `record ${r.offset} misplaced, evicted or aged`);
      ok(i === 0 || r.offset > records[i - 1]!.offset, 'ring out of order');
    }
    ok(ring.head <= Math.max(65, ring.records.length / 2), `ring keeps ${ring.head} dead slots`);
  }
  ok(view.bytes === held, `history counts ${view.bytes} bytes, its rings hold ${held}`);
  ok(held <= limits.totalBytesMax, `history holds ${held} bytes, more than totalBytesMax ${limits.totalBytesMax}`);
  ok(view.byAgeHead <= Math.max(1025, view.byAge.length / 2), `age list keeps ${view.byAgeHead} dead slots`);
  ok(view.byAge.length - view.byAgeHead >= live, 'age list lost live records');
}

function play(limits: Limits, skip: number, unknownPrev: boolean, script: readonly Step[]): void {
  const history = new History(limits);
  // What a ring-less channel may claim: nothing before the first event seen, nor before the last offset of
  // any ring dropped when its events aged out (the gateway cannot tell which channel that was).
  let firstSeen: number | null = null;
  let forgotten = 0;
  const lastSeenAt = new Map<string, { offset: number; atMs: number }>();
  const ringLess = (now: number): void => {
    for (const [ch, last] of lastSeenAt) {
      if (last.atMs <= now - limits.ageMs) {
        forgotten = Math.max(forgotten, last.offset);
        lastSeenAt.delete(ch);
      }
    }
  };
  const truth: BrokerEvent[] = [];
  const last = new Map<string, number>();
  const seenLast = new Map<string, number>();
  let now = 0;
  script.forEach((step, i) => {
    const channel = CH[step.channel]!;
    const event: BrokerEvent = { channel, offset: i + 1, prev: last.get(channel) ?? 0, data: JSON.stringify('x'.repeat(step.size)) };
    last.set(channel, event.offset);
    truth.push(event);
    now += step.dtMs;
    if (i < skip) return; // the stream before the gateway started reading it
    const seen = unknownPrev && i === skip ? { ...event, prev: null } : event;
    seenLast.set(channel, event.offset);
    firstSeen ??= event.offset;
    lastSeenAt.set(channel, { offset: event.offset, atMs: now });
    ringLess(now);
    history.append(seen, frameOf(`{"o":${event.offset},"d":${event.data}}`), now);
    ok(history.streamOffset === event.offset, 'streamOffset');
    // The newest event of a channel is always in its ring: a read from just before it is covered.
    if (seen.prev !== null) {
      const answer = history.read(channel, seen.prev);
      ok(
        answer.covered && answer.records.length === 1 && answer.records[0]!.offset === event.offset,
        `newest event ${event.offset} not covered from ${seen.prev}`,
      );
    }
    const none = history.read(channel, event.offset);
    ok(none.covered && none.records.length === 0, 'read after the newest event');
    ok(history.position(channel) === event.offset, 'position of a channel with a ring');
    if (step.expireAtMs !== null) {
      now += step.expireAtMs;
      history.expire(now);
      ringLess(now);
    }
    if (script.length < 200 || i % 50 === 0) verify(history, limits, now - limits.ageMs);
    // A channel with no ring (never seen, or aged out) is covered from the first event seen and from the
    // last dropped ring on: nothing can have happened there unseen.
    // (Under a tight global byte bound rings also vanish for lack of room, which this model does not track:
    // only soundness is checked there, by the probes below.)
    const quiet = CH.find((ch) => !lastSeenAt.has(ch));
    if (quiet !== undefined && firstSeen !== null && limits.totalBytesMax === UNBOUNDED) {
      const from = Math.max(firstSeen - 1, forgotten);
      const a = history.read(quiet, from);
      const b = history.read(quiet, history.streamOffset);
      ok(a.covered && a.records.length === 0 && b.covered && b.records.length === 0, `ring-less ${quiet} not covered from ${from}`);
      if (from > 0) ok(!history.read(quiet, from - 1).covered, `ring-less ${quiet} covered before ${from}`);
      ok(history.position(quiet) === history.streamOffset, 'position of a ring-less channel');
    }
    if (step.probe !== null) {
      const ch = CH[step.probe.channel]!;
      const after = Math.max(0, event.offset - step.probe.back);
      const to = step.probe.span < 0 ? undefined : after + step.probe.span;
      const answer = history.read(ch, after, to);
      const end = to ?? history.streamOffset;
      const expected = truth.filter((e) => e.channel === ch && e.offset > after && e.offset <= end).map((e) => e.offset);
      if (answer.covered) {
        // Sound: exactly the stream's events, in order, however many were evicted or never seen.
        expect(answer.records.map((r) => r.offset)).toEqual(expected);
        for (const r of answer.records) expect(r.evicted).toBe(false);
      }
      const position = history.position(ch);
      // A reply's position: not before the channel's newest event (else a resume from it would replay it).
      expect(position).toBeGreaterThanOrEqual(seenLast.get(ch) ?? 0);
      expect(position).toBeLessThanOrEqual(history.streamOffset);
    }
  });
}

describe('history rings', () => {
  it('never present a partial range as complete, and cover the newest event of each channel', () => {
    fc.assert(
      fc.property(
        fc.record({
          eventsMax: fc.integer({ min: 1, max: 4 }),
          bytesMax: fc.constantFrom(30, 120, 1e6),
          ageMs: fc.constantFrom(1, 500, 2_000, 1e9),
          // Tight bounds hold two or three records of the largest size: evictions across channels.
          totalBytesMax: fc.constantFrom(UNBOUNDED, 2_000, 4_000),
        }),
        fc.nat(6),
        fc.boolean(),
        steps,
        (limits, skip, unknownPrev, script) => play(limits, skip, unknownPrev, script),
      ),
      runs(200),
    );
  });

  it('stay exact over long streams (the rings and the age list compact themselves)', () => {
    const script: Step[] = Array.from({ length: 3_000 }, (_, i) => ({
      channel: i % 7 === 0 ? 1 : 0,
      dtMs: 1,
      size: 1,
      probe: i % 97 === 0 ? { channel: i % 2, back: 5, span: -1 } : null,
      expireAtMs: null,
    }));
    play({ eventsMax: 3, bytesMax: 1e6, ageMs: 2_500, totalBytesMax: UNBOUNDED }, 0, false, script);
    play({ eventsMax: 100, bytesMax: 1e6, ageMs: 50, totalBytesMax: UNBOUNDED }, 0, false, script);
    play({ eventsMax: 100, bytesMax: 1e6, ageMs: 1e9, totalBytesMax: 3_000 }, 0, false, script);
  });

  it('forget everything on reset (a new epoch)', () => {
    const history = new History({ eventsMax: 5, bytesMax: 1e6, ageMs: 1e9, totalBytesMax: UNBOUNDED });
    history.append({ channel: 'a', offset: 3, prev: 0, data: '1' }, frameOf('x'), 0);
    history.reset();
    expect(history.streamOffset).toBe(0);
    expect(history.channelCount).toBe(0);
    expect(history.read('a', 0)).toEqual({ covered: false });
    history.append({ channel: 'a', offset: 1, prev: 0, data: '1' }, frameOf('x'), 0);
    expect(history.read('a', 0)).toMatchObject({ covered: true, records: [{ offset: 1 }] });
  });
});

describe('invariants asserted in code', () => {
  it('fail loudly (InvariantError, with the numbers) when offsets go backwards', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 }), (first, back) => {
        const history = new History({ eventsMax: 5, bytesMax: 1e6, ageMs: 1e9, totalBytesMax: UNBOUNDED });
        history.append({ channel: 'a', offset: first, prev: 0, data: '1' }, frameOf('x'), 0);
        const next = first - (back % (first + 1));
        expect(() => history.append({ channel: 'b', offset: next, prev: 0, data: '1' }, frameOf('x'), 0)).toThrowError(
          expect.objectContaining({ name: 'InvariantError', message: `stream offset went from ${first} to ${next}` }),
        );
      }),
      runs(50),
    );
  });
});
