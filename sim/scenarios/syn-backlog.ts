// syn-backlog — docs/lab.md, field story "SYN and accept queue overflow during a fast ramp".
//
// A Linux server (somaxconn 4,096, tcp_max_syn_backlog 1,024, syncookies per the inputs) takes a ramp of
// 100 → 200 new connections/s to 10,000 (and 18,000) from one load box. The story blamed SYN/accept queue
// overflow for its connect timeouts while the CPU sat idle. The run models the queues as the kernel keeps
// them (listener.ts: SYN queue full at min(backlog, somaxconn), cookies on overflow, tcp_max_syn_backlog
// only without cookies, accept queue backlog + 1, SYNs dropped on a full accept queue; client SYN
// retransmits on the kernel's schedule, linear first where tcp_syn_linear_timeouts says so — docs/kernel.md) and drains them with an accept loop whose speed is a
// CPU cost per connection (servers/paced-accept-server.ts). Whether the queues overflow is then a
// question of arithmetic the report spells out: the accept queue gains λ(t) − μ per second, so it
// overflows only if ∫ max(0, λ − μ) dt over the ramp exceeds backlog + 1.
// Inputs: sim/scenarios/inputs/syn-backlog.json (story inputs only; nothing here is fitted to its result).
import { defaultSysctls, synPlan } from '../kernel/host.js';
import { GO, NODE } from '../kernel/runtime.js';
import { LAN } from '../net/link.js';
import { startOurGateway } from '../servers/ours.js';
import { PacedAcceptServer } from '../servers/paced-accept-server.js';
import defaults from './inputs/syn-backlog.json' with { type: 'json' };
import { loadBoxLimits, queueLimits } from './probes.js';
import { defineScenario, type Findings, type RunContext } from './define.js';
import {
  bool,
  failureWindows,
  fmt,
  GiB,
  loadToolOutcomes,
  MiB,
  oursPerIpAdmission,
  oursRefusalLimits,
  rampLoad,
  seconds,
  startLoadTool,
} from './capacity-common.js';
import { linuxServer, loadBox } from './hosts.js';
import { type GatewayKind, type Inputs, type LimitHit, num, percentile } from './scenario.js';
import { round3 } from './tally.js';

/** The load box's first SYN retransmissions (a default Linux host: sim/kernel/host.ts synPlan). */
const SYN_STEPS = synPlan(defaultSysctls('linux', GiB))
  .retransmitAtMs.slice(0, 6)
  .map((ms) => ms / 1000)
  .join(', ');

const NAME = 'syn-backlog';
const SERVER_ADDR = '10.0.0.10';
const PORT = 8080;
/** Node's listen() default backlog (node doc/api/net.md; docs/kernel.md, "Listen queues"). */
const NODE_BACKLOG = 511;

/**
 * The slowest accept rate μ (connections/s) at which a linear ramp λ(t) from r0 to r1 over T seconds
 * fills a queue of `room` connections: the queue grows by ∫ max(0, λ − μ) dt. Retransmitted SYNs are not
 * counted, so this is the threshold for the first overflow. Returns 0 when even μ = 0 would not fill it.
 */
export function overflowThreshold(r0: number, r1: number, T: number, room: number): number {
  if (r1 > r0) {
    const mu = r1 - Math.sqrt((2 * room * (r1 - r0)) / T);
    if (mu >= r0) return mu;
  }
  return Math.max(0, ((r0 + r1) / 2) * T - room) / T;
}

