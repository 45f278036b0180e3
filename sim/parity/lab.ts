// Runs a parity experiment in the lab: one simulated Linux host (the namespace: loopback addresses
// 127.0.0.1–9 and, where the experiment has one, a non-loopback address), the same sysctls, a Node
// process for the server (a plain ws server: sim/servers/plain-ws-server.ts on the libuv runtime; or
// our gateway: sim/servers/ours.ts) and a Node process for the clients (the lab's load robots,
// sim/robots/load-robots.ts, one attempt each). Deterministic: the same experiment gives the same result.
import type { Sysctls } from '../kernel/host.js';
import { NODE, type RuntimeProfile } from '../kernel/runtime.js';
import { World } from '../kernel/world.js';
import { LoadFleet } from '../robots/load-robots.js';
import { startOurGateway } from '../servers/ours.js';
import { PlainWsServer } from '../servers/plain-ws-server.js';
import type { GatewayOptionsInput } from '../../src/core/options.js';
import { configSpec } from '../../src/server/config.js';
import type { CapacityNote, Experiment, ExperimentResult, RoundResult } from './experiment.js';

/** Model parameters the parity suite may set wrong on purpose (--parity-break). */
export interface LabOverrides {
  readonly sysctls?: Partial<Sysctls>;
  readonly nodeStartFds?: number;
  /** The server's busy spell left out. */
  readonly ignoreBusy?: boolean;
  /** Source addresses other than the experiment's. */
  readonly srcAddrs?: readonly string[];
  /** Bind before connect or not, whatever the experiment's clients do. */
  readonly bindSource?: boolean;
  /** The server's memory limit left out (the process gets the host's memory). */
  readonly ignoreMemoryLimit?: boolean;
}

const GIB = 1024 ** 3;
const LOOPBACK = Array.from({ length: 9 }, (_, i) => `127.0.0.${i + 1}`);
/** Plenty: the namespace's processes run with the machine's hard limit unless prlimit says otherwise. */
const NO_LIMIT = 1_048_576;
/** What one connect() in a tight loop costs a Node client (net.connect + the syscall), ms. */
const TIGHT_LOOP_CONNECT_MS = 0.1;

