// The subscription index behind fan-out (src/core/channel-index.ts) against a list of (subject, item)
// pairs and the spec's matching rule: every matching subscription is visited exactly once per publish,
// exact subscribers first — what fan-out (I3) and the once-per-session delivery (I2) rest on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelIndex } from '../src/core/channel-index.js';
import { isPattern, subjectMatches } from '../src/core/protocol.js';
import { runs } from './support/runs.js';

const subject = fc
  .array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 3 })
  .chain((t) =>
    fc.constantFrom(
      t,
      [...t, '>'],
      t.map((x) => (x === '*' ? 'a' : x)),
    ),
  )
  .map((t) => t.join('.'))
  .chain((s) => fc.constantFrom(s, '>', 'a.>'));
const channel = fc.array(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), subject, item: fc.nat(3) }),
  fc.record({ kind: fc.constant('add' as const), subject, item: fc.nat(3) }),
  fc.record({ kind: fc.constant('remove' as const), subject, item: fc.nat(3) }),
  fc.record({ kind: fc.constant('match' as const), subject: channel, item: fc.constant(0) }),
);

describe('channel index', () => {
  it('visits each matching subscription exactly once, exact ones first, and forgets removed ones', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), (ops) => {
        const index = new ChannelIndex<number>();
        const model = new Set<string>(); // `${subject}|${item}`
        for (const { kind, subject: s, item } of ops) {
          if (kind === 'add') {
            index.add(s, item, isPattern(s));
            model.add(`${s}|${item}`);
          } else if (kind === 'remove') {
            index.remove(s, item, isPattern(s));
            model.delete(`${s}|${item}`);
          } else {
            const visited: { item: number; exact: boolean }[] = [];
            const exactItems = new Set([...model].filter((k) => k.startsWith(`${s}|`)).map((k) => Number(k.split('|')[1])));
            index.forEachMatch(s, (item) => visited.push({ item, exact: exactItems.has(item) }));
            const expected = [...model]
              .map((k) => k.split('|') as [string, string])
              .filter(([sub]) => subjectMatches(sub, s))
              .map(([, i]) => Number(i))
              .sort();
            expect(visited.map((v) => v.item).sort()).toEqual(expected);
            const firstPattern = visited.findIndex((v, i) => i >= exactItems.size);
            expect(visited.slice(0, exactItems.size).every((v) => v.exact)).toBe(true);
            expect(firstPattern === -1 || firstPattern >= exactItems.size).toBe(true);
            expect(index.exactCount(s)).toBe(exactItems.size);
          }
          const exactSubjects = new Set([...model].map((k) => k.split('|')[0]!).filter((x) => !isPattern(x)));
          expect(index.channelCount).toBe(exactSubjects.size);
        }
      }),
      runs(400),
    );
  });
});
