// cloudrun-512mb — docs/lab.md, field story "cloudrun-512mb": a fixed number of connections, then 503.
//
// A 512 MiB, 2 vCPU container runs the story's Go gateway. Its admission is a slot semaphore sized by its
// own accounting: slots = (container − runtime overhead) / per-connection budget; a handshake that finds
// no slot waits up to 5 s, then gets HTTP 503. The cap is computed here from the inputs at run time, never
// written down: the lab checks the accounting by changing it (memory limit, per-connection cost, the
// earlier 50 KiB accounting) and watching the cap move. "ours" runs our Gateway in the same container:
// capacity = (limit × memoryBudgetRatio − baseline) / perConnectionBytes (src/server/config.ts defaults),
// refusals are prompt 503s with Retry-After, and refused clients retry per the real client's policy.
// Inputs: sim/scenarios/inputs/cloudrun-512mb.json (story inputs only).
import { GO } from '../kernel/runtime.js';
import { startOursInContainer } from '../servers/ours-memory.js';
import { withOurCapacityInputs } from '../servers/ours.js';
import { StoryGateway } from '../servers/story-gateway.js';
import { FeedClientFleet } from '../robots/feed-clients.js';
import { RobotFleet } from '../robots/game-robots.js';
import defaults from './inputs/cloudrun-512mb.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { type Inputs, type LimitHit, num, percentile } from './scenario.js';
import { oursResult } from './ours-report.js';
import { HOLDS_ONLY } from './capacity-common.js';
import { serverAndRobots } from './hosts.js';
import { bump, round3, sortedCounts } from './tally.js';

const SERVER = '10.0.0.2';
const PORT = 8080;
const MiB = 1024 * 1024;
const CHANNEL = 'odin.global.status';

/** The story's slot count: floor((container − overhead) / per-connection budget), in bytes. */
export function storySlots(inputs: Inputs): number {
  const n = (k: string) => num(inputs, k);
  return Math.floor(((n('container.memoryMiB') - n('story.overheadMiB')) * MiB) / (n('story.perConnectionKiB') * 1024));
}

/** Connections to open: `load.connections`, or the gateway's cap + `load.aboveCap` when that is ≥ 0 (-1: off). */
function connectionsFor(inputs: Inputs, cap: number): number {
  const above = num(inputs, 'load.aboveCap');
  return above >= 0 ? cap + above : num(inputs, 'load.connections');
}

function buildWorld(ctx: RunContext) {
  const memoryBytes = ctx.num('container.memoryMiB') * MiB;
  return { world: ctx.world, ...serverAndRobots(ctx, SERVER, { name: 'cloudrun', memoryBytes, cores: ctx.num('container.vcpu') }) };
}

function run(ctx: RunContext): Findings {
  const { gateway } = ctx;
  return gateway === 'ours' ? runOurs(ctx) : runStory(ctx);
}

