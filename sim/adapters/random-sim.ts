// The simulated twin of the Random port (src/adapters/random-system.ts): a stream of the lab's seeded
// PRNG (sim/engine/prng.ts), so every run of one seed draws the same numbers.
import type { Random } from '../../src/core/ports.js';
import type { Prng } from '../engine/prng.js';

export class SimRandom implements Random {
  constructor(private readonly prng: Prng) {}
  next(): number {
    return this.prng.next();
  }
}
