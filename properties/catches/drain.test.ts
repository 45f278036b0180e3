// The drain property against broken drains.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drainProperty } from '../laws/drain.js';
import type { Variant } from '../model/system.js';
import { hunt } from '../support/runs.js';
import { acksWhileDraining, drainSkipsStalled, drainWithoutHint } from './doubles.js';

const cases: [Variant, RegExp][] = [
  [drainWithoutHint, /I9: client \d closed/],
  [drainSkipsStalled, /I9: (drain never finished|client \d still connected)/],
  [acksWhileDraining, /I9: publish .* acknowledged but is not in broker history|accounting: events published/],
];

describe('the drain property catches broken drains', () => {
  for (const [variant, violation] of cases) {
    it(`finds the bug: ${variant.name}`, async () => {
      const result = await fc.check(drainProperty(variant), hunt());
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(violation);
    });
  }
});
