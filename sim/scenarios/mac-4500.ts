// mac-4500 — docs/lab.md, field story "connection reset by peer at ~4,000–4,500 users (macOS laptop)".
//
// One macOS laptop runs the story's Go gateway and a Go load tool over loopback; both have the shell's
// open-files limit, the gateway also holds stdio, logs and its outbound clients. Robots ramp up, join,
// wait for "start betting" and bet — at once (the story) or spread over 0–3 s (its fix). The run reports
// what the robots saw, which table ran out first and how the bet herd queues on the shared CPU.
// Inputs: sim/scenarios/inputs/mac-4500.json (story inputs only; nothing here is fitted to its result).
import { Cpu } from '../kernel/cpu.js';
import { GO } from '../kernel/runtime.js';
import { World } from '../kernel/world.js';
import { NODE } from '../kernel/runtime.js';
import { startOurGateway } from '../servers/ours.js';
import { StoryGateway } from '../servers/story-gateway.js';
import { ClientRobotFleet } from '../robots/client-robots.js';
import { RobotFleet } from '../robots/game-robots.js';
import type { WireMessage } from '../net/wire.js';
import defaults from './inputs/mac-4500.json' with { type: 'json' };
import { recordFleets } from '../report/timeline.js';
import { type GatewayKind, type Inputs, type LimitHit, num, percentile, type RunResult, type Scenario } from './scenario.js';

const START: WireMessage = { k: 'ws', kind: 'start' };
const ADDR = '127.0.0.1';
const PORT = 8080;
/** A bound on events per run: far above what the story needs, low enough to stop a livelock. */
const EVENTS_MAX = 50_000_000;

/** Go on macOS, as the story's binaries: `ulimit -n` already set soft = hard, so raising changes nothing. */
const GO_AS_STARTED = { ...GO, raisesNofileToHard: false };

const CHANNEL = 'odin.game.1.round';

function run(inputs: Inputs, seed: string, gateway: GatewayKind, variant: string): RunResult {
  return gateway === 'ours' ? runOurs(inputs, seed, variant) : runStory(inputs, seed, variant);
}

