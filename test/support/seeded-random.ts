// A seeded PRNG (mulberry32) for unit tests and property suites, so their data is reproducible. (The lab
// draws from its own streams, sim/engine/prng.ts; these tests keep mulberry32 because documented examples,
// docs/protocol.md, were generated with it.)
import type { Random } from '../../src/core/ports.js';

export function seededRandom(seed = 1): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
