// docker-nofile-1024 — docs/lab.md, field story "a plateau blamed on the container's descriptor limit".
//
// A gateway in a container with the default open-files limit (soft 1,024) is ramped toward 10,000
// connections. What 1,024 permits depends on the runtime (docs/kernel.md, "Descriptors" and
// "Accepting on EMFILE"):
// - a runtime that keeps its soft limit (Go before 1.19, most others) has 1,024 descriptors: stdio and the
//   listener leave ~1,020 for connections; past that accept() fails with EMFILE, Go backs off and the
//   connection waits in the kernel queue (clients time out);
// - Node raises its soft limit to the hard limit at start (node.cc), so with Docker's hard limit the 1,024
//   never binds; only a hard limit of 1,024 (`--ulimit nofile=1024:1024`) holds Node to it, and then
//   libuv's EMFILE trick resets the overflow (ECONNRESET).
// Either way the ceiling is a little under the limit, never a fraction of the target; the report says
// what limit a plateau elsewhere would need. Fix variant: `--ulimit nofile=200000:200000`.
// Inputs: sim/scenarios/inputs/docker-nofile-1024.json (story inputs only; nothing here is fitted to its result).
import type { RuntimeProfile } from '../kernel/runtime.js';
import { GO, NODE } from '../kernel/runtime.js';
import { OUR_FD_RESERVE, OUR_PER_CONNECTION_BYTES, startOurGateway } from '../servers/ours.js';
import { StoryGateway } from '../servers/story-gateway.js';
import defaults from './inputs/docker-nofile-1024.json' with { type: 'json' };
import { loadBoxLimits, oomLimit, queueLimits } from './probes.js';
import { defineScenario, type Findings, type RunContext } from './define.js';
import { failureWindows, fmt, HOLDS_ONLY, loadToolOutcomes, MiB, oursRefusalLimits, rampLoad, startLoadTool } from './capacity-common.js';
import { linuxServer, loadBox } from './hosts.js';
import { type GatewayKind, type Inputs, type LimitHit, num, str } from './scenario.js';
import { round3 } from './tally.js';

const NAME = 'docker-nofile-1024';
const SERVER_ADDR = '10.0.0.10';
const PORT = 8080;
const NODE_BACKLOG = 511;

/** Go before 1.19 keeps the soft limit it was started with (os/rlimit.go arrived in 1.19). */
const GO_KEEPS_SOFT: RuntimeProfile = { ...GO, name: 'go-1.18', raisesNofileToHard: false };

function storyRuntime(name: string): RuntimeProfile {
  if (name === 'go-1.18') return GO_KEEPS_SOFT;
  if (name === 'go') return GO;
  if (name === 'node') return NODE;
  throw new Error(`gateway.runtime ${JSON.stringify(name)}: expected go-1.18, go or node`);
}

