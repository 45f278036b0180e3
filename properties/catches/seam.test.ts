// The seam property against doubles that break the replay–live seam.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seamProperty } from '../laws/seam.js';
import type { Variant } from '../model/system.js';
import { hunt } from '../support/runs.js';
import { dropFirstLive, forgetsHeld, seamDuplicate } from './doubles.js';

const cases: [Variant, RegExp][] = [
  [forgetsHeld, /I3/],
  [seamDuplicate, /I4|I1\/I2/],
  [dropFirstLive, /I3/],
];

describe('the seam property catches broken seams', () => {
  for (const [variant, violation] of cases) {
    it(`finds the bug: ${variant.name}`, async () => {
      const result = await fc.check(seamProperty(variant), hunt());
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(violation);
    });
  }
});
