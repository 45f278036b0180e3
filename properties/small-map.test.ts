// SmallMap (a session's subscriptions, src/core/small-map.ts) against the Map it stands in for: after any
// sequence of sets, deletes and clears both hold the same entries in the same order, and every read agrees.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmallMap } from '../src/core/small-map.js';
import { runs } from './support/runs.js';

const key = fc.constantFrom('a', 'b', 'c', 'd');
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, value: fc.nat(9) }),
  fc.record({ kind: fc.constant('set' as const), key, value: fc.nat(9) }),
  fc.record({ kind: fc.constant('delete' as const), key, value: fc.constant(0) }),
  fc.record({ kind: fc.constant('clear' as const), key, value: fc.constant(0) }),
);

describe('SmallMap', () => {
  it('behaves as a Map', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const small = new SmallMap<string, number>();
        const map = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            small.set(o.key, o.value);
            map.set(o.key, o.value);
          } else if (o.kind === 'delete') {
            expect(small.delete(o.key)).toBe(map.delete(o.key));
          } else {
            small.clear();
            map.clear();
          }
          expect(small.size).toBe(map.size);
          expect([...small.entries()]).toEqual([...map.entries()]);
          expect([...small.keys()]).toEqual([...map.keys()]);
          expect([...small.values()]).toEqual([...map.values()]);
          for (const k of ['a', 'b', 'c', 'd']) {
            expect(small.get(k)).toBe(map.get(k));
            expect(small.has(k)).toBe(map.has(k));
          }
        }
      }),
      runs(300),
    );
  });
});