function runStory(ctx: RunContext): Findings {
  const { inputs } = ctx;
  const n = (k: string) => num(inputs, k);
  const { world, server, robotsProc } = buildWorld(ctx);
  const gwProc = world.spawn(server, {
    name: 'gateway',
    runtime: GO,
    nofileSoft: n('gateway.nofile'),
    memoryLimitBytes: n('container.memoryMiB') * MiB,
    fdsReserved: n('gateway.fdsReserved'),
  });
  // The runtime overhead the story budgets is resident before the first connection.
  if (!gwProc.mem.charge(n('story.overheadMiB') * MiB)) throw new Error('cloudrun-512mb: overhead exceeds the container');
  const slots = storySlots(inputs);
  const gw = new StoryGateway(gwProc, {
    ...HOLDS_ONLY,
    port: PORT,
    backlog: n('host.somaxconn'), // Go listens with the system's somaxconn
    handshakeCpuMs: n('story.handshakeCpuMs'),
    perConnectionBytes: n('story.perConnectionKiB') * 1024,
    sendBufferMessages: n('story.sendChannelSlots'),
    slots,
    slotWaitMs: n('story.slotWaitMs'),
  });
  const fleet = new RobotFleet(
    robotsProc,
    { dstAddr: SERVER, dstPort: PORT, handshakeTimeoutMs: n('loadgen.handshakeTimeoutMs'), betSpreadMs: 0 },
    world.rng.fork('robots'),
  );
  const total = connectionsFor(inputs, slots);
  const gapMs = 1000 / n('load.rampPerSecond');
  for (let i = 0; i < total; i++) fleet.add(i * gapMs);
  const endMs = (total - 1) * gapMs + n('story.slotWaitMs') + n('load.holdMs');
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  const outcomes: Record<string, number> = {};
  const firstAt: Record<string, number> = {};
  const waits503: number[] = [];
  for (const rb of fleet.robots) {
    const key = rb.phase === 'open' ? 'connected' : `${rb.outcome}@${rb.outcomePhase}`;
    bump(outcomes, key);
    const at = rb.phase === 'open' ? rb.openMs : rb.outcomeMs;
    if (firstAt[key] === undefined || at < firstAt[key]) firstAt[key] = at;
    if (rb.outcome === 'http-503') waits503.push(rb.outcomeMs - rb.connectedMs);
  }
  waits503.sort((a, b) => a - b);
  const limits: LimitHit[] = [];
  if (gw.stats.refused503 > 0) {
    limits.push({
      key: 'container.memoryMiB',
      limit: `container.memoryMiB — the story's accounting: ${slots} slots = (container.memoryMiB − story.overheadMiB) / story.perConnectionKiB, then HTTP 503 after story.slotWaitMs`,
      firstAtMs: firstAt['http-503@upgrading'] ?? 0,
      count: gw.stats.refused503,
    });
  }
  if (!gwProc.alive)
    limits.push({ key: 'container.memoryMiB', limit: 'container.memoryMiB — OOM kill (SIGKILL, exit 137)', firstAtMs: gwProc.diedAtMs, count: 1 });

  const componentsKiB =
    (n('story.sendChannelSlots') * n('story.messageBytes') + n('story.replayBufferMessages') * n('story.messageBytes')) / 1024 + n('story.stateKiB');
  const channelOnlyKiB = (n('story.sendChannelSlots') * n('story.messageBytes')) / 1024 + n('story.stateKiB');
  const metrics: Record<string, number> = {
    connectionsAttempted: total,
    slots,
    sessionsPeak: gw.stats.peakSessions,
    refused503: gw.stats.refused503,
    refusalWaitMinMs: round3(waits503[0] ?? 0),
    refusalWaitP50Ms: round3(percentile(waits503, 50)),
    refusalWaitMaxMs: round3(waits503[waits503.length - 1] ?? 0),
    memoryPeakMiB: round3(gwProc.mem.peakBytes / MiB),
    memoryLimitMiB: n('container.memoryMiB'),
    storyComponentsKiB: round3(componentsKiB),
    storyChannelOnlyKiB: round3(channelOnlyKiB),
    memoryIfChannelsFullMiB: round3(n('story.overheadMiB') + (gw.stats.peakSessions * channelOnlyKiB) / 1024),
  };
  const outs = sortedCounts(outcomes);
  const diagnosis: string[] = [
    `The story's accounting gives floor((${n('container.memoryMiB')} − ${n('story.overheadMiB')}) MiB / ${n('story.perConnectionKiB')} KiB) = ${slots} slots; ` +
      `${total} connections: ${outs['connected'] ?? 0} connected, ${gw.stats.refused503} got HTTP 503.`,
  ];
  if (waits503.length > 0) {
    diagnosis.push(
      `Each 503 came after the semaphore's wait: ${(metrics['refusalWaitMinMs']! / 1000).toFixed(3)}–${(metrics['refusalWaitMaxMs']! / 1000).toFixed(3)} s from the Upgrade ` +
        `(story.slotWaitMs ${n('story.slotWaitMs')} ms + handshake CPU); every refused client held a socket and a goroutine that long.`,
    );
  }
  diagnosis.push(
    `Memory peaked at ${metrics['memoryPeakMiB']} MiB of ${n('container.memoryMiB')} MiB: the semaphore keeps the accounted usage under the limit by construction.`,
    `The story's own components add up to ${metrics['storyComponentsKiB']} KiB (send channel ${n('story.sendChannelSlots')} × ${n('story.messageBytes')} B, ` +
      `replay ${n('story.replayBufferMessages')} × ${n('story.messageBytes')} B, ${n('story.stateKiB')} KiB state); its ${n('story.perConnectionKiB')} KiB budget is ${n('story.perConnectionKiB') >= componentsKiB ? 'that, rounded up' : 'less than that'}.`,
  );
  if (n('story.perConnectionKiB') < channelOnlyKiB) {
    diagnosis.push(
      `Unsafe accounting: ${n('story.perConnectionKiB')} KiB is less than a full send channel alone (${metrics['storyChannelOnlyKiB']} KiB). ` +
        `With every channel full, ${gw.stats.peakSessions} connections would need ${metrics['memoryIfChannelsFullMiB']} MiB — over the ${n('container.memoryMiB')} MiB container (OOM kill, not 503s).`,
    );
  }
  const resets = Object.entries(outs)
    .filter(([k]) => k.startsWith('ECONNRESET'))
    .reduce((s, [, v]) => s + v, 0);
  diagnosis.push(
    resets === 0
      ? 'No client saw ECONNRESET: the semaphore refuses with HTTP responses. Resets in the field need another mechanism (the platform front end, the load tool) — not in this model.'
      : `${resets} clients saw ECONNRESET.`,
  );
  return { outcomes: outs, limits, metrics, diagnosis };
}

