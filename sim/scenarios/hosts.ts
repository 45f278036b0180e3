// The stories' machines, read from their inputs: the Linux server with its listen-queue sysctls, the load
// box with its source addresses, port range and tw_reuse, and the robots' process on it. One place, so a
// story file names only what differs (an address, a name, one more sysctl).
import type { Host, HostSpec } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import { GO } from '../kernel/runtime.js';
import type { RunContext } from './define.js';

const GiB = 1024 ** 3;
/** Where a story does not size its load box, its RAM and cores only size its process: a plain 16 GiB, 8-core machine. */
const LOADGEN_GIB = 16;
const LOADGEN_CORES = 8;

/** "32768-60999" → inclusive bounds (Linux ip_local_port_range syntax, with a dash). */
export function parsePortRange(text: string): { lo: number; hi: number; size: number } {
  const m = /^\s*(\d+)\s*[-–\s]\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new Error(`port range ${JSON.stringify(text)}: expected "lo-hi"`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (!(lo >= 1 && hi <= 65_535 && hi >= lo)) throw new Error(`port range ${text}: out of 1..65535 or reversed`);
  return { lo, hi, size: hi - lo + 1 };
}

/** `n` source addresses for a load box: 10.0.1.1, 10.0.1.2, … */
export function loadgenAddresses(n: number): string[] {
  if (!(Number.isInteger(n) && n >= 1 && n <= 250)) throw new RangeError(`loadgen.sourceAddresses ${n}`);
  return Array.from({ length: n }, (_, i) => `10.0.1.${i + 1}`);
}

function zeroOneTwo(key: string, v: number): 0 | 1 | 2 {
  if (v !== 0 && v !== 1 && v !== 2) throw new Error(`${key} must be 0, 1 or 2`);
  return v;
}

/**
 * The story's Linux server at `addr`: host.memoryGiB and host.cores unless the story sizes it otherwise,
 * somaxconn, tcp_max_syn_backlog and syncookies from the inputs, plus the story's own `sysctls`.
 */
export function linuxServer(
  ctx: RunContext,
  addr: string,
  spec: { name?: string; memoryBytes?: number; cores?: number; sysctls?: HostSpec['sysctls'] } = {},
): Host {
  const n = ctx.num;
  return ctx.world.addHost({
    name: spec.name ?? 'server',
    os: 'linux',
    addresses: [addr],
    memoryBytes: spec.memoryBytes ?? n('host.memoryGiB') * GiB,
    cores: spec.cores ?? n('host.cores'),
    sysctls: {
      somaxconn: n('host.somaxconn'),
      tcpMaxSynBacklog: n('host.synBacklog'),
      tcpSyncookies: zeroOneTwo('host.syncookies', n('host.syncookies')),
      ...spec.sysctls,
    },
  });
}

/** The load box: loadgen.sourceAddresses addresses, loadgen.portRange, loadgen.twReuse, plus the story's own `sysctls`. */
export function loadBox(ctx: RunContext, sysctls: HostSpec['sysctls'] = {}): { host: Host; srcAddrs: string[]; range: ReturnType<typeof parsePortRange> } {
  const { num: n, inputs } = ctx;
  const range = parsePortRange(ctx.str('loadgen.portRange'));
  const srcAddrs = loadgenAddresses(n('loadgen.sourceAddresses'));
  const host = ctx.world.addHost({
    name: 'loadgen',
    os: 'linux',
    addresses: srcAddrs,
    memoryBytes: (inputs['loadgen.memoryGiB'] === undefined ? LOADGEN_GIB : n('loadgen.memoryGiB')) * GiB,
    cores: inputs['loadgen.cores'] === undefined ? LOADGEN_CORES : n('loadgen.cores'),
    sysctls: { portLo: range.lo, portHi: range.hi, tcpTwReuse: zeroOneTwo('loadgen.twReuse', n('loadgen.twReuse')), ...sysctls },
  });
  return { host, srcAddrs, range };
}

/** A server and a load box whose robots (one Go process, robots.nofile) the story's fleet drives. */
export function serverAndRobots(
  ctx: RunContext,
  addr: string,
  server: Parameters<typeof linuxServer>[2] = {},
  robotsName = 'robots',
): { server: Host; robotsProc: SimProcess; srcAddrs: string[] } {
  const host = linuxServer(ctx, addr, server);
  const box = loadBox(ctx);
  const robotsProc = ctx.world.spawn(box.host, { name: robotsName, runtime: GO, nofileSoft: ctx.num('robots.nofile') });
  return { server: host, robotsProc, srcAddrs: box.srcAddrs };
}
