// How much each history store may hold by default (src/core/memory-budget.ts; docs/operations.md, "How
// capacity is derived"): a sixteenth of the memory budget, between 4 MiB and 256 MiB; 64 MiB when no limit
// is known.
import { describe, expect, it } from 'vitest';
import { retainedBytesDefault } from '../../src/core/memory-budget.js';

const MiB = 1024 * 1024;

describe('retainedBytesDefault', () => {
  it('takes a sixteenth of the budget, rounded down, within its floor and cap', () => {
    expect(retainedBytesDefault(null)).toBe(64 * MiB);
    expect(retainedBytesDefault(Math.floor(512 * MiB * 0.8))).toBe(Math.floor((512 * MiB * 0.8) / 16));
    expect(retainedBytesDefault(16 * 100 * MiB + 15)).toBe(100 * MiB);
    expect(retainedBytesDefault(32 * MiB)).toBe(4 * MiB);
    expect(retainedBytesDefault(0)).toBe(4 * MiB);
    expect(retainedBytesDefault(8 * 1024 * MiB)).toBe(256 * MiB);
    expect(retainedBytesDefault(16 * 256 * MiB - 16)).toBe(256 * MiB - 1);
  });
});
