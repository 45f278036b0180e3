// The wiring between hosts: which Link a packet from host A to host B crosses. Links are created on first
// use, each with its own seeded stream, so adding a host pair does not shift another pair's loss pattern.
import type { Prng } from '../engine/prng.js';
import { LAN, LOOPBACK, Link, type LinkSpec } from './link.js';

export class Network {
  private readonly links = new Map<string, Link>();
  private readonly specs = new Map<string, LinkSpec>();

  constructor(
    private readonly rng: Prng,
    private readonly defaultSpec: LinkSpec = LAN,
    private readonly loopbackSpec: LinkSpec = LOOPBACK,
  ) {}

  /** Sets the spec of the path from `a` to `b` (one direction); call before traffic flows. */
  setLink(a: string, b: string, spec: LinkSpec): void {
    this.specs.set(`${a}>${b}`, spec);
    this.links.delete(`${a}>${b}`);
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
