// The delivery property (properties/delivery.test.ts) against broken doubles: each test passes only when
// fast-check finds a counterexample, and the counterexample breaks the invariant the double violates.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveryProperty } from '../model/commands.js';
import type { Variant } from '../model/system.js';
import { hunt } from '../support/runs.js';
import { dropFirstLive, headOfLineBlocking, loseFirstEvent, offByOneRing, perClientEncoding, reversedRing, seamDuplicate, unboundedQueue } from './doubles.js';

const cases: [Variant, RegExp][] = [
  [offByOneRing, /I[34]:/],
  [reversedRing, /I1/],
  [seamDuplicate, /I[124]|I1\/I2/],
  [loseFirstEvent, /I3|accounting: events published/],
  [dropFirstLive, /I3/],
  [perClientEncoding, /I5/],
  [headOfLineBlocking, /I3/],
  [unboundedQueue, /I6/],
];

describe('the delivery property catches broken cores', () => {
  for (const [variant, violation] of cases) {
    it(`finds the bug: ${variant.name}`, () => {
      const result = fc.check(deliveryProperty(variant), hunt());
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(violation);
    });
  }
});