function run(ctx: RunContext): Findings {
  const { inputs, gateway, world, num: n } = ctx;
  const cores = n('host.cores');
  const server = linuxServer(ctx, SERVER_ADDR, { sysctls: { tcpAbortOnOverflow: bool(inputs, 'host.abortOnOverflow') } });
  const { host: loadgen, srcAddrs } = loadBox(ctx);
  // The path between load box and server, both ways: half the round trip each.
  const oneWayMs = n('net.rttMs') / 2;
  world.net.setLink('loadgen', 'server', { ...LAN, latencyMs: oneWayMs });
  world.net.setLink('server', 'loadgen', { ...LAN, latencyMs: oneWayMs });
  const gwProc = world.spawn(server, {
    name: 'gateway',
    runtime: gateway === 'ours' ? NODE : GO,
    nofileSoft: n('gateway.nofile'),
    nofileHard: n('gateway.nofileHard'),
  });

  let paced: PacedAcceptServer | null = null;
  let ours: ReturnType<typeof startOurGateway> | null = null;
  if (gateway === 'story') {
    gwProc.mem.charge(n('story.overheadMiB') * MiB);
    paced = new PacedAcceptServer(gwProc, {
      port: PORT,
      backlog: n('host.somaxconn'), // Go listens with somaxconn (net/sock_linux.go maxListenerBacklog)
      acceptCpuMs: n('gateway.acceptCpuMs'),
      handshakeCpuMs: n('gateway.handshakeCpuMs'),
      perConnectionBytes: n('story.perConnectionKiB') * 1024,
    });
  } else {
    ours = startOurGateway(gwProc, {
      port: PORT,
      backlog: NODE_BACKLOG,
      // libuv accepts in a loop; the event loop then spends accept + upgrade on its one thread.
      handshakeCpuMs: n('gateway.acceptCpuMs') + n('gateway.handshakeCpuMs'),
      inboundCpuMs: 0.02,
      writeCpuMs: 0.02,
      baselineBytes: n('ours.baselineMiB') * MiB,
      options: { admission: oursPerIpAdmission(ctx) },
    });
  }
  const listener = paced?.listener ?? ours?.transport.listener;
  if (listener === undefined) throw new Error('no listener');

  const { fleet } = startLoadTool(world, loadgen, inputs, { addr: SERVER_ADDR, ports: [PORT] }, srcAddrs);
  const { users, rampEndMs } = rampLoad(ctx, fleet);
  const r0 = n('load.rampPerSecond');
  const r1 = n('load.rampPerSecondEnd');
  const rampS = (2 * users) / (r0 + r1);
  const endMs = rampEndMs + n('load.handshakeTimeoutMs') * n('load.attemptsMax') + n('load.retryDelayMs') * (n('load.attemptsMax') - 1) + 5_000;

  // Queue lengths once every 100 ms (the accept queue can fill and drain within a second).
  const peaks = { embryonic: 0, acceptQueue: 0 };
  const sample = (): void => {
    const q = listener.q;
    if (q.embryonicCount > peaks.embryonic) peaks.embryonic = q.embryonicCount;
    if (q.acceptQueueLength > peaks.acceptQueue) peaks.acceptQueue = q.acceptQueueLength;
    if (world.sched.nowMs + 100 <= endMs) world.sched.after(100, sample, null);
  };
  world.sched.at(0, sample, null);

  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  // ---- results ----
  const st = fleet.stats;
  const q = listener.q.stats;
  const backlog = listener.q.backlog;
  const failed = st.failureTimesMs.length;
  const connectMs = [...st.connectMs].sort((a, b) => a - b);
  const retransmitted = connectMs.filter((x) => x >= 1000).length;
  const synDrops = q.dropsAcceptQueueFull + q.dropsSynQueueFull + q.dropsSynBacklog;
  const elapsedMs = world.sched.nowMs;
  const acceptBusy = paced?.acceptCpu.busyMs ?? 0;
  const serverCpuPct = ((gwProc.cpu.busyMs + acceptBusy) / (cores * elapsedMs)) * 100;
  const muPerS = gateway === 'story' ? 1000 / n('gateway.acceptCpuMs') : 1000 / (n('gateway.acceptCpuMs') + n('gateway.handshakeCpuMs'));
  const muStar = overflowThreshold(r0, r1, rampS, backlog + 1);

  const limits: LimitHit[] = [...queueLimits(listener), ...loadBoxLimits(st)];
  if (ours !== null) limits.push(...oursRefusalLimits(ours.telemetry.counters, ours.gateway.admission.capacity.boundBy, st.firstFailureMs));

  const metrics: Record<string, number> = {
    users,
    rampSeconds: round3(rampS),
    opened: st.opened,
    openAtEnd: st.openNow,
    attemptsFailed: failed,
    failedPct: round3((100 * failed) / users),
    listenBacklog: backlog,
    acceptQueuePeak: Math.max(peaks.acceptQueue, q.peakAcceptQueue),
    synQueuePeak: peaks.embryonic,
    synDrops,
    synDropsAcceptQueueFull: q.dropsAcceptQueueFull,
    synDropsSynQueueFull: q.dropsSynQueueFull,
    synDropsSynBacklog: q.dropsSynBacklog,
    cookiesSent: q.cookiesSent,
    acksIgnoredOverflow: q.acksIgnoredOverflow,
    connectsRetransmitted: retransmitted,
    connectP50Ms: round3(percentile(connectMs, 50)),
    connectP99Ms: round3(percentile(connectMs, 99)),
    connectMaxMs: round3(connectMs[connectMs.length - 1] ?? 0),
    acceptRatePerS: round3(muPerS),
    acceptRateOverflowBelowPerS: round3(muStar),
    acceptQueueWaitMaxMs: round3(paced?.stats.queueWaitMaxMs ?? 0),
    serverCpuUtilisationPct: round3(serverCpuPct),
  };
  if (ours !== null) {
    const cap = ours.gateway.admission.capacity;
    metrics['oursCapacity'] = cap.connectionsMax;
  }
  const diagnosis = diagnose(inputs, metrics, { gateway, failureTimes: st.failureTimesMs, failures: st.failures, cores, r0, r1 });
  return { outcomes: loadToolOutcomes(fleet), limits, metrics, diagnosis };
}

