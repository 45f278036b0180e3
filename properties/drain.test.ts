// I9 drain, scheduled among deliveries (fc.scheduler): see properties/laws/drain.ts.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { drainProperty } from './laws/drain.js';
import { realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('drain (I9)', () => {
  it('closes everyone 1001 with a hint, loses nothing acknowledged, whatever is in flight', async () => {
    await fc.assert(drainProperty(realCore), runs(120));
  });
});
