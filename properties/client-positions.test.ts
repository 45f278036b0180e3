// The TypeScript client's gap detection and resume (src/client/positions.ts) as properties.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { exactRepairProperty, realTrack, trackProperty } from './laws/positions.js';
import { runs } from './support/runs.js';

describe('client gap detection and repair', () => {
  it('delivers in order, at most once, and reports every offset it will not deliver', () => {
    fc.assert(trackProperty(realTrack), runs(300));
  });

  it('recovers the exact stream when every replay succeeds', () => {
    fc.assert(exactRepairProperty(realTrack), runs(300));
  });
});