interface Facts {
  readonly gateway: GatewayKind;
  readonly failureTimes: readonly number[];
  readonly failures: Readonly<Record<string, number>>;
  readonly cores: number;
  readonly r0: number;
  readonly r1: number;
}

function diagnose(inputs: Inputs, m: Readonly<Record<string, number>>, f: Facts): string[] {
  const n = (k: string) => num(inputs, k);
  const out: string[] = [];
  const B = m['listenBacklog'] as number;
  const mu = m['acceptRatePerS'] as number;
  const muStar = m['acceptRateOverflowBelowPerS'] as number;
  const cookies = n('host.syncookies');
  const users = m['users'] as number;
  out.push(
    `Queues: backlog = min(${f.gateway === 'ours' ? `Node's ${NODE_BACKLOG}` : 'Go asks for somaxconn'}, somaxconn ${fmt(n('host.somaxconn'))}) = ${fmt(B)}; ` +
      `accept queue holds ${fmt(B + 1)}; SYN queue "full" at ${fmt(B)} — ` +
      (cookies > 0
        ? `with syncookies=${cookies} an overflowing SYN queue answers with cookies, so tcp_max_syn_backlog (${fmt(n('host.synBacklog'))}) drops nothing.`
        : `without syncookies SYNs are also dropped once ¾ of tcp_max_syn_backlog (${fmt(Math.floor((3 * n('host.synBacklog')) / 4))}) requests wait — ` +
          `at ${fmt(f.r1)}/s that needs each handshake half-open for ${round3((0.75 * n('host.synBacklog')) / f.r1)} s (RTT here ${n('net.rttMs')} ms).`),
  );
  out.push(
    `The accept loop serves ${fmt(mu)}/s (${f.gateway === 'ours' ? 'event loop: accept + upgrade' : `${n('gateway.acceptCpuMs')} ms per accept on one thread`}); ` +
      `the ramp peaks at ${fmt(f.r1)}/s. The accept queue gains λ − μ per second, so it overflows during this ramp only if the loop is slower than ` +
      `${fmt(muStar)}/s (≥ ${round3(1000 / Math.max(muStar, 1e-9))} ms per connection).`,
  );
  const drops = m['synDrops'] as number;
  const failed = m['attemptsFailed'] as number;
  if (drops === 0) {
    out.push(
      `No SYN was dropped (accept queue peak ${fmt(m['acceptQueuePeak'] as number)}, SYN queue peak ${fmt(m['synQueuePeak'] as number)}, cookies ${fmt(m['cookiesSent'] as number)}); ` +
        `connect p99 ${m['connectP99Ms']} ms.`,
    );
  } else {
    out.push(
      `SYNs dropped: ${fmt(drops)} (accept queue full ${fmt(m['synDropsAcceptQueueFull'] as number)}, SYN queue full ${fmt(m['synDropsSynQueueFull'] as number)}, ` +
        `tcp_max_syn_backlog ${fmt(m['synDropsSynBacklog'] as number)}); final ACKs ignored on a full accept queue ${fmt(m['acksIgnoredOverflow'] as number)}. ` +
        `${fmt(m['connectsRetransmitted'] as number)} connects needed a SYN retransmit (${SYN_STEPS} s…): connect p50 ${m['connectP50Ms']} ms, p99 ${m['connectP99Ms']} ms.`,
    );
  }
  if (failed === 0) out.push(`All ${fmt(users)} connections succeeded.`);
  else {
    const kinds = Object.entries(f.failures)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
    out.push(
      `${fmt(failed)} of ${fmt(users)} attempts failed (${m['failedPct']} %): ${kinds}. By window: ${failureWindows(f.failureTimes, 20_000).join('; ')} (the ramp ends at ${m['rampSeconds']} s).`,
    );
  }
  const cpu = m['serverCpuUtilisationPct'] as number;
  const timeoutS = n('load.handshakeTimeoutMs') / 1000;
  const connectTimeouts = (f.failures['timeout@connecting'] ?? 0) + (f.failures['ETIMEDOUT'] ?? 0);
  const upgradeTimeouts = f.failures['timeout@upgrading'] ?? 0;
  if (f.gateway === 'story') {
    const peakQ = m['acceptQueuePeak'] as number;
    if (mu >= f.r1) {
      out.push(
        `Verdict: under the story's numbers the explanation does not hold. An accept loop at ${fmt(mu)}/s outruns the ramp's ${fmt(f.r1)}/s, so the accept ` +
          `queue never holds more than ${fmt(peakQ)} and no SYN is dropped; raising somaxconn and tcp_max_syn_backlog to 8,192 changes nothing. ` +
          `Overflow needs the loop below ${fmt(muStar)}/s — ≥ ${round3(1000 / Math.max(muStar, 1e-9))} ms of work per connection on one thread, which shows as only ` +
          `1/${f.cores} (${round3(100 / f.cores)} %) of this host's CPU: an "idle" CPU fits a saturated single-threaded loop, not a fast one.`,
      );
    } else {
      out.push(
        `The loop (${fmt(mu)}/s) is slower than the ramp's peak (${fmt(f.r1)}/s): the accept queue grew to ${fmt(peakQ)} of ${fmt(B + 1)}, so a connection ` +
          `waited up to ${round3((m['acceptQueueWaitMaxMs'] as number) / 1000)} s in the kernel after its handshake had completed (full queue ÷ loop rate = ` +
          `${round3((B + 1) / mu)} s), against the load tool's ${timeoutS} s. Failures: ${fmt(connectTimeouts)} connect timeouts (SYNs dropped on the full queue, ` +
          `retransmitted at ${SYN_STEPS} s) and ${fmt(upgradeTimeouts)} upgrade timeouts (connected, never accepted in time).`,
      );
      out.push(
        drops > 0
          ? `Verdict: in this what-if the story's mechanism is real — the accept queue overflowed — while the CPU reads ${cpu} % (one saturated thread of ${f.cores}). ` +
              `But it needs the slow loop, not just the queue sizes: syncookies do not bypass a full accept queue, and a bigger queue only turns drops into waits ` +
              `— with ${fmt(B + 1)} slots at ${fmt(mu)}/s a queued client waits ${round3((B + 1) / mu)} s.`
          : `Verdict: the queue never overflowed (its ${fmt(B + 1)} slots absorbed the ramp's excess), so no SYN was dropped; ` +
              (upgradeTimeouts > 0
                ? `the failures are clients that waited in the queue longer than ${timeoutS} s — a bigger queue traded drops for waits; only a faster loop fixes it.`
                : 'every queued client was accepted within its timeout.'),
      );
    }
  } else {
    const refused = Object.entries(f.failures)
      .filter(([k]) => k.startsWith('http-'))
      .reduce((s, [, v]) => s + v, 0);
    const silent = failed - refused;
    out.push(
      `Ours: Node asks for a ${NODE_BACKLOG} backlog, but libuv accepts until EAGAIN and the upgrade waits in the event loop, so the kernel queue stays short. ` +
        (refused > 0
          ? `${fmt(refused)} attempts got a prompt HTTP refusal with Retry-After (per-IP limits: ${n('ours.handshakesPerSecondPerIp')} handshakes/s, burst ${n('ours.handshakeBurstPerIp')}, ${fmt(n('ours.connectionsPerIpMax'))} connections — one load box is one IP; raise them for a load test). `
          : '') +
        (silent > 0 ? `${fmt(silent)} attempts failed without an answer.` : 'No attempt ended in a timeout or reset.'),
    );
  }
  out.push(`Server CPU ${cpu} % of ${f.cores} cores over ${seconds((m['rampSeconds'] as number) * 1000)} of ramp and the settle time after it.`);
  return out;
}