function runOurs(ctx: RunContext): Findings {
  const { inputs } = ctx;
  const n = (k: string) => num(inputs, k);
  const { world, server, robotsProc, srcAddrs } = buildWorld(ctx);
  const { proc: gwProc, ours } = startOursInContainer(world, server, inputs, PORT);
  // Like the story's load tool, each client tries once and counts a failure (no reconnects).
  const fleet = new FeedClientFleet(robotsProc, ours.clock, { dstAddr: SERVER, dstPort: PORT, channels: [CHANNEL], srcAddrs, reconnect: { maxAttempts: 0 } });
  // "cap + N" is relative to our own capacity here: each gateway is checked against its own accounting.
  const total = connectionsFor(inputs, ours.gateway.admission.capacity.connectionsMax);
  const gapMs = 1000 / n('load.rampPerSecond');
  for (let i = 0; i < total; i++) fleet.add(i * gapMs, { connectTimeoutMs: n('loadgen.handshakeTimeoutMs') });
  const endMs = (total - 1) * gapMs + n('story.slotWaitMs') + n('load.holdMs');
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);
  return oursResult(inputs, fleet, ours, gwProc.mem.peakBytes, gwProc.alive ? -1 : gwProc.diedAtMs);
}

export const cloudrun512mb = defineScenario({
  name: 'cloudrun-512mb',
  story: "field story cloudrun-512mb (docs/lab.md): a slot semaphore sized by the story's memory accounting in a 512 MiB container, then HTTP 503",
  // The capacity inputs our server defaults (per-connection memory, budget ratio) come from its config spec.
  defaults: withOurCapacityInputs(defaults),
  variants: {
    'cap + 1 connections': { 'load.aboveCap': 1 },
    'earlier accounting (50 KiB, no replay buffer)': { 'story.perConnectionKiB': 50, 'story.replayBufferMessages': 0 },
  },
  oursVariants: ['cap + 1 connections'],
  gateways: ['story', 'ours'],
  claim: {
    reported: 'exactly 2,184 connected, then 7,720 failed as "unexpected" (HTTP 503), 96 with ECONNRESET',
    symptomKinds: ['HTTP_503'],
    atConnections: [2_184, 2_184],
    explanation: "the server's memory accounting: (512 MB − 128 MB) / 180 KB per connection slots, then 503",
    blamed: ['container.memoryMiB', 'story.perConnectionKiB'],
  },
  eventsMax: 50_000_000,
  run,
});
