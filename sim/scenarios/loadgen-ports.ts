// loadgen-ports — docs/lab.md, field story "one load generator runs out of source ports".
//
// One Linux load box (ports 32768–60999, TIME_WAIT 60 s, tcp_tw_reuse off) ramps WebSocket users toward a
// single server IP:port at ~100 new connections/s and retries failures; the server is healthy. The run
// shows when the box's ports really run out: the 4-tuple rule gives one space of `range` ports per
// (source address, server IP:port); an open connection holds one; a connection the *box* closes first
// parks one more for TIME_WAIT (60 s, fixed — tcp_fin_timeout is FIN_WAIT2, not TIME_WAIT); so
// EADDRNOTAVAIL starts when open + closes/s × 60 s reaches spaces × range (docs/kernel.md, "Ephemeral
// ports and TIME_WAIT"). Each of the story's knobs is a variant; since the story's own inputs leave the
// ports far from full, the knobs are also shown against a what-if in which users close and reconnect
// (churn).
// It runs the story's Go server and our gateway behind the same load (sim/robots/load-robots.ts).
// Inputs: sim/scenarios/inputs/loadgen-ports.json (story inputs only; nothing here is fitted to its result).
import { BOUND } from '../kernel/ports.js';
import { GO, NODE } from '../kernel/runtime.js';
import { linuxConntrackMax } from '../kernel/host.js';
import { startOurGateway } from '../servers/ours.js';
import { PacedAcceptServer } from '../servers/paced-accept-server.js';
import { SimTransport } from '../adapters/transport-sim.js';
import defaults from './inputs/loadgen-ports.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { failureWindows, fmt, GiB, loadToolOutcomes, MiB, oursPerIpAdmission, oursRefusalLimits, rampLoad, seconds, startLoadTool } from './capacity-common.js';
import { linuxServer, loadBox } from './hosts.js';
import { type GatewayKind, type Inputs, type LimitHit, num } from './scenario.js';
import { round3 } from './tally.js';

const NAME = 'loadgen-ports';
const SERVER_ADDR = '10.0.0.10';
const FIRST_PORT = 8080;

interface Probe {
  timeWaitPeak: number;
  portsBusyPeak: number;
  /** Once a second: [time, open-by-users, ports in use, TIME_WAIT, box closes so far]. */
  readonly samples: [number, number, number, number, number][];
}

