// `prev` derived from an ordered read of a JetStream stream (src/adapters/nats/prev-tracker.ts): exact from
// a complete start, null where unknowable, and never a number that hides a message the reader skipped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrevTracker } from '../../src/adapters/nats/prev-tracker.js';
import { runs } from '../../properties/support/runs.js';

const read = (tracker: PrevTracker, messages: Array<[string, number]>): Array<number | null> => messages.map(([subject, seq]) => tracker.next(subject, seq));

describe('PrevTracker', () => {
  it('from sequence 1 of a stream that never dropped anything: 0 for a first event, then the last sequence', () => {
    const t = new PrevTracker(1, 1, 100);
    expect(
      read(t, [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['a', 4],
        ['b', 5],
      ]),
    ).toEqual([0, 0, 1, 3, 2]);
    expect(t.lastSeq).toBe(5);
  });

  it('from a later start, or a stream that dropped its beginning: null until a channel is seen', () => {
    expect(
      read(new PrevTracker(40, 40, 100), [
        ['a', 40],
        ['a', 41],
        ['b', 42],
      ]),
    ).toEqual([null, 40, null]);
    expect(
      read(new PrevTracker(1, 7, 100), [
        ['a', 7],
        ['a', 8],
      ]),
    ).toEqual([null, 7]);
    // Asked to start at 1, but the first message read is 5: 1..4 expired meanwhile, nothing is provable.
    expect(
      read(new PrevTracker(1, 1, 100), [
        ['a', 5],
        ['b', 6],
      ]),
    ).toEqual([null, null]);
  });

  it('after a skip (retention expired sequences the reader never read), answers the skip for every channel seen before it', () => {
    const t = new PrevTracker(1, 1, 100);
    expect(
      read(t, [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ]),
    ).toEqual([0, 0, 1]);
    // 4..9 were never read: any channel may have had an event there.
    expect(
      read(t, [
        ['a', 10],
        ['c', 11],
        ['b', 12],
        ['a', 13],
      ]),
    ).toEqual([9, 9, 9, 10]);
  });

  it('forgets the least recently published channel past its bound: its next prev is null, not 0', () => {
    const t = new PrevTracker(1, 1, 2);
    expect(
      read(t, [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['c', 4],
      ]),
    ).toEqual([0, 0, 1, 0]); // c pushes b out
    expect(t.subjectCount).toBe(2);
    expect(read(t, [['b', 5]])).toEqual([null]); // b was forgotten; its return pushes a out
    expect(
      read(t, [
        ['a', 6],
        ['c', 7],
      ]),
    ).toEqual([null, null]); // a's return pushed c out
  });

  it('after a skip, a forgotten channel whose last event may follow the skip is null, not the skip', () => {
    const t = new PrevTracker(1, 1, 1);
    // c's arrival pushes b (last 5, after the skip at 4) out: answering 4 for b would hide event 5.
    expect(
      read(t, [
        ['a', 1],
        ['b', 5],
        ['c', 6],
        ['b', 7],
      ]),
    ).toEqual([0, 4, 4, null]);
  });

  // The safety law: a number p says "nothing on this channel between p and this event". Whatever the reader
  // skipped or forgot, p is never below the channel's true previous sequence in the whole stream.
  it('never answers a number below the true previous event of the channel (property)', () => {
    const stream = fc.array(fc.record({ subject: fc.constantFrom('a', 'b', 'c', 'd'), read: fc.boolean() }), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 10 }), (messages, subjectsMax, start) => {
        const tracker = new PrevTracker(start, 1, subjectsMax);
        const truePrev = new Map<string, number>();
        let complete = true;
        messages.forEach((m, i) => {
          const seq = i + 1;
          if (seq >= start && (m.read || seq === messages.length)) {
            const prev = tracker.next(m.subject, seq);
            const truth = truePrev.get(m.subject) ?? 0;
            if (prev !== null) expect(prev).toBeGreaterThanOrEqual(truth);
            if (prev !== null) expect(prev).toBeLessThan(seq);
            // Exact while everything since 1 was read and nothing was forgotten.
            if (complete && start === 1 && subjectsMax >= 4) expect(prev).toBe(truth);
          } else complete = false;
          truePrev.set(m.subject, seq);
        });
      }),
      runs(300),
    );
  });
});
