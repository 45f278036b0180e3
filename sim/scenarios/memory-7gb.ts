// memory-7gb — docs/lab.md, field story "timeouts, not rejections, near the memory limit".
//
// An 8 GB VM runs the story's Go server in a 7,168 MiB container: ~974 MiB fixed overhead, 0.7 MB per
// connection, no admission control. Robots ramp ~100 connections/s to 10,000; each gives its upgrade a
// deadline drawn uniformly from 30–60 s. The runtime model is the GC stretch of sim/kernel/memory.ts:
//
//     stretch(p) = min(stretchMax, 1 + costRatio · max(1/growth, p / (1 − p))),   p = used / limit,
//
// the textbook tracing-GC cost (work per allocated byte ∝ L / (H − L)), applied to every handshake's CPU
// when it is queued. Nothing in it knows the story's plateau or failure rates: the handshake queue
// saturates where 100/s × handshakeCpu × stretch(p) reaches the cores, which the memory the admitted
// connections hold decides. Failures are reported per window of the clients' start times, as the story
// did. "ours" runs our Gateway in the same container with its own per-connection accounting (capacity =
// (limit × 0.8 − baseline) / perConnection); a variant gives it the story's 0.7 MB to show the overflow
// answered with prompt 503s instead of timeouts.
// Inputs: sim/scenarios/inputs/memory-7gb.json (story inputs only).
import type { RuntimeProfile } from '../kernel/runtime.js';
import { GO } from '../kernel/runtime.js';
import { gcStretch } from '../kernel/memory.js';
import { World } from '../kernel/world.js';
import { startOursInContainer } from '../servers/ours-memory.js';
import { withOurCapacityInputs } from '../servers/ours.js';
import { AssistingStoryGateway } from '../servers/story-gateway-gc.js';
import { DeadlineRobotFleet } from '../robots/deadline-robots.js';
import { FeedClientFleet } from '../robots/feed-clients.js';
import defaults from './inputs/memory-7gb.json' with { type: 'json' };
import { defineScenario, type Findings, limitHit, type RunContext } from './define.js';
import { queueLimits } from './probes.js';
import { oursResult } from './ours-report.js';
import { type Inputs, type LimitHit, num, percentile } from './scenario.js';
import { HOLDS_ONLY } from './capacity-common.js';
import { serverAndRobots } from './hosts.js';
import { bump, round3, sortedCounts, windowEdgesS, windowLabel, windowOf } from './tally.js';

const SERVER = '10.0.0.2';
const PORT = 8080;
const MiB = 1024 * 1024;
const CHANNEL = 'odin.global.status';

/** The connections the story's memory holds before the container limit: (limit − overhead) / perConnection. */
export function storyMemoryCeiling(inputs: Inputs): number {
  const n = (k: string) => num(inputs, k);
  return Math.floor(((n('container.memoryMiB') - n('story.overheadMiB')) * MiB) / (n('story.perConnectionKiB') * 1024));
}

function buildWorld(ctx: RunContext) {
  return { world: ctx.world, ...serverAndRobots(ctx, SERVER, { name: 'vm' }) };
}

/** Robot i starts at i / rate and gives its upgrade a deadline uniform in [min, max]. */
function schedule(inputs: Inputs, world: World, add: (atMs: number, deadlineMs: number) => void): number {
  const n = (k: string) => num(inputs, k);
  const rng = world.rng.fork('upgrade-deadlines');
  const total = n('load.connections');
  const gapMs = 1000 / n('load.rampPerSecond');
  for (let i = 0; i < total; i++) add(i * gapMs, rng.uniform(n('load.upgradeTimeoutMinMs'), n('load.upgradeTimeoutMaxMs')));
  return (total - 1) * gapMs + n('load.upgradeTimeoutMaxMs') + n('load.holdMs');
}

function run(ctx: RunContext): Findings {
  const { gateway } = ctx;
  return gateway === 'ours' ? runOurs(ctx) : runStory(ctx);
}