function run(ctx: RunContext): Findings {
  const { inputs, gateway, world, num: n } = ctx;
  const serverPorts = Array.from({ length: n('server.ports') }, (_, i) => FIRST_PORT + i);
  const ctMax = n('host.conntrackMax') > 0 ? n('host.conntrackMax') : linuxConntrackMax(n('host.memoryGiB') * GiB);
  const server = linuxServer(ctx, SERVER_ADDR, { sysctls: { conntrackMax: ctMax } });
  const { host: loadgen, srcAddrs, range } = loadBox(ctx, { timeWaitMs: n('loadgen.timeWaitMs'), finTimeoutMs: n('loadgen.finTimeoutMs') });

  // ---- the server: healthy in the story; story = a Go server, ours = our gateway ----
  const gwProc = world.spawn(server, {
    name: 'gateway',
    runtime: gateway === 'ours' ? NODE : GO,
    nofileSoft: n('gateway.nofile'),
    nofileHard: n('gateway.nofileHard'),
  });
  let capacityLine = '';
  const storyServers: PacedAcceptServer[] = [];
  let ours: ReturnType<typeof startOurGateway> | null = null;
  if (gateway === 'story') {
    gwProc.mem.charge(n('story.overheadMiB') * MiB);
    for (const port of serverPorts) {
      storyServers.push(
        new PacedAcceptServer(gwProc, {
          port,
          backlog: n('host.somaxconn'), // Go listens with somaxconn (net/sock_linux.go maxListenerBacklog)
          acceptCpuMs: n('gateway.acceptCpuMs'),
          handshakeCpuMs: n('gateway.handshakeCpuMs'),
          perConnectionBytes: n('story.perConnectionKiB') * 1024,
        }),
      );
    }
  } else {
    const spec = { backlog: 511, handshakeCpuMs: n('gateway.acceptCpuMs') + n('gateway.handshakeCpuMs'), inboundCpuMs: 0.02, writeCpuMs: 0.02 };
    const admission = oursPerIpAdmission(ctx);
    const o = startOurGateway(gwProc, { ...spec, port: serverPorts[0] as number, baselineBytes: n('ours.baselineMiB') * MiB, options: { admission } });
    for (const port of serverPorts.slice(1)) new SimTransport(gwProc, o.gateway, { ...spec, port });
    const cap = o.gateway.admission.capacity;
    capacityLine = `Our gateway's capacity ${fmt(cap.connectionsMax)} (bound by ${cap.boundBy}) was never the limit here.`;
    ours = o;
  }

  // ---- the load box ----
  const { fleet } = startLoadTool(world, loadgen, inputs, { addr: SERVER_ADDR, ports: serverPorts }, srcAddrs);
  const { users, rampEndMs } = rampLoad(ctx, fleet);
  const endMs = rampEndMs + n('load.holdMs');
  // Churn: open users close (first) and reconnect at a steady rate — what parks ports in TIME_WAIT.
  const shortRate = n('loadgen.closesPerSecond');
  const churnRng = world.rng.fork('churn');
  const churn = (): void => {
    fleet.churnOne(churnRng);
    if (world.sched.nowMs + 1000 / shortRate <= endMs) world.sched.after(1000 / shortRate, churn, null);
  };
  if (shortRate > 0) world.sched.after(1000 / shortRate, churn, null);

  // Once a second: the box's ports in use and in TIME_WAIT (the quantity the 4-tuple rule bounds).
  const probe: Probe = { timeWaitPeak: 0, portsBusyPeak: 0, samples: [] };
  const sample = (): void => {
    const now = world.sched.nowMs;
    const tw = loadgen.ports.timeWaitCount(now);
    let used = 0;
    // A tool with several source addresses binds first: its ports sit in one space per address (BOUND).
    for (const src of srcAddrs) {
      used += loadgen.ports.inUse(src, BOUND);
      for (const p of serverPorts) used += loadgen.ports.inUse(src, `${SERVER_ADDR}:${p}`);
    }
    if (tw > probe.timeWaitPeak) probe.timeWaitPeak = tw;
    if (tw + used > probe.portsBusyPeak) probe.portsBusyPeak = tw + used;
    probe.samples.push([now, fleet.stats.openNow, used, tw, fleet.stats.churned + fleet.stats.closesAfterConnect]);
    if (now + 1000 <= endMs) world.sched.after(1000, sample, null);
  };
  world.sched.at(0, sample, null);

  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  // ---- results ----
  const st = fleet.stats;
  const spaces = srcAddrs.length * serverPorts.length;
  const portBudget = spaces * range.size;
  const twS = n('loadgen.timeWaitMs') / 1000;
  const limits: LimitHit[] = [];
  const exhaustedAt = st.firstFailureMs['EADDRNOTAVAIL'] ?? Infinity;
  const exhausted = st.failures['EADDRNOTAVAIL'] ?? 0;
  if (exhausted > 0)
    limits.push({
      key: 'loadgen.portRange',
      limit: 'loadgen.portRange — connect() → EADDRNOTAVAIL: ports in use + TIME_WAIT fill every (source, server IP:port) space',
      firstAtMs: exhaustedAt,
      count: exhausted,
    });
  const emfile = st.failures['EMFILE'] ?? 0;
  if (emfile > 0)
    limits.push({
      key: 'robots.nofile',
      limit: 'robots.nofile — connect() → EMFILE on the load box',
      firstAtMs: st.firstFailureMs['EMFILE'] as number,
      count: emfile,
    });
  const ct = server.conntrack;
  if (ct !== null && ct.drops > 0)
    limits.push({ key: 'host.conntrackMax', limit: 'host.conntrackMax — server conntrack table full: SYN dropped', firstAtMs: 0, count: ct.drops });
  const listenDrops = storyServers.reduce((s, g) => s + g.listener.q.stats.dropsAcceptQueueFull, 0);
  if (listenDrops > 0)
    limits.push({
      key: 'host.somaxconn',
      limit: 'host.somaxconn — accept queue full: SYN dropped',
      firstAtMs: Math.min(...storyServers.map((g) => (g.listener.firstDropAtMs < 0 ? Infinity : g.listener.firstDropAtMs))),
      count: listenDrops,
    });
  if (ours !== null) limits.push(...oursRefusalLimits(ours.telemetry.counters, ours.gateway.admission.capacity.boundBy, st.firstFailureMs));

  const openAtEnd = st.openNow;
  const metrics: Record<string, number> = {
    users,
    openPeak: st.openPeak,
    openAtEnd,
    attemptsFailed: st.failureTimesMs.length,
    portSpaces: spaces,
    portBudget,
    loadgenPortsBusyPeak: probe.portsBusyPeak,
    loadgenTimeWaitPeak: probe.timeWaitPeak,
    loadgenTimeWaitReused: loadgen.ports.reused,
    closesByLoadgenAfterConnect: st.closesAfterConnect,
    churned: st.churned,
    serverTimeWait: server.serverTimeWait,
    conntrackMax: ctMax,
    conntrackPeak: ct?.peak ?? 0,
    conntrackDrops: ct?.drops ?? 0,
    serverListenDrops: listenDrops,
    serverCpuUtilisationPct: round3(gwProc.cpu.utilisation() * 100),
  };
  // The box's closes per second over the last TIME_WAIT period: what holds ports parked at the end.
  const last = probe.samples[probe.samples.length - 1];
  const before = probe.samples.find((x) => x[0] >= (last?.[0] ?? 0) - n('loadgen.timeWaitMs'));
  metrics['loadgenClosesPerSecondLastTimeWait'] =
    last !== undefined && before !== undefined && last[0] > before[0] ? round3((last[4] - before[4]) / ((last[0] - before[0]) / 1000)) : 0;
  const atExhaustion = probe.samples.find((x) => x[0] >= exhaustedAt);
  if (atExhaustion !== undefined) {
    metrics['atExhaustionPortsInUse'] = atExhaustion[2];
    metrics['atExhaustionTimeWait'] = atExhaustion[3];
  }
  const diagnosis = diagnose(inputs, metrics, {
    exhaustedAt,
    rampEndMs,
    failureTimes: st.failureTimesMs,
    failures: st.failures,
    shortRate,
    twS,
    rangeSize: range.size,
    gateway,
    capacityLine,
  });
  return { outcomes: loadToolOutcomes(fleet), limits, metrics, diagnosis };
}