/**
 * Whole milliseconds per connection just past the overflow threshold of the story's ramp (10,000 at
 * 100 → 200/s into somaxconn + 1): derived from the queue arithmetic, not from the story's failure rate.
 */
const OVERFLOW_LOOP_MS = Math.ceil(
  1000 /
    overflowThreshold(
      defaults['load.rampPerSecond'],
      defaults['load.rampPerSecondEnd'],
      (2 * defaults['load.connections']) / (defaults['load.rampPerSecond'] + defaults['load.rampPerSecondEnd']),
      defaults['host.somaxconn'] + 1,
    ),
);
const FIX = { 'host.somaxconn': 8_192, 'host.synBacklog': 8_192, 'host.syncookies': 1 };
const SLOW = { 'gateway.acceptCpuMs': 10 };

export const synBacklog = defineScenario({
  name: NAME,
  story: 'field story syn-backlog (docs/lab.md): SYN and accept queue overflow blamed for connect timeouts during a fast ramp',
  defaults: defaults,
  variants: {
    'target 18,000': { 'load.connections': 18_000 },
    'fix: both 8192 + syncookies': FIX,
    'fix, target 18,000': { ...FIX, 'load.connections': 18_000 },
    'what-if: accept 10 ms, 10,000': SLOW,
    'what-if: accept 10 ms, 18,000': { ...SLOW, 'load.connections': 18_000 },
    'what-if: accept 10 ms, 18,000, fix': { ...SLOW, ...FIX, 'load.connections': 18_000 },
    'what-if: accept 10 ms, 18,000, syncookies off': { ...SLOW, 'load.connections': 18_000, 'host.syncookies': 0 },
    // Only meaningful for ours (the story's server has no per-IP limits); listed in oursVariants.
    'ours: per-IP limits raised, 18,000': {
      'ours.handshakesPerSecondPerIp': 1_000,
      'ours.handshakeBurstPerIp': 2_000,
      'ours.connectionsPerIpMax': 100_000,
      'load.connections': 18_000,
    },
  },
  gateways: ['story', 'ours'],
  oursVariants: ['target 18,000', 'ours: per-IP limits raised, 18,000'],
  claim: {
    reported: '5–10 % failures at 10,000 and 15–20 % at 18,000, mostly connect timeouts mid-ramp, server CPU idle',
    // The load tool's one dial timeout covers connect and upgrade: a client queued past it reads a timeout too.
    symptomKinds: ['ETIMEDOUT', 'UPGRADE_TIMEOUT'],
    explanation: 'SYN and accept queues overflow during the ramp (somaxconn 4,096, tcp_max_syn_backlog 1,024)',
    blamed: ['host.somaxconn', 'host.synBacklog', 'host.syncookies'],
    // Mechanisms that time connects out during a ramp; the slow loop is the first one the arithmetic lets overflow.
    candidates: {
      [`a single-threaded accept loop at ${OVERFLOW_LOOP_MS} ms per connection (just slower than the overflow threshold)`]: {
        'gateway.acceptCpuMs': OVERFLOW_LOOP_MS,
      },
      'the same loop with tcp_abort_on_overflow=1': { 'gateway.acceptCpuMs': OVERFLOW_LOOP_MS, 'host.abortOnOverflow': true },
      "the load tool's own table (nofile 1024:1024)": { 'robots.nofileHard': 1_024 },
    },
  },
  eventsMax: 40_000_000,
  run,
});