function run(ctx: RunContext): Findings {
  const { inputs, gateway, world, num: n } = ctx;
  const server = linuxServer(ctx, SERVER_ADDR);
  const { host: loadgen, srcAddrs, range } = loadBox(ctx);
  const runtime = gateway === 'ours' ? NODE : storyRuntime(str(inputs, 'gateway.runtime'));
  const containerMem = n('container.memoryMiB') > 0 ? n('container.memoryMiB') * MiB : undefined;
  const gwProc = world.spawn(server, {
    name: 'gateway',
    runtime,
    nofileSoft: n('gateway.nofile'),
    nofileHard: n('gateway.nofileHard'),
    fdsReserved: n('gateway.fdsReserved'),
    ...(containerMem !== undefined ? { memoryLimitBytes: containerMem } : {}),
  });
  const fdLimit = gwProc.fds.softLimit; // after the runtime's raise, if it does one

  let story: StoryGateway | null = null;
  let ours: ReturnType<typeof startOurGateway> | null = null;
  if (gateway === 'story') {
    gwProc.mem.charge(n('story.overheadMiB') * MiB);
    story = new StoryGateway(gwProc, {
      ...HOLDS_ONLY,
      port: PORT,
      backlog: runtime.accept === 'go' ? n('host.somaxconn') : NODE_BACKLOG,
      handshakeCpuMs: n('gateway.handshakeCpuMs'),
      perConnectionBytes: n('story.perConnectionKiB') * 1024,
    });
  } else {
    ours = startOurGateway(gwProc, {
      port: PORT,
      backlog: NODE_BACKLOG,
      handshakeCpuMs: n('gateway.handshakeCpuMs'),
      inboundCpuMs: 0.02,
      writeCpuMs: 0.02,
      baselineBytes: n('ours.baselineMiB') * MiB,
    });
  }
  const accept = story?.accept ?? ours?.transport.accept;
  const listener = story?.listener ?? ours?.transport.listener;
  if (accept === undefined || listener === undefined) throw new Error('no gateway');
  // Descriptors the gateway holds before any client: stdio etc., the listener, libuv's reserve.
  const fdsBeforeClients = gwProc.fds.used;

  const { proc: boxProc, fleet } = startLoadTool(world, loadgen, inputs, { addr: SERVER_ADDR, ports: [PORT] }, srcAddrs);
  const { users, rampEndMs } = rampLoad(ctx, fleet);
  const endMs = rampEndMs + (n('load.handshakeTimeoutMs') + n('load.retryDelayMs')) * n('load.attemptsMax') + 5_000;
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  // ---- results ----
  const st = fleet.stats;
  const limits: LimitHit[] = [];
  const a = accept.stats;
  if (a.emfile > 0) {
    const what =
      runtime.accept === 'libuv'
        ? 'libuv accepts and closes the pending connection: the client sees an abrupt close (EOF or reset), no HTTP answer'
        : 'Go sleeps and retries; the connection waits in the kernel queue';
    limits.push({ key: 'gateway.nofile', limit: `gateway.nofile — accept() → EMFILE (${what})`, firstAtMs: a.firstEmfileAtMs, count: a.emfile });
  }
  const q = listener.q.stats;
  limits.push(...queueLimits(listener), ...loadBoxLimits(st), ...oomLimit(gwProc));
  if (ours !== null) limits.push(...oursRefusalLimits(ours.telemetry.counters, ours.gateway.admission.capacity.boundBy, st.firstFailureMs));

  const memLimit = gwProc.mem.limitBytes;
  const perConn = gateway === 'story' ? n('story.perConnectionKiB') * 1024 : OUR_PER_CONNECTION_BYTES;
  const overhead = gateway === 'story' ? n('story.overheadMiB') * MiB : n('ours.baselineMiB') * MiB;
  const metrics: Record<string, number> = {
    users,
    nofileSoftAsStarted: n('gateway.nofile'),
    nofileHard: n('gateway.nofileHard'),
    nofileEffective: fdLimit,
    fdsBeforeClients,
    descriptorCeiling: fdLimit - fdsBeforeClients,
    opened: st.opened,
    openPeak: st.openPeak,
    openAtEnd: st.openNow,
    attemptsFailed: st.failureTimesMs.length,
    acceptEmfile: a.emfile,
    acceptEmfileClosed: a.emfileClosed,
    listenQueuePeak: q.peakAcceptQueue,
    synDrops: q.dropsAcceptQueueFull,
    memoryCeiling: Math.floor((memLimit - overhead) / perConn),
    loadgenPortCeiling: srcAddrs.length * range.size,
    loadgenDescriptorCeiling: boxProc.fds.softLimit - 3,
  };
  if (ours !== null) metrics['oursCapacity'] = ours.gateway.admission.capacity.connectionsMax;
  const diagnosis = diagnose(inputs, metrics, {
    gateway,
    runtime,
    failures: st.failures,
    failureTimes: st.failureTimesMs,
    oursBound: ours?.gateway.admission.capacity.boundBy ?? '',
  });
  return { outcomes: loadToolOutcomes(fleet), limits, metrics, diagnosis };
}

interface Facts {
  readonly gateway: GatewayKind;
  readonly runtime: RuntimeProfile;
  readonly failures: Readonly<Record<string, number>>;
  readonly failureTimes: readonly number[];
  readonly oursBound: string;
}

