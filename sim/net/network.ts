// The wiring between hosts: which Link a packet from host A to host B crosses. Links are created on first
// use, each with its own seeded stream, so adding a host pair does not shift another pair's loss pattern.
import type { Prng } from '../engine/prng.js';
import { LAN, LOOPBACK, Link, type LinkSpec } from './link.js';

export class Network {
  private readonly links = new Map<string, Link>();
  private readonly specs = new Map<string, LinkSpec>();
  /** Specs saved by partition(), restored by repair(). */
  private readonly held = new Map<string, LinkSpec>();

  constructor(
    private readonly rng: Prng,
    private readonly defaultSpec: LinkSpec = LAN,
    private readonly loopbackSpec: LinkSpec = LOOPBACK,
  ) {}

  /** Sets the spec of the path from `a` to `b` (one direction). Takes effect at once, also mid-run. */
  setLink(a: string, b: string, spec: LinkSpec): void {
    const key = `${a}>${b}`;
    this.specs.set(key, spec);
    const l = this.links.get(key);
    if (l !== undefined) l.spec = spec;
  }

  /** Every packet between `a` and `b` (both directions) is lost until `repair` (turmoil's partition). */
  partition(a: string, b: string): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const l = this.link(x, y);
      this.held.set(`${x}>${y}`, l.spec);
      l.spec = { ...l.spec, lossRate: 1 };
    }
  }

  repair(a: string, b: string): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const spec = this.held.get(`${x}>${y}`);
      if (spec === undefined) continue;
      this.held.delete(`${x}>${y}`);
      this.link(x, y).spec = spec;
    }
  }

  link(fromHost: string, toHost: string): Link {
    const key = `${fromHost}>${toHost}`;
    let l = this.links.get(key);
    if (l === undefined) {
      const spec = this.specs.get(key) ?? (fromHost === toHost ? this.loopbackSpec : this.defaultSpec);
      l = new Link(spec, this.rng.fork(`link:${key}`));
      this.links.set(key, l);
    }
    return l;
  }
}
