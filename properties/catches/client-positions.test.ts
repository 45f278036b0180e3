// The client-track properties against broken tracks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactRepairProperty, trackProperty } from '../laws/positions.js';
import { hunt } from '../support/runs.js';
import { trackIgnoresPrev, trackKeepsDuplicates } from './doubles.js';

describe('the client-track properties catch broken gap handling', () => {
  it('finds the bug: a track that ignores prev (holes unnoticed)', () => {
    const result = fc.check(trackProperty(trackIgnoresPrev), hunt());
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/I3/);
    const exact = fc.check(exactRepairProperty(trackIgnoresPrev), hunt());
    expect(exact.failed).toBe(true);
  });

  it('finds the bug: a track that lets a duplicate through', () => {
    const result = fc.check(trackProperty(trackKeepsDuplicates), hunt());
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/I1\/I2/);
  });
});
