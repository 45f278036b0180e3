// The bucket property against broken token buckets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketProperty, type BucketFactory } from '../laws/rate.js';
import { hunt } from '../support/runs.js';
import { bucketStartsEmpty, bucketTooFast } from './doubles.js';

const cases: [string, BucketFactory, RegExp][] = [
  ['refills too fast', bucketTooFast, /I8: \d+ takes accepted within|waitMs/],
  ['starts empty (stingy)', bucketStartsEmpty, /I8: refused|isFull|waitMs/],
];

describe('the rate property catches broken buckets', () => {
  for (const [name, make, violation] of cases) {
    it(`finds the bug: ${name}`, () => {
      const result = fc.check(bucketProperty(make), hunt());
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(violation);
    });
  }
});
