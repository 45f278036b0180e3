// The determinism property against a core whose randomness ignores the seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { determinismProperty } from '../laws/determinism.js';
import { hunt } from '../support/runs.js';
import { unseededRandom } from './doubles.js';

describe('the determinism property catches nondeterminism', () => {
  it(`finds the bug: ${unseededRandom.name}`, () => {
    const result = fc.check(determinismProperty(unseededRandom), hunt());
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/I10/);
  });
});
