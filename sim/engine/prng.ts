// Seeded randomness for the laboratory: sfc32 (Chris Doty-Humphrey's "small fast counter", PractRand-clean,
// 128-bit state, period ≥ 2^32), seeded through splitmix32 from a hash of a text key.
//
// Streams: `fork(label)` derives a new generator from the *seed key* and the label, not from the parent's
// current state. So the number of draws one model makes never shifts another model's stream: adding a
// robot behaviour does not change the kernel's loss pattern for the same seed. Worked example:
// root "42" → fork("net") has key "42/net" whatever root has drawn; fork("net") twice gives equal streams,
// so use distinct labels for distinct consumers.

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of the key. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32: spreads one 32-bit value into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  readonly key: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    this.key = String(seed);
    const st = { s: fnv1a(this.key) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // sfc32's recommended warm-up so nearby seeds diverge before the first output.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo)) throw new RangeError(`prng.int(${lo}, ${hi})`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Uniform real in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Exponential with the given mean (inter-arrival times of a Poisson process). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('prng.pick of an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** An independent stream named by `label` (see the header). */
  fork(label: string): Prng {
    return new Prng(`${this.key}/${label}`);
  }
}