interface Facts {
  readonly exhaustedAt: number;
  readonly rampEndMs: number;
  readonly failureTimes: readonly number[];
  readonly failures: Readonly<Record<string, number>>;
  readonly shortRate: number;
  readonly twS: number;
  readonly rangeSize: number;
  readonly gateway: GatewayKind;
  readonly capacityLine: string;
}

/** Sentences from the numbers: whether and when ports ran out, why, and what each knob did. */
function diagnose(inputs: Inputs, m: Readonly<Record<string, number>>, f: Facts): string[] {
  const n = (k: string) => num(inputs, k);
  const out: string[] = [];
  const users = m['users'] as number;
  const budget = m['portBudget'] as number;
  const spaces = m['portSpaces'] as number;
  out.push(
    `Port budget: ${spaces} (source address, server IP:port) space${spaces > 1 ? 's' : ''} × ${fmt(f.rangeSize)} ports = ${fmt(budget)} ` +
      `(the 4-tuple rule: a port is unique per destination, so each extra source address or server port adds a whole range).`,
  );
  const rate = n('load.rampPerSecond');
  const closesToBind = (budget - users) / f.twS;
  if (f.exhaustedAt === Infinity) {
    out.push(
      `Ports never ran out: at most ${fmt(m['loadgenPortsBusyPeak'] as number)} of ${fmt(budget)} were busy (open + TIME_WAIT); ` +
        `${fmt(m['openPeak'] as number)} of ${fmt(users)} users connected.`,
    );
    out.push(
      `So a plateau below ${fmt(users)} does not follow from ${f.shortRate === 0 ? "the story's inputs" : 'these inputs'}: ${fmt(users)} open connections need ${fmt(users)} ports, and ` +
        `TIME_WAIT is held only by the side that closes first — the load box closed ${fmt(m['closesByLoadgenAfterConnect'] as number)} connected sockets ` +
        `(retries after a connected attempt) and churned ${fmt(f.shortRate)} users/s (close, then reconnect). For EADDRNOTAVAIL before ${fmt(users)} the box must close ` +
        `more than (${fmt(budget)} − ${fmt(users)}) / ${f.twS} s = ${fmt(closesToBind)} connections/s toward this server IP:port; ` +
        `a steady c closes/s leaves a plateau at ${fmt(budget)} − c × ${f.twS} s (or a range / TIME_WAIT that small).`,
    );
  } else {
    // Offered load: users open at `rate`/s and the box closes `c`/s; TIME_WAIT only grows for its first TW
    // seconds. Ports run out at t = budget / (rate + c) if that comes before TW, else when the open
    // connections reach budget − c·TW.
    const c = f.shortRate;
    const tPred = (rate + c) * f.twS >= budget ? budget / (rate + c) : f.twS + (budget - c * f.twS - rate * f.twS) / rate;
    out.push(
      `Ports ran out at ${seconds(f.exhaustedAt)} (the mechanism predicts ${seconds(tPred * 1000)}: ${fmt(rate)} opens/s + ${fmt(c)} closes/s parked for ${f.twS} s ` +
        `against ${fmt(budget)} ports): ${fmt(m['atExhaustionPortsInUse'] ?? 0)} in use + ${fmt(m['atExhaustionTimeWait'] ?? 0)} in TIME_WAIT.`,
    );
    const cEnd = m['loadgenClosesPerSecondLastTimeWait'] as number;
    out.push(
      `From then on every port leaving TIME_WAIT is contested by retries and churned users' reconnects; the box's closes settled at ` +
        `${fmt(cEnd)}/s, which parks ${fmt(cEnd * f.twS)} ports and leaves ≈ ${fmt(Math.max(0, budget - cEnd * f.twS))} for users ` +
        `(plateau = budget − closes/s × TIME_WAIT); users connected: peak ${fmt(m['openPeak'] as number)} of ${fmt(users)}, ${fmt(m['openAtEnd'] as number)} at the end.`,
    );
  }
  const knobs = ['loadgen.portRange', 'loadgen.twReuse', 'loadgen.finTimeoutMs', 'host.conntrackMax'].filter(
    (k) => inputs[k] !== defaults[k as keyof typeof defaults],
  );
  if (f.exhaustedAt === Infinity && knobs.length > 0 && f.shortRate === 0 && m['closesByLoadgenAfterConnect'] === 0) {
    out.push(
      `The knobs changed here (${knobs.join(', ')}) cannot add connections: without closes on the load box the port space never binds, so a gain measured after them has to come from something else.`,
    );
  }
  if (f.failureTimes.length > 0) out.push(`Failed attempts by window: ${failureWindows(f.failureTimes, 20_000).join('; ')}.`);
  if (n('loadgen.twReuse') === 1) {
    out.push(
      `tcp_tw_reuse=1: connect() took ${fmt(m['loadgenTimeWaitReused'] as number)} ports from TIME_WAIT entries older than 1 s — it is the knob that turns the box's own closes back into usable ports.`,
    );
  }
  if (n('loadgen.finTimeoutMs') !== defaults['loadgen.finTimeoutMs']) {
    out.push(
      `tcp_fin_timeout=${n('loadgen.finTimeoutMs') / 1000} s bounds orphaned FIN_WAIT2 only; TIME_WAIT stays ${f.twS} s on Linux, so the parked ports are unchanged (docs/lab.md).`,
    );
  }
  out.push(
    `Conntrack on the server: peak ${fmt(m['conntrackPeak'] as number)} flows of max ${fmt(m['conntrackMax'] as number)} (${(m['conntrackDrops'] as number) > 0 ? `${fmt(m['conntrackDrops'] as number)} SYNs dropped` : 'never full'}; ` +
      `entries linger 120 s after a FIN, so churn costs conntrack slots too, but ${fmt(m['conntrackMax'] as number)} is far from that here).`,
  );
  const ctDefault = linuxConntrackMax(n('host.memoryGiB') * GiB);
  if (n('host.conntrackMax') > 0 && n('host.conntrackMax') !== ctDefault) {
    out.push(
      `nf_conntrack_max=${fmt(n('host.conntrackMax'))} ${n('host.conntrackMax') < ctDefault ? 'lowers' : 'raises'} this ${n('host.memoryGiB')} GiB host's default of ${fmt(ctDefault)} ` +
        `(RAM/16384, clamped to 262,144); either way it is far above the ${fmt(m['conntrackPeak'] as number)} flows tracked, so it moves nothing.`,
    );
  }
  if (f.gateway === 'ours') {
    const r429 = Object.entries(f.failures)
      .filter(([k]) => k === 'http-429')
      .reduce((a, [, v]) => a + v, 0);
    if (r429 > 0) {
      out.push(
        `${fmt(r429)} attempts got a prompt HTTP 429 with Retry-After: one load box is one IP, and its handshakes (ramp + reconnects) exceed our per-IP rate ` +
          `(${n('ours.handshakesPerSecondPerIp')}/s, burst ${n('ours.handshakeBurstPerIp')}); that refusal is ours and configurable, the port limit below is not.`,
      );
    }
    out.push(
      `${f.capacityLine} The limit is on the client: connect() fails with EADDRNOTAVAIL on the load box before any packet leaves, so the gateway never sees ` +
        `those attempts — no gateway setting (admission, backlog, descriptors) can fix it; only the box's range, addresses, tw_reuse or fewer closes can.`,
    );
  }
  return out;
}

