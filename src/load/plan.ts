// How N connections are spread over load worker processes and source addresses (pure; tested).
//
// - Processes: a process holds at most `socketsPerWorkerMax` sockets (15,000 by default: the open-files
//   limit here is 20,000 per process, and a worker also needs descriptors for its runtime and IPC), and
//   there are at least `workersMin` of them so several cores can receive.
// - Source addresses: a connect() from an address bound with port 0 takes a local port of that address for
//   the socket's whole life and beyond (TIME_WAIT keeps it for 60 s), whatever the destination, so one
//   address gives at most the ephemeral range (28,232 ports on Linux by default) connections, shared with
//   every other run that binds it. Each of 127.0.B.1 … 127.0.B.k takes at most `perAddressMax` (10,000 by
//   default: under the port range with room to spare, and at odin's default admission.perIpMax, so a
//   default gateway does not refuse the load for coming from one address). B, the address block, is 0 by
//   default; runs that overlap in time (two load sets at once, or back-to-back runs within TIME_WAIT) take
//   different blocks so they never compete for the same ports.
// Connection i (0-based, over the whole run) lives in the worker whose block holds it and uses address
// i mod k, so every worker uses every address and every address carries the same share.

export interface SpreadInput {
  readonly connections: number;
  readonly workersMin: number;
  readonly socketsPerWorkerMax: number;
  readonly perAddressMax: number;
  /** Third octet of the source addresses, 0..255 (127.0.<block>.x). */
  readonly addressBlock?: number;
}

export interface WorkerShare {
  readonly index: number;
  /** Global index of this worker's first connection. */
  readonly first: number;
  readonly count: number;
}

export interface Spread {
  readonly workers: readonly WorkerShare[];
  /** Source addresses; connection i uses addresses[i % addresses.length]. */
  readonly addresses: readonly string[];
}

/** 127.0.B.1 … 127.0.B.254: loopback addresses Linux answers without configuration (all of 127/8 is loopback). */
export const SOURCE_ADDRESSES_MAX = 254;

export function spread(input: SpreadInput): Spread {
  const { connections, workersMin, socketsPerWorkerMax, perAddressMax } = input;
  if (!Number.isInteger(connections) || connections < 0) throw new RangeError(`connections must be a whole number ≥ 0, got ${connections}`);
  if (socketsPerWorkerMax < 1 || perAddressMax < 1 || workersMin < 1) throw new RangeError('socketsPerWorkerMax, perAddressMax and workersMin must be ≥ 1');
  const addressCount = Math.max(1, Math.ceil(connections / perAddressMax));
  if (addressCount > SOURCE_ADDRESSES_MAX) {
    throw new RangeError(
      `${connections} connections at ${perAddressMax} per source address need ${addressCount} addresses; loopback offers ${SOURCE_ADDRESSES_MAX}`,
    );
  }
  const workerCount = Math.max(workersMin, Math.ceil(connections / socketsPerWorkerMax));
  const workers: WorkerShare[] = [];
  const base = Math.floor(connections / workerCount);
  const extra = connections % workerCount;
  let first = 0;
  for (let index = 0; index < workerCount; index++) {
    const count = base + (index < extra ? 1 : 0);
    workers.push({ index, first, count });
    first += count;
  }
  const block = input.addressBlock ?? 0;
  if (!Number.isInteger(block) || block < 0 || block > 255) throw new RangeError(`the address block is the third octet of 127.0.B.x, 0..255; got ${block}`);
  const addresses = Array.from({ length: addressCount }, (_, i) => `127.0.${block}.${i + 1}`);
  return { workers, addresses };
}

/** Whether a host name is on loopback: the load tool drives nothing else. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The channels connection `i` subscribes to: `perConnection` consecutive names from the pool, starting at
 * i × perConnection (wrapping), so every channel gets the same number of subscribers.
 */
export function channelsOf(i: number, pool: readonly string[], perConnection: number): string[] {
  const out: string[] = [];
  const n = Math.min(perConnection, pool.length);
  for (let j = 0; j < n; j++) out.push(pool[(i * n + j) % pool.length]!);
  return out;
}
