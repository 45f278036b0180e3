// I10 determinism: same seed + same commands → identical bytes written (properties/laws/determinism.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { determinismProperty } from './laws/determinism.js';
import { setup } from './model/commands.js';
import { realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('determinism (I10)', () => {
  it('writes identical bytes for the same seed and command sequence', () => {
    fc.assert(determinismProperty(realCore), runs(60));
  });

  it('draws session ids and drain hints from the seed (different seeds, different bytes)', () => {
    const hints = [1, 2].map((seed) => {
      const { real } = setup(realCore, { seed });
      const link = real.sys.connect({ ip: '10.0.0.1', userId: null })!;
      real.sys.gateway.drain(() => {});
      real.sys.settle();
      return `${link.conn.ofType('welcome')[0]!.session} ${link.ended!.reason}`;
    });
    expect(hints[0]).not.toBe(hints[1]);
  });
});