function runStory(inputs: Inputs, seed: string, variant: string): RunResult {
  const gateway: GatewayKind = 'story';
  const n = (k: string) => num(inputs, k);
  const world = new World(`mac-4500/${seed}`);
  const laptop = world.addHost({
    name: 'laptop',
    os: 'macos',
    addresses: [ADDR],
    memoryBytes: n('host.memoryGiB') * 1024 ** 3,
    cores: n('host.cores'),
    sysctls: { somaxconn: n('host.somaxconn') },
  });
  // Gateway and robots compete for the same cores.
  const cpu = new Cpu(world.sched, n('host.cores'));
  const gwProc = world.spawn(laptop, {
    name: 'gateway',
    runtime: GO_AS_STARTED,
    nofileSoft: n('gateway.nofile'),
    fdsReserved: n('gateway.fdsReserved'),
    cpu,
  });
  const robotProc = world.spawn(laptop, {
    name: 'robots',
    runtime: GO_AS_STARTED,
    nofileSoft: n('robots.nofile'),
    fdsReserved: n('robots.fdsReserved'),
    cpu,
  });
  const gw = new StoryGateway(gwProc, {
    port: PORT,
    backlog: n('host.somaxconn'), // Go listens with the system's somaxconn (net/sock_bsd.go maxListenerBacklog)
    handshakeCpuMs: n('gateway.handshakeCpuMs'),
    inboundCpuMs: n('gateway.inboundCpuMs'),
    outboundCpuMs: n('gateway.outboundCpuMs'),
    perConnectionBytes: n('story.perConnectionKiB') * 1024,
    sendBufferMessages: n('story.sendBufferMessages'),
    writeWaitMs: n('story.writeWaitMs'),
    betCpuMs: n('story.betCpuMs'),
    gameServiceMs: n('story.gameServiceMs'),
    slots: null,
    slotWaitMs: 0,
  });
  const fleet = new RobotFleet(
    robotProc,
    { dstAddr: ADDR, dstPort: PORT, handshakeTimeoutMs: n('load.handshakeTimeoutMs'), betSpreadMs: n('load.betSpreadMs') },
    world.rng.fork('bets'),
  );
  const users = n('load.connections');
  const ratePerS = n('load.rampPerSecond');
  for (let i = 0; i < users; i++) fleet.add((1000 * i) / ratePerS);
  const bettingAtMs = n('load.bettingAtMs');
  let sessionsAtBetting = 0;
  world.sched.at(bettingAtMs, () => {
    sessionsAtBetting = gw.sessions.size;
    gw.broadcast(START);
  }, null);
  const endMs = bettingAtMs + n('run.endAfterBettingMs');
  const tl = recordFleets(world.sched, [fleet], endMs);
  const r = world.sched.runUntil(endMs, EVENTS_MAX);
  if (r.reason === 'limit') throw new Error(`mac-4500: event bound ${EVENTS_MAX} reached at ${world.sched.nowMs} ms`);

  // ---- what the robots saw ----
  const outcomes: Record<string, number> = {};
  const firstAt: Record<string, number> = {};
  const betLatencies: number[] = [];
  for (const rb of fleet.robots) {
    const key = rb.outcome === 'ok' || rb.outcome === 'pending' ? rb.outcome : `${rb.outcome}@${rb.outcomePhase}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (firstAt[key] === undefined || rb.outcomeMs < (firstAt[key] as number)) firstAt[key] = rb.outcomeMs;
    if (rb.betOkMs >= 0) betLatencies.push(rb.betOkMs - rb.betAtMs);
  }
  betLatencies.sort((a, b) => a - b);
  const sortedOutcomes: Record<string, number> = {};
  for (const k of Object.keys(outcomes).sort()) sortedOutcomes[k] = outcomes[k] as number;

  // ---- which limit bound, earliest first ----
  const limits: LimitHit[] = [];
  const robotEmfile = outcomes['EMFILE@connecting'] ?? 0;
  if (robotEmfile > 0) {
    limits.push({ limit: 'robots.nofile — connect() → EMFILE', firstAtMs: firstAt['EMFILE@connecting'] as number, count: robotEmfile });
  }
  if (gw.accept.stats.emfile > 0) {
    limits.push({ limit: 'gateway.nofile — accept() → EMFILE (Go backs off, connection waits)', firstAtMs: gw.accept.stats.firstEmfileAtMs, count: gw.accept.stats.emfile });
  }
  const q = gw.listener.q.stats;
  if (gw.listener.firstDropAtMs >= 0) {
    limits.push({ limit: `host.somaxconn — listen queue (${gw.listener.q.backlog}) full: SYN dropped`, firstAtMs: gw.listener.firstDropAtMs, count: q.dropsAcceptQueueFull });
  }
  limits.sort((a, b) => a.firstAtMs - b.firstAtMs);

  const metrics: Record<string, number> = {
    robots: users,
    // The runtime's own descriptors (RuntimeProfile.startFds) come off the top too.
    gatewayFdsForConnections: n('gateway.nofile') - n('gateway.fdsReserved') - GO_AS_STARTED.startFds - 1,
    robotsFdsForConnections: n('robots.nofile') - n('robots.fdsReserved') - GO_AS_STARTED.startFds,
    sessionsPeak: gw.stats.peakSessions,
    sessionsAtBetting,
    listenQueuePeak: q.peakAcceptQueue,
    synDrops: q.dropsAcceptQueueFull,
    gatewayClosedSlow: gw.stats.closedSlow,
    gatewayClosedWriteWait: gw.stats.closedWriteWait,
    betLatencyP50Ms: round(percentile(betLatencies, 50)),
    betLatencyP99Ms: round(percentile(betLatencies, 99)),
    betLatencyMaxMs: round(betLatencies[betLatencies.length - 1] ?? 0),
    cpuUtilisationPct: round(cpu.utilisation() * 100),
  };
  return {
    scenario: 'mac-4500',
    gateway,
    variant,
    seed,
    inputs,
    outcomes: sortedOutcomes,
    limits,
    metrics,
    diagnosis: diagnose(sortedOutcomes, limits, metrics),
    timeline: tl.finish(),
    events: world.sched.executed,
    virtualMs: world.sched.nowMs,
  };
}

/** The input that sets our capacity's binding term. */
function capacityKey(boundBy: string): string {
  return boundBy === 'descriptors' ? 'gateway.nofile' : boundBy === 'memory' ? 'host.memoryGiB' : 'ours.config';
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Sentences from the numbers: what bound first, what the robots saw, and whether resets appear. */
function diagnose(outcomes: Readonly<Record<string, number>>, limits: readonly LimitHit[], m: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  const first = limits[0];
  if (first === undefined) out.push('No descriptor or queue limit bound: every robot got a session.');
  else out.push(`First limit: ${first.limit} at ${(first.firstAtMs / 1000).toFixed(3)} s (${first.count}×).`);
  out.push(
    `Descriptors left for connections: gateway ${m['gatewayFdsForConnections']}, robots ${m['robotsFdsForConnections']}; ` +
      `peak sessions ${m['sessionsPeak']}.`,
  );
  const resets = Object.entries(outcomes).filter(([k]) => k.startsWith('ECONNRESET')).reduce((s, [, v]) => s + v, 0);
  if (resets === 0) {
    out.push(
      'No robot read ECONNRESET: with a Go accept loop (retry with backoff) the overflow waits in the listen queue and ' +
        'a full macOS queue drops SYNs silently, so the failures are EMFILE at the robots and timeouts, not resets.',
    );
  } else {
    out.push(`${resets} robots read ECONNRESET (${Object.entries(outcomes).filter(([k]) => k.startsWith('ECONNRESET')).map(([k, v]) => `${k}: ${v}`).join(', ')}).`);
  }
  out.push(`Bet latency p50 ${m['betLatencyP50Ms']} ms, p99 ${m['betLatencyP99Ms']} ms, max ${m['betLatencyMaxMs']} ms.`);
  return out;
}

/** Our gateway with our defaults on the same laptop, robots running the real client. */
function runOurs(inputs: Inputs, seed: string, variant: string): RunResult {
  const n = (k: string) => num(inputs, k);
  const world = new World(`mac-4500/${seed}`);
  const laptop = world.addHost({
    name: 'laptop',
    os: 'macos',
    addresses: [ADDR],
    memoryBytes: n('host.memoryGiB') * 1024 ** 3,
    cores: n('host.cores'),
    sysctls: { somaxconn: n('host.somaxconn') },
  });
  const gwProc = world.spawn(laptop, {
    name: 'gateway',
    runtime: NODE,
    // `ulimit -n` sets soft and hard alike, so Node's raise to the hard limit changes nothing here.
    nofileSoft: n('gateway.nofile'),
    nofileHard: n('gateway.nofile'),
    fdsReserved: n('gateway.fdsReserved'),
  });
  const robotProc = world.spawn(laptop, {
    name: 'robots',
    runtime: GO_AS_STARTED,
    nofileSoft: n('robots.nofile'),
    fdsReserved: n('robots.fdsReserved'),
  });
  const ours = startOurGateway(gwProc, {
    port: PORT,
    backlog: 511, // Node's listen() default
    handshakeCpuMs: n('gateway.handshakeCpuMs'),
    inboundCpuMs: n('gateway.inboundCpuMs'),
    writeCpuMs: n('gateway.outboundCpuMs'),
    baselineBytes: n('ours.baselineMiB') * 1024 ** 2,
  });
  const fleet = new ClientRobotFleet(robotProc, ours.clock, { dstAddr: ADDR, dstPort: PORT, channel: CHANNEL });
  const users = n('load.connections');
  const ratePerS = n('load.rampPerSecond');
  for (let i = 0; i < users; i++) fleet.add((1000 * i) / ratePerS);
  const bettingAtMs = n('load.bettingAtMs');
  world.sched.at(bettingAtMs, () => ours.broker.publish(CHANNEL, '{"phase":"start betting"}', () => undefined), null);
  const tl = recordFleets(world.sched, [fleet], bettingAtMs + n('run.endAfterBettingMs'));
  const r = world.sched.runUntil(bettingAtMs + n('run.endAfterBettingMs'), EVENTS_MAX);
  if (r.reason === 'limit') throw new Error(`mac-4500/ours: event bound ${EVENTS_MAX} reached at ${world.sched.nowMs} ms`);

  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  for (const rb of fleet.robots) {
    const state = rb.client?.state ?? 'not-started';
    const key = `${state}${rb.firstEventMs >= 0 ? '+got-start' : ''}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (rb.firstEventMs >= 0) latencies.push(rb.firstEventMs - bettingAtMs);
  }
  latencies.sort((a, b) => a - b);
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(outcomes).sort()) sorted[k] = outcomes[k] as number;
  const sockets = fleet.sockets;
  const attempts: Record<string, number> = {};
  for (const k of Object.keys(sockets.outcomes).sort()) attempts[`attempt:${k}`] = sockets.outcomes[k] as number;

  const limits: LimitHit[] = [];
  const refusedAt = sockets.firstAtMs['http-503'];
  if (refusedAt !== undefined) limits.push({ limit: `${capacityKey(ours.gateway.admission.capacity.boundBy)} — our capacity (${ours.gateway.admission.capacity.boundBy}): HTTP 503 before upgrade`, firstAtMs: refusedAt, count: sockets.outcomes['http-503'] as number });
  const emfileAt = sockets.firstAtMs['EMFILE'];
  if (emfileAt !== undefined) limits.push({ limit: 'robots.nofile — connect() → EMFILE', firstAtMs: emfileAt, count: sockets.outcomes['EMFILE'] as number });
  if (ours.transport.accept.stats.emfile > 0) {
    limits.push({ limit: 'gateway.nofile — accept() → EMFILE', firstAtMs: ours.transport.accept.stats.firstEmfileAtMs, count: ours.transport.accept.stats.emfile });
  }
  limits.sort((a, b) => a.firstAtMs - b.firstAtMs);
  const cap = ours.gateway.admission.capacity;
  const metrics: Record<string, number> = {
    robots: users,
    capacity: cap.connectionsMax,
    capacityDescriptorTerm: cap.terms.descriptors ?? -1,
    capacityMemoryTerm: cap.terms.memory ?? -1,
    sessionsOpenedTotal: ours.transport.stats.opened,
    refusalsTotal: ours.transport.stats.refused,
    ...attempts,
    startLatencyP50Ms: round(percentile(latencies, 50)),
    startLatencyP99Ms: round(percentile(latencies, 99)),
    startLatencyMaxMs: round(latencies[latencies.length - 1] ?? 0),
  };
  const resets = Object.entries(sockets.outcomes).filter(([k]) => k.startsWith('ECONNRESET')).reduce((s, [, v]) => s + v, 0);
  const diagnosis = [
    `Capacity ${cap.connectionsMax}, bound by ${cap.boundBy} (descriptors ${cap.terms.descriptors}, memory ${cap.terms.memory}, configured ${cap.terms.config}).`,
    refusedAt === undefined
      ? 'No handshake was refused.'
      : `Over capacity, handshakes got HTTP 503 with Retry-After before any upgrade (first at ${(refusedAt / 1000).toFixed(3)} s); refused clients retried per the client's policy.`,
    resets === 0 ? 'No client socket saw ECONNRESET.' : `${resets} client sockets saw ECONNRESET.`,
    `"start betting" reached ${latencies.length} robots: p50 ${metrics['startLatencyP50Ms']} ms, p99 ${metrics['startLatencyP99Ms']} ms after the publish.`,
  ];
  return {
    scenario: 'mac-4500',
    gateway: 'ours',
    variant,
    seed,
    inputs,
    outcomes: sorted,
    limits,
    metrics,
    diagnosis,
    timeline: tl.finish(),
    events: world.sched.executed,
    virtualMs: world.sched.nowMs,
  };
}

export const mac4500: Scenario = {
  name: 'mac-4500',
  story: 'field story mac-4500 (docs/lab.md): "connection reset by peer" at ~4,000–4,500 users on a macOS laptop',
  defaults: defaults as Inputs,
  variants: {
    'ulimit -n 65535': { 'gateway.nofile': 65_535, 'robots.nofile': 65_535 },
    'somaxconn 1024': { 'host.somaxconn': 1_024 },
    'spread bets 0–3 s': { 'load.betSpreadMs': 3_000 },
  },
  gateways: ['story', 'ours'],
  oursVariants: ['ulimit -n 65535'],
  run,
};
