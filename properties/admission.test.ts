// I7 admission: the model-based property (properties/laws/admission.ts) and the capacity formula.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCapacity } from '../src/core/admission.js';
import { admissionProperty } from './laws/admission.js';
import { realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('admission (I7)', () => {
  it('never holds more than capacity, caps users and IPs, refuses with the right status', () => {
    fc.assert(admissionProperty(realCore), runs(200));
  });

  it('capacity is the smallest term, and names a term that binds (a resource term on ties)', () => {
    // Small numbers, so the terms tie often (ties decide which term is named).
    const input = fc.record({
      configuredMax: fc.integer({ min: 0, max: 12 }),
      memoryBudgetBytes: fc.option(fc.integer({ min: 0, max: 3_000 })),
      baselineBytes: fc.integer({ min: 0, max: 1_000 }),
      perConnectionBytes: fc.integer({ min: 100, max: 300 }),
      fdLimit: fc.option(fc.integer({ min: 0, max: 16 })),
      fdReserve: fc.integer({ min: 0, max: 4 }),
      retainedBytes: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(input, (i) => {
        const c = computeCapacity(i);
        const memory =
          i.memoryBudgetBytes === null ? null : Math.max(0, Math.floor((i.memoryBudgetBytes - i.baselineBytes - i.retainedBytes) / i.perConnectionBytes));
        const descriptors = i.fdLimit === null ? null : Math.max(0, i.fdLimit - i.fdReserve);
        expect(c.terms).toEqual({ config: i.configuredMax, memory, descriptors });
        const terms = [i.configuredMax, memory, descriptors].filter((t): t is number => t !== null);
        expect(c.connectionsMax).toBe(Math.min(...terms));
        expect(c.terms[c.boundBy === 'config' ? 'config' : c.boundBy]).toBe(c.connectionsMax);
        if (c.boundBy === 'config') expect([memory, descriptors]).not.toContain(c.connectionsMax);
        if (c.boundBy === 'memory') expect(descriptors === null || descriptors >= c.connectionsMax).toBe(true);
        if (c.boundBy === 'descriptors') expect(memory === null || memory > c.connectionsMax).toBe(true);
      }),
      runs(300),
    );
  });
});
