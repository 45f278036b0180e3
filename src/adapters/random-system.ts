// The real Random port. The simulator passes a seeded PRNG instead; nothing in production needs a seed.
import type { Random } from '../core/ports.js';

export class SystemRandom implements Random {
  next(): number {
    return Math.random();
  }
}