export function runLab(e: Experiment, over: LabOverrides = {}, seed = 'parity'): ExperimentResult {
  const world = new World(seed);
  const s = e.sysctls;
  const sysctls: Partial<Sysctls> = {
    somaxconn: s.somaxconn,
    tcpMaxSynBacklog: s.synBacklog,
    tcpSyncookies: s.syncookies,
    synRetries: s.synRetries,
    synLinearTimeouts: s.synLinearTimeouts,
    portLo: s.portLo,
    portHi: s.portHi,
    tcpTwReuse: s.twReuse,
    ...over.sysctls,
  };
  const box = world.addHost({
    name: 'box',
    os: 'linux',
    addresses: e.dummyAddr === undefined ? LOOPBACK : [...LOOPBACK, e.dummyAddr],
    memoryBytes: 8 * GIB,
    cores: 2,
    sysctls,
  });
  const node: RuntimeProfile = over.nodeStartFds === undefined ? NODE : { ...NODE, startFds: over.nodeStartFds };
  const srv = e.server;
  // A memory limit the gateway detects is its process's limit here, as a cgroup's is for real.
  const memoryBytes = srv.kind === 'gateway' && over.ignoreMemoryLimit !== true ? srv.memoryBytes : undefined;
  const server = world.spawn(box, {
    name: 'server',
    runtime: node,
    nofileSoft: srv.nofile ?? NO_LIMIT,
    ...(memoryBytes === undefined ? {} : { memoryLimitBytes: memoryBytes }),
  });
  let capacity: CapacityNote | undefined;
  if (srv.kind === 'plain') {
    new PlainWsServer(server, { ports: srv.ports, backlog: srv.backlog, handshakeCpuMs: 0.1 });
  } else {
    const r = srv.sets;
    const ours = startOurGateway(server, {
      port: srv.port,
      backlog: 511, // Node's default, as `odin serve` listens
      handshakeCpuMs: 0.1,
      inboundCpuMs: 0.01,
      writeCpuMs: 0.01,
      // Unless pinned, what `odin serve` measured as its RSS at start here.
      baselineBytes: r['resources.baselineBytes'] ?? 85 * 1024 ** 2,
      ...(r['resources.perConnectionBytes'] === undefined ? {} : { perConnectionBytes: r['resources.perConnectionBytes'] }),
      ...(r['resources.memoryBudgetRatio'] === undefined ? {} : { memoryBudgetRatio: r['resources.memoryBudgetRatio'] }),
      ...(r['resources.fdReserve'] === undefined ? {} : { fdReserve: r['resources.fdReserve'] }),
      options: gatewayOptionsOf(r),
      // `odin serve` always samples its loop (src/server/load.ts), every server.loadSampleMs.
      loadSampleMs: r['server.loadSampleMs'] ?? configSpec.server.loadSampleMs.default,
    });
    const cap = ours.gateway.admission.capacity;
    capacity = { line: `max connections ${cap.connectionsMax} (bound by ${cap.boundBy})` };
  }
  const busyMs = srv.busyMs ?? 0;
  if (busyMs > 0 && over.ignoreBusy !== true) world.sched.at(srv.busyAfterMs ?? 0, () => server.busy(busyMs), null);
  const c = e.clients;
  const clients = world.spawn(box, { name: 'clients', runtime: node, nofileSoft: c.nofile ?? NO_LIMIT });
  // Without a source address the kernel picks the destination's own address for a local destination.
  const srcAddrs = over.srcAddrs ?? (c.srcAddrs.length > 0 ? c.srcAddrs : [c.host]);
  const rounds: RoundResult[] = [];
  let t0 = 0;
  for (let k = 0; k < (c.rounds ?? 1); k++) {
    if (k > 0) t0 = world.sched.nowMs + (c.pauseMs ?? 0);
    const fleet = new LoadFleet(clients, {
      dstAddr: c.host,
      dstPorts: c.ports,
      srcAddrs,
      bindSource: over.bindSource ?? c.srcAddrs.length > 0,
      handshakeTimeoutMs: 1e12, // the round's end decides (below), as the real client's settle time does
      retryDelayMs: 1_000,
      attemptsMax: 1,
    });
    // A real client "at once" is a tight loop: each connect() costs it about 0.1 ms (and on loopback the
    // handshake completes within the call), so its SYNs never arrive together.
    const spacing = c.spacingMs > 0 ? c.spacingMs : TIGHT_LOOP_CONNECT_MS;
    for (let i = 0; i < c.count; i++) fleet.add(t0 + i * spacing);
    world.sched.runUntil(t0 + (c.count - 1) * spacing + c.settleMs);
    const outcomes: Record<string, number> = {};
    for (const u of fleet.users) {
      const kind = u.phase === 'open' ? 'open' : u.phase === 'done' ? u.lastFailure : 'pending';
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
    }
    rounds.push({ outcomes, connectMs: fleet.stats.connectMs.map((x) => Math.round(x)).sort((a, b) => a - b) });
    // The round ends as the real client's does: every socket closed, the client first.
    for (const u of fleet.users) {
      const sock = u.sock;
      u.sock = null;
      u.phase = 'done';
      if (u.timer !== null) world.sched.cancel(u.timer);
      u.timer = null;
      sock?.close();
    }
  }
  return capacity === undefined ? { rounds } : { rounds, capacity };
}

/** The `--set` sections the core's options take (admission.*, loadBrake.*), as `odin serve` maps them. */
function gatewayOptionsOf(sets: Readonly<Record<string, number>>): GatewayOptionsInput {
  const admission: Record<string, number> = {};
  const loadBrake: Record<string, number> = {};
  for (const [k, v] of Object.entries(sets)) {
    if (k.startsWith('admission.')) admission[k.slice('admission.'.length)] = v;
    if (k.startsWith('loadBrake.')) loadBrake[k.slice('loadBrake.'.length)] = v;
  }
  return { admission, loadBrake };
}
