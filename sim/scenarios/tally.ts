// Small helpers shared by the cloudrun-512mb, memory-7gb and slow-clients scenarios: counting outcomes,
// rounding for reports, reading the load-generator inputs (port range, source addresses, tw_reuse) into a
// host spec, and failures by time window. Nothing here knows a story's results.
import type { HostSpec } from '../kernel/host.js';
import { type Inputs, num, str } from './scenario.js';

/** Three decimals: reports stay readable and byte-stable. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** A copy with keys in sorted order (reports list outcomes alphabetically, so bytes do not depend on arrival order). */
export function sortedCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) out[k] = counts[k] as number;
  return out;
}

/** "32768-60999" → [32768, 60999]. */
export function portRange(inputs: Inputs, key = 'loadgen.portRange'): readonly [number, number] {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(str(inputs, key));
  if (m === null) throw new Error(`input ${key} expects "lo-hi", got ${JSON.stringify(inputs[key])}`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (!(lo >= 1 && hi <= 65_535 && lo <= hi)) throw new Error(`input ${key}: bad range ${lo}-${hi}`);
  return [lo, hi];
}

/** The load generator: a Linux box with `loadgen.sourceAddresses` addresses, its port range and tw_reuse. */
export function loadgenHost(inputs: Inputs, name = 'loadgen'): HostSpec {
  const [portLo, portHi] = portRange(inputs);
  const count = num(inputs, 'loadgen.sourceAddresses');
  if (!(Number.isInteger(count) && count >= 1 && count <= 250)) throw new Error('loadgen.sourceAddresses must be 1..250');
  const addresses: string[] = [];
  for (let i = 1; i <= count; i++) addresses.push(`10.0.1.${i}`);
  const twReuse = num(inputs, 'loadgen.twReuse');
  if (twReuse !== 0 && twReuse !== 1 && twReuse !== 2) throw new Error('loadgen.twReuse must be 0, 1 or 2');
  return {
    name,
    os: 'linux',
    addresses,
    memoryBytes: num(inputs, 'loadgen.memoryGiB') * 1024 ** 3,
    cores: num(inputs, 'loadgen.cores'),
    sysctls: { portLo, portHi, tcpTwReuse: twReuse },
  };
}

/** The server's listen-queue sysctls from the inputs. */
export function serverSysctls(inputs: Inputs): HostSpec['sysctls'] {
  const cookies = num(inputs, 'host.syncookies');
  if (cookies !== 0 && cookies !== 1 && cookies !== 2) throw new Error('host.syncookies must be 0, 1 or 2');
  return { somaxconn: num(inputs, 'host.somaxconn'), tcpMaxSynBacklog: num(inputs, 'host.synBacklog'), tcpSyncookies: cookies };
}

/** Window edges in seconds from a "0,60,80,100" input; the last window runs to the end of the run. */
export function windowEdgesS(inputs: Inputs, key: string): number[] {
  const edges = str(inputs, key)
    .split(',')
    .map((s) => Number(s.trim()));
  if (edges.length === 0 || edges.some((e) => !Number.isFinite(e)) || edges.some((e, i) => i > 0 && e <= (edges[i - 1] as number))) {
    throw new Error(`input ${key} expects increasing seconds, e.g. "0,60,80,100"`);
  }
  return edges;
}

/** Index of the window holding `tMs` (windows start at each edge); -1 before the first edge. */
export function windowOf(edgesS: readonly number[], tMs: number): number {
  let w = -1;
  for (let i = 0; i < edgesS.length; i++) if (tMs >= (edgesS[i] as number) * 1000) w = i;
  return w;
}

export function windowLabel(edgesS: readonly number[], i: number): string {
  const next = edgesS[i + 1];
  return next === undefined ? `${edgesS[i]}s-end` : `${edgesS[i]}-${next}s`;
}
