// The set-up shared by the runs of our gateway on plain machines (windows-hub, broker-outage,
// rolling-restart, scale-100k): a host sized by the story, the users' Node process on a load host with many
// source addresses, and our gateway with the CPU costs the inputs give (gateway.*). One place, so a story
// file names only its sizes and addresses.
import type { Host, OsFlavour } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import { NODE } from '../kernel/runtime.js';
import { type OurGateway, type OurGatewaySpec, startOurGateway } from '../servers/ours.js';
import type { RunContext } from './define.js';

const GiB = 1024 ** 3;
/** What our server measures as its RSS with no connections where a story does not say (ours.baselineMiB). */
const BASELINE_BYTES = 60 * 1024 ** 2;

/** The ramp's length: load.connections started at load.rampPerSecond. */
export function rampMs(ctx: RunContext): number {
  return (ctx.num('load.connections') * 1000) / ctx.num('load.rampPerSecond');
}

/** `n` addresses under a /16 prefix, e.g. "10.3" → 10.3.0.1, 10.3.0.2, … (256 per third octet). */
export function addressesIn(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}.${i >> 8}.${(i & 255) + 1}`);
}

/** A machine of the story's size at one or more addresses. */
export function machine(ctx: RunContext, name: string, addresses: readonly string[], memoryGiB: number, cores: number, os: OsFlavour = 'linux'): Host {
  return ctx.world.addHost({ name, os, addresses: [...addresses], memoryBytes: memoryGiB * GiB, cores });
}

/** The users: one Node process on a load host at `addresses` (descriptors never the limit there). */
export function usersProcess(ctx: RunContext, addresses: readonly string[], memoryGiB: number, cores: number, nofile = 10_000_000): SimProcess {
  return ctx.world.spawn(machine(ctx, 'load', addresses, memoryGiB, cores), { name: 'users', runtime: NODE, nofileSoft: nofile });
}

/** Our gateway on `proc`: listen backlog 511 (Node's default), CPU costs from gateway.*, the story's extras. */
export function startOurs(ctx: RunContext, proc: SimProcess, port: number, extra: Partial<OurGatewaySpec> = {}): OurGateway {
  return startOurGateway(proc, {
    port,
    backlog: 511,
    handshakeCpuMs: ctx.num('gateway.handshakeCpuMs'),
    inboundCpuMs: ctx.num('gateway.inboundCpuMs'),
    writeCpuMs: ctx.num('gateway.writeCpuMs'),
    baselineBytes: BASELINE_BYTES,
    ...extra,
  });
}