const CHURN = 400;
const churn = { 'loadgen.closesPerSecond': CHURN };
const LOAD_TEST_LIMITS = { 'ours.handshakesPerSecondPerIp': 1_000, 'ours.handshakeBurstPerIp': 2_000, 'ours.connectionsPerIpMax': 100_000 };

export const loadgenPorts = defineScenario({
  name: NAME,
  story: 'field story loadgen-ports (docs/lab.md): one Linux load generator runs out of source ports (plateau blamed on ephemeral ports)',
  defaults: defaults,
  variants: {
    'story fixes together': { 'loadgen.portRange': '1024-65535', 'loadgen.twReuse': 1, 'loadgen.finTimeoutMs': 15_000, 'host.conntrackMax': 200_000 },
    [`what-if: box closes ${CHURN}/s`]: churn,
    [`range 1024-65535 (+${CHURN} closes/s)`]: { ...churn, 'loadgen.portRange': '1024-65535' },
    [`tw_reuse=1 (+${CHURN} closes/s)`]: { ...churn, 'loadgen.twReuse': 1 },
    [`fin_timeout 15 s (+${CHURN} closes/s)`]: { ...churn, 'loadgen.finTimeoutMs': 15_000 },
    [`conntrack max 200000 (+${CHURN} closes/s)`]: { ...churn, 'host.conntrackMax': 200_000 },
    [`story fixes together (+${CHURN} closes/s)`]: {
      ...churn,
      'loadgen.portRange': '1024-65535',
      'loadgen.twReuse': 1,
      'loadgen.finTimeoutMs': 15_000,
      'host.conntrackMax': 200_000,
    },
    [`2 source addresses (+${CHURN} closes/s)`]: { ...churn, 'loadgen.sourceAddresses': 2 },
    [`2 server ports (+${CHURN} closes/s)`]: { ...churn, 'server.ports': 2 },
    // Only meaningful for ours (one load box is one IP for our per-IP limits); listed in oursVariants.
    [`ours: per-IP limits raised (+${CHURN} closes/s)`]: { ...churn, ...LOAD_TEST_LIMITS },
  },
  gateways: ['story', 'ours'],
  oursVariants: [`ours: per-IP limits raised (+${CHURN} closes/s)`],
  claim: {
    reported: 'a plateau near 8,300 connections with 1,575 failures during the ramp, the server healthy',
    symptomKinds: [],
    atConnections: [8_300, 8_300],
    explanation: "the load generator's source ports (range, TIME_WAIT, tw_reuse)",
    blamed: ['loadgen.portRange', 'loadgen.twReuse', 'loadgen.sourceAddresses'],
    // Other tables a plateau with a healthy server could come from, each at a common value (none fitted to 8,300).
    candidates: {
      "the load tool's own table (nofile 1024:1024)": { 'robots.nofileHard': 1_024 },
      "a 1 GiB server's default conntrack table (RAM / 16 KiB)": { 'host.memoryGiB': 1 },
    },
  },
  eventsMax: 40_000_000,
  run,
});