function diagnose(inputs: Inputs, m: Readonly<Record<string, number>>, f: Facts): string[] {
  const n = (k: string) => num(inputs, k);
  const out: string[] = [];
  const soft = m['nofileSoftAsStarted'] as number;
  const eff = m['nofileEffective'] as number;
  const before = m['fdsBeforeClients'] as number;
  const ceiling = m['descriptorCeiling'] as number;
  const users = m['users'] as number;
  const raised = f.runtime.raisesNofileToHard;
  out.push(
    `Descriptors: started with soft ${fmt(soft)} / hard ${fmt(m['nofileHard'] as number)}; ${f.runtime.name} ${raised ? `raises the soft limit to the hard one at start → ${fmt(eff)}` : `keeps ${fmt(eff)}`}. ` +
      `${before} are taken before any client (stdio ${n('gateway.fdsReserved')}, the runtime's own ${f.runtime.startFds}${f.runtime.accept === 'libuv' ? " with libuv's reserve" : ''}, the listener), so at most ${fmt(ceiling)} connections fit.`,
  );
  out.push(`Connected: peak ${fmt(m['openPeak'] as number)} of ${fmt(users)} (${round3((100 * (m['openPeak'] as number)) / users)} %).`);
  const fails = Object.entries(f.failures);
  if (fails.length > 0) {
    out.push(`Failed attempts: ${fails.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}; by window: ${failureWindows(f.failureTimes, 20_000).join('; ')}.`);
  }
  if ((m['acceptEmfile'] as number) > 0) {
    out.push(
      f.runtime.accept === 'libuv'
        ? `Past the table, libuv's EMFILE trick accepted and closed ${fmt(m['acceptEmfileClosed'] as number)} pending connections: a client whose Upgrade was already in read a reset ` +
            `(close with unread data → RST: ${fmt(f.failures['ECONNRESET'] ?? 0)}), one whose Upgrade was still in flight read EOF (${fmt(f.failures['eof'] ?? 0)}) — either way an abrupt close, no HTTP answer.`
        : `Past the table, Go's accept loop slept and retried (${fmt(m['acceptEmfile'] as number)} EMFILEs); the connections waited in the kernel's accept queue (peak ${fmt(m['listenQueuePeak'] as number)}), ` +
            `then SYNs were dropped (${fmt(m['synDrops'] as number)}), and clients timed out — timeouts, not refusals.`,
    );
  }
  // What a limit of `soft` descriptors can and cannot explain.
  const maxFromSoft = soft - before;
  out.push(
    `What ${fmt(soft)} permits: ${raised && eff > soft ? `nothing binds at ${fmt(soft)} for this runtime — it runs with ${fmt(eff)}; kept at ${fmt(soft)}, the same ${before} held descriptors would leave ` : 'at most '}` +
      `${fmt(maxFromSoft)} connections (${fmt(soft)} − ${before}). A ${fmt(soft)}-descriptor table cannot produce any plateau above that: a plateau at P connections ` +
      `from descriptors needs a limit of P + ${before}, and it caps at a count, not at a fraction of the target.`,
  );
  const memC = m['memoryCeiling'] as number;
  const portC = m['loadgenPortCeiling'] as number;
  const boxC = m['loadgenDescriptorCeiling'] as number;
  const candidates: string[] = [
    `gateway descriptors ${fmt(ceiling)}`,
    `gateway memory ${fmt(memC)} ((${n('container.memoryMiB') > 0 ? `container ${fmt(n('container.memoryMiB'))} MiB` : `no container limit: host ${n('host.memoryGiB')} GiB`} − overhead) ÷ per-connection)`,
    `load-box ports ${fmt(portC)} (one space per source address toward one server IP:port, less closes/s × TIME_WAIT)`,
    `load-box descriptors ${fmt(boxC)} (the Go load tool raises to its hard limit)`,
  ];
  if (f.gateway === 'ours') candidates.push(`our admission capacity ${fmt(m['oursCapacity'] as number)}`);
  const binding = Math.min(ceiling, memC, portC, boxC, f.gateway === 'ours' ? (m['oursCapacity'] as number) : Infinity);
  out.push(
    `Ceilings from the inputs: ${candidates.join('; ')}. ` +
      (binding >= users
        ? `None lies below the ${fmt(users)} target, so a plateau short of it needs something the story does not give: a hard limit near the plateau plus ${before} ` +
          `(e.g. an orchestrator's nofile), a memory limit of overhead + plateau × per-connection cost, a load box that closes connections (TIME_WAIT) or ` +
          `runs with its own 1,024 — or a count that is not concurrent connections.`
        : `The lowest, ${fmt(binding)}, is what bound this run.`),
  );
  if (f.gateway === 'ours') {
    const refused = fails.filter(([k]) => k.startsWith('http-')).reduce((s, [, v]) => s + v, 0);
    const silent = fails.reduce((s, [, v]) => s + v, 0) - refused;
    out.push(
      `Ours: capacity ${fmt(m['oursCapacity'] as number)} (bound by ${f.oursBound}; descriptors − ${OUR_FD_RESERVE} kept for the listener, logs, broker and refusals in flight). ` +
        (refused > 0 ? `${fmt(refused)} over-capacity handshakes got a prompt HTTP 503 with Retry-After before any upgrade. ` : '') +
        (silent > 0 ? `${fmt(silent)} attempts failed without an HTTP answer.` : 'No client saw a reset or a timeout.'),
    );
  }
  return out;
}

const FIX = { 'gateway.nofile': 200_000, 'gateway.nofileHard': 200_000 };

export const dockerNofile1024 = defineScenario({
  name: NAME,
  story: "field story docker-nofile-1024 (docs/lab.md): a plateau short of 10,000 connections blamed on the container's 1,024 open-files limit",
  defaults: defaults,
  variants: {
    'node runtime (raises soft to hard)': { 'gateway.runtime': 'node' },
    'node, hard limit 1024 (--ulimit nofile=1024:1024)': { 'gateway.runtime': 'node', 'gateway.nofileHard': 1_024 },
    'fix: --ulimit nofile=200000:200000': FIX,
  },
  gateways: ['story', 'ours'],
  oursVariants: ['node, hard limit 1024 (--ulimit nofile=1024:1024)', 'fix: --ulimit nofile=200000:200000'],
  claim: {
    reported: 'connections plateaued at 8,651 of 10,000 (86.5 %)',
    symptomKinds: [],
    atConnections: [8_651, 8_651],
    explanation: "the container's open-files limit of 1,024 (fixed with --ulimit nofile=200000:200000)",
    blamed: ['gateway.nofile'],
    // Mechanisms that cap connections at a count, each at a common value (none chosen to land on 8,651),
    // with the gateway's own table raised as the story's fix did, so the 1,024 does not bind first.
    candidates: {
      "the load tool's own table (its container also run with nofile 1024:1024; the gateway's raised)": { ...FIX, 'robots.nofileHard': 1_024 },
      "a 512 MiB container memory limit at the story's per-connection cost (the gateway's table raised)": { ...FIX, 'container.memoryMiB': 512 },
    },
  },
  eventsMax: 40_000_000,
  run,
});
