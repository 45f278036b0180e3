// The embedded broker's history reads: exact (the same answer as a scan of everything it retains), and
// bounded (a read costs what it returns, never the whole log — the hardening issue's frozen-gateway case).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANNEL_OVERHEAD_BYTES, EVENT_OVERHEAD_BYTES, INDEX_STEPS_MAX, MemoryBroker, type MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import type { BrokerEvent, HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import { subjectMatches } from '../../src/core/protocol.js';
import { runs } from '../../properties/support/runs.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { seededRandom } from '../support/seeded-random.js';

function broker(retention: MemoryBrokerRetention = { eventsMax: 1e9, bytesMax: 1e12, ageMs: 1e12 }): { clock: SimClock; broker: MemoryBroker } {
  const clock = new SimClock();
  return { clock, broker: new MemoryBroker(clock, seededRandom(3), retention) };
}

function read(b: MemoryBroker, request: HistoryRequest): HistoryResult {
  let result: HistoryResult | undefined;
  b.readHistory(request, (r) => (result = r));
  if (result === undefined) throw new Error('no answer');
  return result;
}

const offsets = (r: HistoryResult) => (r.ok ? r.events.map((e) => e.offset) : r.reason);

describe('memory broker history reads', () => {
  const CHANNELS = ['a.x', 'a.y', 'a.y.z', 'b.x', 'b'];
  const PATTERNS = ['a.*', 'a.>', '*.x', '>', 'b', 'a.y', 'c.>', '*.*.z'];

  it('answer exactly what a scan of the retained log answers, or refuse with a reason that holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ channel: fc.constantFrom(...CHANNELS), dtMs: fc.nat(30) }), { maxLength: 60 }),
        fc.record({ eventsMax: fc.integer({ min: 1, max: 40 }), ageMs: fc.constantFrom(20, 200, 1e9) }),
        fc.constantFrom(...PATTERNS),
        fc.nat(70),
        fc.option(fc.nat(70)),
        fc.integer({ min: 1, max: 8 }),
        (script, limits, subject, after, to, maxEvents) => {
          const { clock, broker: b } = broker({ eventsMax: limits.eventsMax, bytesMax: 1e12, ageMs: limits.ageMs });
          const all: BrokerEvent[] = [];
          for (const step of script) {
            clock.advance(step.dtMs);
            b.publish(step.channel, '1', () => undefined);
            all.push({ channel: step.channel, offset: all.length + 1, prev: null, data: '1' });
          }
          const head = all.length;
          const result = read(b, { subject, afterOffset: after, maxEvents, ...(to === null ? {} : { toOffset: to }) });
          const end = Math.min(to ?? head, head);
          const expected = all.filter((e) => e.offset > after && e.offset <= end && subjectMatches(subject, e.channel)).map((e) => e.offset);
          if (after > head) {
            expect(result).toEqual({ ok: false, reason: 'beyond_head' });
            return;
          }
          // What retention keeps: the newest eventsMax events, none older than ageMs.
          const kept = new Set(all.slice(Math.max(0, head - limits.eventsMax)).map((e) => e.offset));
          let t = 0;
          const ageOf = new Map<number, number>();
          script.forEach((s, i) => ageOf.set(i + 1, (t += s.dtMs)));
          for (const o of [...kept]) if (ageOf.get(o)! <= t - limits.ageMs) kept.delete(o);
          const lost = all.some((e) => e.offset > after && !kept.has(e.offset) && subjectMatches(subject, e.channel));
          if (result.ok) {
            expect(lost).toBe(false);
            expect(offsets(result)).toEqual(expected);
          } else if (result.reason === 'too_many') expect(expected.length).toBeGreaterThan(maxEvents);
          else expect([result.reason, lost]).toEqual(['history_expired', true]);
        },
      ),
      runs(300),
    );
  });

  it('answer a pattern read over 200,000 retained events without walking them (a request once froze the gateway)', { timeout: 5_000 }, () => {
    // Before the channel index, each of these reads matched every retained event against the pattern:
    // 100 reads × 200,000 events took ~8 s. Now each costs a look-up in the name tree.
    const { broker: b } = broker();
    for (let i = 0; i < 200_000; i++) b.publish(`odin.token.T${i % 100}.trade`, '1', () => undefined);
    for (let i = 0; i < 100; i++) expect(read(b, { subject: `nomatch${i}.>`, afterOffset: 0, maxEvents: 1000 })).toEqual({ ok: true, events: [] });
    for (let i = 0; i < 100; i++)
      expect(read(b, { subject: `odin.token.T${i}.>`, afterOffset: 0, maxEvents: 1000 })).toEqual({ ok: false, reason: 'too_many' });
    expect(offsets(read(b, { subject: 'odin.token.T7.trade', afterOffset: 199_000, maxEvents: 1000 }))).toHaveLength(10);
  });

  it('refuse a pattern read that would walk more than INDEX_STEPS_MAX nodes of the name tree, as too_many', () => {
    const { broker: b } = broker();
    // INDEX_STEPS_MAX first tokens, none of which has a `.trade` child: `*.trade` must look at each.
    for (let i = 0; i <= INDEX_STEPS_MAX; i++) b.publish(`t${i}.quote`, '1', () => undefined);
    expect(read(b, { subject: '*.trade', afterOffset: 0, maxEvents: 10 })).toEqual({ ok: false, reason: 'too_many' });
    // The same tree, a pattern that needs few steps: answered.
    expect(offsets(read(b, { subject: 't5.*', afterOffset: 0, maxEvents: 10 }))).toEqual([6]);
  });

  it('count events and channels at their measured cost against bytesMax, forgetting idle channels before events', () => {
    const data = 'x'.repeat(100);
    const event = data.length + EVENT_OVERHEAD_BYTES;
    // Room for two channels and four events.
    const { broker: b } = broker({ eventsMax: 1e9, bytesMax: 2 * CHANNEL_OVERHEAD_BYTES + 4 * event, ageMs: 1e12 });
    for (let i = 0; i < 4; i++) b.publish('a', data, () => undefined);
    expect(offsets(read(b, { subject: 'a', afterOffset: 0, maxEvents: 10 }))).toEqual([1, 2, 3, 4]);
    b.publish('b', data, () => undefined); // a third channel does not fit beside four events: event 1 goes
    expect(read(b, { subject: 'a', afterOffset: 0, maxEvents: 10 })).toEqual({ ok: false, reason: 'history_expired' });
    expect(offsets(read(b, { subject: 'a', afterOffset: 1, maxEvents: 10 }))).toEqual([2, 3, 4]);
  });
});