function runStory(ctx: RunContext): Findings {
  const { inputs, variant } = ctx;
  const n = (k: string) => num(inputs, k);
  const { world, server: vm, robotsProc } = buildWorld(ctx);
  const runtime: RuntimeProfile = { ...GO, gc: { costRatio: n('story.gcCostRatio'), growth: n('story.gcGrowth'), stretchMax: n('story.gcStretchMax') } };
  const gwProc = world.spawn(vm, {
    name: 'gateway',
    runtime,
    nofileSoft: n('gateway.nofile'),
    memoryLimitBytes: n('container.memoryMiB') * MiB,
    fdsReserved: n('gateway.fdsReserved'),
  });
  if (!gwProc.mem.charge(n('story.overheadMiB') * MiB)) throw new Error('memory-7gb: overhead exceeds the container');
  const gw = new AssistingStoryGateway(gwProc, {
    ...HOLDS_ONLY,
    port: PORT,
    backlog: n('host.somaxconn'),
    handshakeCpuMs: n('story.handshakeCpuMs'),
    perConnectionBytes: n('story.perConnectionKiB') * 1024,
    // HOLDS_ONLY has no admission control: the story's server counted 0 rejections.
  });
  const fleet = new DeadlineRobotFleet(
    robotsProc,
    { dstAddr: SERVER, dstPort: PORT, handshakeTimeoutMs: n('load.upgradeTimeoutMaxMs'), betSpreadMs: 0 },
    world.rng.fork('robots'),
  );
  const endMs = schedule(inputs, world, (at, dl) => void fleet.addWithDeadline(at, dl));
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  // ---- per window of start times, as the story reported ----
  const edges = windowEdgesS(inputs, 'report.windowsS');
  const started = edges.map(() => 0);
  const failed = edges.map(() => 0);
  const latencies: number[][] = edges.map(() => []);
  const opens: number[] = [];
  const outcomes: Record<string, number> = {};
  let firstTimeoutMs = -1;
  let firstFailedStartMs = -1;
  let timeouts = 0;
  const robotsEmfile = { count: 0, firstAtMs: -1 };
  for (const rb of fleet.robots) {
    const w = windowOf(edges, rb.startMs);
    // A failure is an upgrade that never completed (the story's count); a connection lost later (the
    // process killed) shows in the outcomes, not as a failed upgrade.
    const ok = rb.openMs >= 0;
    bump(outcomes, rb.phase === 'open' ? 'connected' : `${rb.outcome}@${rb.outcomePhase}`);
    if (w >= 0) {
      started[w]!++;
      if (!ok) failed[w]!++;
      if (ok) latencies[w]!.push(rb.openMs - rb.connectedMs);
    }
    if (ok) opens.push(rb.openMs);
    else if (firstFailedStartMs < 0 || rb.startMs < firstFailedStartMs) firstFailedStartMs = rb.startMs;
    if (rb.outcome === 'EMFILE') {
      robotsEmfile.count++;
      if (robotsEmfile.firstAtMs < 0 || rb.outcomeMs < robotsEmfile.firstAtMs) robotsEmfile.firstAtMs = rb.outcomeMs;
    }
    if (rb.outcome === 'upgrade-timeout') {
      timeouts++;
      if (firstTimeoutMs < 0 || rb.outcomeMs < firstTimeoutMs) firstTimeoutMs = rb.outcomeMs;
    }
  }
  opens.sort((a, b) => a - b);
  const connectedBy = (tMs: number): number => {
    let lo = 0;
    let hi = opens.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((opens[mid] as number) < tMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const metrics: Record<string, number> = {
    connectionsAttempted: fleet.robots.length,
    sessionsPeak: gw.stats.peakSessions,
    rejections: gw.stats.refused503,
    upgradeTimeouts: timeouts,
    memoryCeilingByAccounting: storyMemoryCeiling(inputs),
    memoryPeakMiB: round3(gwProc.mem.peakBytes / MiB),
    memoryPressureAtEndPct: round3(gwProc.mem.pressure() * 100),
    gcStretchAtEnd: round3(gwProc.mem.stretch()),
    cpuUtilisationPct: round3(gwProc.cpu.utilisation() * 100),
    cpuQueueDelayAtEndMs: round3(gwProc.cpu.queueDelayMs()),
    gcAssistRounds: gw.assist.rounds,
    gcAssistCpuMs: round3(gw.assist.cpuMs),
  };
  const windowLines: string[] = [];
  for (let w = 0; w < edges.length; w++) {
    const label = windowLabel(edges, w);
    const pct = started[w]! > 0 ? (100 * failed[w]!) / started[w]! : 0;
    const lat = latencies[w]!.sort((a, b) => a - b);
    const nextEdge = edges[w + 1];
    const endOfWindowMs = nextEdge === undefined ? world.sched.nowMs : nextEdge * 1000;
    metrics[`window ${label} started`] = started[w]!;
    metrics[`window ${label} failed`] = failed[w]!;
    metrics[`window ${label} failedPct`] = round3(pct);
    metrics[`window ${label} connectedAtEnd`] = connectedBy(endOfWindowMs);
    metrics[`window ${label} upgradeP99Ms`] = round3(percentile(lat, 99));
    // Memory and GC stretch at the window's end, from the connections held then (the story's accounting).
    const heldBytes = n('story.overheadMiB') * MiB + connectedBy(endOfWindowMs) * n('story.perConnectionKiB') * 1024;
    const pEnd = heldBytes / (n('container.memoryMiB') * MiB);
    metrics[`window ${label} memoryPctAtEnd`] = round3(pEnd * 100);
    metrics[`window ${label} gcStretchAtEnd`] = round3(gcStretch(heldBytes, n('container.memoryMiB') * MiB, runtime.gc));
    if (started[w]! > 0) {
      windowLines.push(
        `${label}: ${failed[w]}/${started[w]} failed (${pct.toFixed(1)} %), connected → ${connectedBy(endOfWindowMs)}, ` +
          `memory ${(pEnd * 100).toFixed(2)} %, stretch ${metrics[`window ${label} gcStretchAtEnd`]}×, upgrade p99 ${(percentile(lat, 99) / 1000).toFixed(3)} s`,
      );
    }
  }
  const firstFailingWindow = failed.findIndex((f) => f > 0);
  const memoryPctAt = (tMs: number): number =>
    (100 * (n('story.overheadMiB') * MiB + connectedBy(tMs) * n('story.perConnectionKiB') * 1024)) / (n('container.memoryMiB') * MiB);
  // Where the handshake queue saturates: arrivals × cost × stretch(p) = cores, solved for p, then connections.
  const stretchNeeded = (n('host.cores') * 1000) / (n('load.rampPerSecond') * n('story.handshakeCpuMs'));
  const gc = runtime.gc;
  const ratioNeeded = (stretchNeeded - 1) / gc.costRatio;
  const pSat = ratioNeeded / (1 + ratioNeeded);
  const saturatesAt =
    stretchNeeded > gc.stretchMax ? -1 : Math.floor((pSat * n('container.memoryMiB') - n('story.overheadMiB')) / (n('story.perConnectionKiB') / 1024));
  metrics['handshakeSaturationStretch'] = round3(stretchNeeded);
  metrics['handshakeSaturationConnections'] = saturatesAt;
  // The GC explains a timeout only once memory is past the point where handshakes saturate the cores; the
  // tables and queues the candidates shrink explain theirs themselves.
  const limits: LimitHit[] = [...queueLimits(gw.listener)];
  if (timeouts > 0 && saturatesAt >= 0 && connectedBy(firstTimeoutMs) >= saturatesAt) {
    limits.push({
      key: 'container.memoryMiB',
      limit: `container.memoryMiB — GC stretch near the limit (p/(1−p) at ${metrics['memoryPressureAtEndPct']} % used) slows handshakes past the clients' ${n('load.upgradeTimeoutMinMs') / 1000}–${n('load.upgradeTimeoutMaxMs') / 1000} s deadlines`,
      firstAtMs: firstTimeoutMs,
      count: timeouts,
    });
  }
  if (!gwProc.alive)
    limits.push({ key: 'container.memoryMiB', limit: 'container.memoryMiB — OOM kill (SIGKILL, exit 137)', firstAtMs: gwProc.diedAtMs, count: 1 });
  if (gw.accept.stats.emfile > 0)
    limits.push(limitHit('gateway.nofile', 'accept() → EMFILE (Go backs off, connection waits)', gw.accept.stats.firstEmfileAtMs, gw.accept.stats.emfile));
  if (robotsEmfile.count > 0) limits.push(limitHit('robots.nofile', 'connect() → EMFILE on the load box', robotsEmfile.firstAtMs, robotsEmfile.count));
  const diagnosis: string[] = [
    `${gw.stats.peakSessions} of ${fleet.robots.length} connected${gwProc.alive ? '' : ' (all lost at the OOM kill)'}; the server refused none (no admission control) — ${timeouts} clients gave up waiting for the upgrade.`,
    `Memory: ${metrics['memoryPeakMiB']} MiB of ${n('container.memoryMiB')} MiB at the peak; the accounting alone would fit ${storyMemoryCeiling(inputs)} = (${n('container.memoryMiB')} − ${n('story.overheadMiB')}) MiB / ${n('story.perConnectionKiB')} KiB.`,
    saturatesAt < 0
      ? `The GC stretch is capped at ${gc.stretchMax}×, below the ${round3(stretchNeeded)}× needed to saturate ${n('host.cores')} cores at ${n('load.rampPerSecond')} handshakes/s: handshakes never slow enough to time out.`
      : `Handshakes saturate the ${n('host.cores')} cores when the GC stretch reaches ${round3(stretchNeeded)}× (p/(1−p) = ${round3(ratioNeeded)}, memory ${round3(pSat * 100)} % used ≈ ${saturatesAt} connections); past that the queue grows and deadlines expire.`,
    `Failures by window of start time — ${windowLines.join('; ')}.`,
    firstFailingWindow < 0
      ? 'No window had failed upgrades.'
      : !gwProc.alive
        ? `Upgrades fail from the OOM kill at ${(gwProc.diedAtMs / 1000).toFixed(3)} s on: the process is gone, and every connection it held is lost with it.`
        : `Failures begin in the ${windowLabel(edges, firstFailingWindow)} window: the first client that failed started at ${(firstFailedStartMs / 1000).toFixed(3)} s, ` +
          `with memory ${round3(memoryPctAt(firstFailedStartMs))} % used (${connectedBy(firstFailedStartMs)} connections) — ` +
          'this mechanism gives a cliff, not a slope — failures earlier in a ramp, while memory is far from the limit, need another cause (client or network side).',
    timeouts > 0 && gw.stats.refused503 === 0 && gwProc.alive
      ? "The story's explanation holds in this model: timeouts, not rejections, because latency grows smoothly with memory pressure while nothing refuses."
      : gwProc.alive
        ? "No timeouts: the story's explanation needs a GC whose cost keeps growing as memory nears the limit."
        : `The process was OOM-killed at ${(gwProc.diedAtMs / 1000).toFixed(3)} s: without a growing GC cost, admissions run into the container limit instead of timing out.`,
  ];
  const overrides = Object.keys(memory7gb.variants[variant] ?? {});
  if (overrides.length > 0 && overrides.every((k) => k.startsWith('ours.'))) {
    diagnosis.push(`The variant "${variant}" changes only inputs of ours; this story run is the same as given.`);
  }
  if (gw.stats.peakSessions > 0) {
    const stretchAtPeak = gcStretch(
      n('story.overheadMiB') * MiB + gw.stats.peakSessions * n('story.perConnectionKiB') * 1024,
      n('container.memoryMiB') * MiB,
      gc,
    );
    metrics['gcStretchAtPeak'] = round3(stretchAtPeak);
  }
  const windows = edges.map((fromS, w) => ({ fromS, toS: edges[w + 1] ?? null, started: started[w]!, failed: failed[w]! }));
  return { outcomes: sortedCounts(outcomes), limits, metrics, diagnosis, windows };
}

function runOurs(ctx: RunContext): Findings {
  const { inputs } = ctx;
  const { world, server: vm, robotsProc, srcAddrs } = buildWorld(ctx);
  const { proc: gwProc, ours } = startOursInContainer(world, vm, inputs, PORT);
  // Like the story's test clients: one attempt each, a failure is counted, not retried.
  const fleet = new FeedClientFleet(robotsProc, ours.clock, { dstAddr: SERVER, dstPort: PORT, channels: [CHANNEL], srcAddrs, reconnect: { maxAttempts: 0 } });
  const endMs = schedule(inputs, world, (at, dl) => void fleet.add(at, { connectTimeoutMs: dl }));
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);
  const result = oursResult(inputs, fleet, ours, gwProc.mem.peakBytes, gwProc.alive ? -1 : gwProc.diedAtMs);
  const edges = windowEdgesS(inputs, 'report.windowsS');
  const started = edges.map(() => 0);
  const failed = edges.map(() => 0);
  const refused = edges.map(() => 0);
  for (const rb of fleet.robots) {
    const w = windowOf(edges, rb.startAtMs);
    if (w < 0) continue;
    started[w]!++;
    if (rb.openedMs < 0) failed[w]!++;
    if (rb.attempts[0]?.outcome === 'http-503') refused[w]!++;
  }
  const metrics: Record<string, number> = {
    ...result.metrics,
    gcStretchAtEnd: round3(gwProc.mem.stretch()),
    memoryPressureAtEndPct: round3(gwProc.mem.pressure() * 100),
  };
  const lines: string[] = [];
  for (let w = 0; w < edges.length; w++) {
    const label = windowLabel(edges, w);
    metrics[`window ${label} started`] = started[w]!;
    metrics[`window ${label} failed`] = failed[w]!;
    metrics[`window ${label} refused503`] = refused[w]!;
    lines.push(`${label}: ${failed[w]}/${started[w]} failed (${refused[w]} as prompt 503s)`);
  }
  const diagnosis = [
    ...result.diagnosis,
    `Failures by window of start time — ${lines.join('; ')}.`,
    `GC stretch at the end ${metrics['gcStretchAtEnd']}× (memory ${metrics['memoryPressureAtEndPct']} % of the container): the budget ratio keeps ours out of the steep part of the GC curve.`,
  ];
  return { ...result, metrics, diagnosis };
}

export const memory7gb = defineScenario({
  name: 'memory-7gb',
  story: 'field story memory-7gb (docs/lab.md): timeouts, not rejections, as GC pressure slows upgrades near a 7,168 MiB container limit',
  // The capacity inputs our server defaults (per-connection memory, budget ratio) come from its config spec.
  defaults: withOurCapacityInputs(defaults),
  variants: {
    'Go GC CPU limiter (stretch ≤ 2)': { 'story.gcStretchMax': 2 },
    "ours with the story's 0.7 MB per connection": { 'ours.perConnectionKiB': 716.8 },
  },
  oursVariants: ["ours with the story's 0.7 MB per connection"],
  gateways: ['story', 'ours'],
  claim: {
    reported: 'a plateau at 8,849 of 10,000 with timeouts, not rejections, as memory neared the limit',
    symptomKinds: ['UPGRADE_TIMEOUT', 'ETIMEDOUT'],
    atConnections: [8_849, 8_849],
    explanation: 'GC pressure near the container limit slowed upgrades until clients gave up',
    blamed: ['container.memoryMiB'],
    windows: [
      { fromS: 0, toS: 60, failedPct: 1 },
      { fromS: 60, toS: 80, failedPct: 7.5 },
      { fromS: 80, toS: 100, failedPct: 12.5 },
      { fromS: 100, toS: 106, failedPct: 4.5 },
    ],
    // Memory fails no upgrade while it is far from the limit; what else the lab models would, at common values.
    candidates: {
      'the accept queue at somaxconn 128 (the default before Linux 5.4)': { 'host.somaxconn': 128 },
      "the gateway's descriptor table at a soft limit of 1,024": { 'gateway.nofile': 1_024 },
      "the load tool's descriptor table at a soft limit of 1,024": { 'robots.nofile': 1_024 },
    },
  },
  eventsMax: 50_000_000,
  run,
});
