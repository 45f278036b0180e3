// The simulated universe of one run: one scheduler, one root seed, the network and its hosts. Everything
// random in the run draws from `rng` forks, so the seed alone determines the run.
import { Prng } from '../engine/prng.js';
import { Scheduler } from '../engine/scheduler.js';
import type { LinkSpec } from '../net/link.js';
import { Network } from '../net/network.js';
import { Host, type HostSpec } from './host.js';
import { synSysctlsOf, type Mechanisms } from './mechanisms.js';
import { type ProcessSpec, SimProcess } from './process.js';

export interface WorldOptions {
  readonly defaultLink?: LinkSpec;
  readonly loopback?: LinkSpec;
  /** Mechanism settings on top of the story's model (mechanisms.ts); none by default. */
  readonly mechanisms?: Mechanisms;
}

export class World {
  readonly sched = new Scheduler();
  readonly rng: Prng;
  readonly net: Network;
  readonly hosts: Host[] = [];
  readonly mechanisms: Mechanisms;
  private readonly byAddr = new Map<string, Host>();
  /** Socket ids are per world so two runs in one process number their sockets alike. */
  nextSocketId = 1;

  constructor(seed: number | string, opts: WorldOptions = {}) {
    this.rng = new Prng(seed);
    this.net = new Network(this.rng.fork('net'), opts.defaultLink, opts.loopback);
    this.mechanisms = opts.mechanisms ?? {};
  }

  addHost(given: HostSpec): Host {
    // The run's SYN settings apply to every Linux host (other kernels have no such sysctls).
    const syn = given.os === 'linux' ? synSysctlsOf(this.mechanisms) : {};
    const spec = Object.keys(syn).length === 0 ? given : { ...given, sysctls: { ...given.sysctls, ...syn } };
    if (this.hosts.some((h) => h.name === spec.name)) throw new Error(`duplicate host ${spec.name}`);
    const h = new Host(spec, this.sched, this.rng.fork(`host:${spec.name}`));
    for (const a of spec.addresses) {
      if (this.byAddr.has(a)) throw new Error(`address ${a} already belongs to ${this.byAddr.get(a)?.name}`);
      this.byAddr.set(a, h);
    }
    this.hosts.push(h);
    return h;
  }

  hostByAddr(addr: string): Host | undefined {
    return this.byAddr.get(addr);
  }

  spawn(host: Host, spec: ProcessSpec): SimProcess {
    return new SimProcess(this, host, spec);
  }
}
