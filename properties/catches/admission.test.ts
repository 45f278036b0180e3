// The admission property against broken admission control.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admissionProperty } from '../laws/admission.js';
import type { Variant } from '../model/system.js';
import { hunt } from '../support/runs.js';
import { admissionForgetsRelease, admissionIgnoresUser, admissionOffByOne } from './doubles.js';

const cases: [Variant, RegExp][] = [
  [admissionForgetsRelease, /I7/],
  [admissionOffByOne, /I7/],
  [admissionIgnoresUser, /I7/],
];

describe('the admission property catches broken admission control', () => {
  for (const [variant, violation] of cases) {
    it(`finds the bug: ${variant.name}`, () => {
      const result = fc.check(admissionProperty(variant), hunt());
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(violation);
    });
  }
});
