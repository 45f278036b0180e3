// slow-clients — docs/lab.md, field story "full send buffers".
//
// One server broadcasts a feed of several channels (trades, a ticker, trade confirmations) to many
// clients; most read as fast as frames arrive, some read slower than the feed is published. Every client's
// send buffer holds 256 messages. The story's server closes a client the moment its buffer is full; its
// later plan (a variant) drops messages that find the buffer full and throttles the client to 75/50/25 %
// after 3 consecutive failures, recovering after 30 s, confirmations always delivered. "ours" runs our
// Gateway with the same buffer expressed in bytes (256 × one event frame) and our slow-client policy
// (conflate, shed by priority with gap notices, throttle notices, critical never shed, 1008 last); the
// clients run the real client, which repairs gaps by replay and reports what it cannot repair (onGap,
// onReset). The report checks, per slow client and channel: delivered + named in gaps/resets = published —
// anything else is silent loss.
// Inputs: sim/scenarios/inputs/slow-clients.json (story inputs only).
import { encodeEvent } from '../../src/core/codec.js';
import type { ChannelClass } from '../../src/core/options.js';
import { GO, NODE } from '../kernel/runtime.js';
import { startOurGateway } from '../servers/ours.js';
import { type FeedMessage, StoryFanoutGateway } from '../servers/story-fanout.js';
import { type FeedRobot, FeedClientFleet } from '../robots/feed-clients.js';
import { SubscriberFleet } from '../robots/feed-robots.js';
import defaults from './inputs/slow-clients.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { type LimitHit, num, percentile, str } from './scenario.js';
import { HOLDS_ONLY } from './capacity-common.js';
import { feedChannels, isSlow, publishPlan, subject } from './feed-plan.js';
import { Ledger, settleLedgers } from './feed-ledger.js';
import { serverAndRobots } from './hosts.js';
import { bump, round3, sortedCounts } from './tally.js';

const SERVER = '10.0.0.2';
const PORT = 8080;
const MiB = 1024 * 1024;

function buildWorld(ctx: RunContext) {
  return { world: ctx.world, ...serverAndRobots(ctx, SERVER, { memoryBytes: 16 * 1024 * MiB }, 'clients') };
}

function run(ctx: RunContext): Findings {
  const { gateway } = ctx;
  return gateway === 'ours' ? runOurs(ctx) : runStory(ctx);
}

// ---- the story's server -------------------------------------------------------------------------------

function runStory(ctx: RunContext): Findings {
  const { inputs } = ctx;
  const n = (k: string) => num(inputs, k);
  const channels = feedChannels(inputs);
  const { world, server, robotsProc } = buildWorld(ctx);
  const gwProc = world.spawn(server, { name: 'gateway', runtime: GO, nofileSoft: n('gateway.nofile') });
  const onFull = str(inputs, 'story.onFull');
  if (onFull !== 'close' && onFull !== 'plan') throw new Error('story.onFull must be close or plan');
  const gw = new StoryFanoutGateway(gwProc, {
    ...HOLDS_ONLY,
    port: PORT,
    backlog: n('host.somaxconn'),
    handshakeCpuMs: n('story.handshakeCpuMs'),
    outboundCpuMs: n('story.outboundCpuMs'),
    perConnectionBytes: 0,
    sendBufferMessages: n('story.sendBufferMessages'),
    writeWaitMs: n('story.writeWaitMs'),
    onFull,
    plan: {
      failuresToThrottle: n('story.planFailuresToThrottle'),
      levelsPct: str(inputs, 'story.planLevelsPct').split(',').map(Number),
      recoverMs: n('story.planRecoverMs'),
    },
  });
  const fleet = new SubscriberFleet(robotsProc, SERVER, PORT, channels.length);
  const total = n('load.connections');
  for (let i = 0; i < total; i++)
    fleet.add((i * 1000) / n('load.rampPerSecond'), isSlow(i, total, n('clients.slowFraction')) ? n('clients.slowReadPerSecond') : Infinity);
  const published = channels.map(() => 0);
  let offset = 0;
  const payloadBytes = n('feed.messageBytes');
  for (const p of publishPlan(inputs, channels)) {
    world.sched.at(
      p.atMs,
      (ci: number) => {
        published[ci]!++;
        const msg: FeedMessage = {
          k: 'ws',
          kind: 'event',
          channel: ci,
          offset: ++offset,
          critical: channels[ci]!.priority === 'critical',
          publishedMs: world.sched.nowMs,
          percent: 100,
          payloadBytes,
        };
        gw.broadcast(msg);
      },
      p.channel,
    );
  }
  const endMs = n('feed.startMs') + n('feed.durationMs') + n('feed.drainMs');
  ctx.record([fleet], endMs);
  ctx.runUntil(endMs);

  const publishedTotal = published.reduce((a, b) => a + b, 0);
  const outcomes: Record<string, number> = {};
  let slowDelivered = 0;
  let slowPublished = 0;
  let slowCriticalMissed = 0;
  let slowClosed = 0;
  let slowNotices = 0;
  let fastIncomplete = 0;
  for (const s of fleet.subscribers) {
    const slow = Number.isFinite(s.readPerSecond);
    const got = s.received.reduce((a, b) => a + b, 0);
    if (!slow) {
      const complete = s.received.every((v, c) => v === published[c]);
      if (!complete) fastIncomplete++;
      bump(outcomes, complete ? 'fast: every event delivered' : `fast: missed events (${s.ended || 'open'})`);
      continue;
    }
    slowDelivered += got;
    slowPublished += publishedTotal;
    slowNotices += s.throttleNotices;
    channels.forEach((c, ci) => {
      if (c.priority === 'critical') slowCriticalMissed += published[ci]! - s.received[ci]!;
    });
    if (s.ended === 'closed-by-server') slowClosed++;
    const how =
      s.ended === ''
        ? got === publishedTotal
          ? 'every event delivered'
          : s.throttleNotices > 0
            ? `throttled to ${s.throttlePctMin} %, events missed unnamed`
            : 'events missed unnamed'
        : `${s.ended}, events after it missed unnamed`;
    bump(outcomes, `slow: ${how}`);
  }
  fleet.fastLatenciesMs.sort((a, b) => a - b);
  const fastLat = fleet.fastLatenciesMs;
  const slowCount = fleet.subscribers.filter((s) => Number.isFinite(s.readPerSecond)).length;
  const metrics: Record<string, number> = {
    clients: fleet.subscribers.length,
    slowClients: slowCount,
    published: publishedTotal,
    ...Object.fromEntries(channels.map((c, ci) => [`published ${c.name}`, published[ci]!])),
    fastIncomplete,
    fastLatencyP50Ms: round3(percentile(fastLat, 50)),
    fastLatencyP99Ms: round3(percentile(fastLat, 99)),
    fastLatencyMaxMs: round3(fastLat[fastLat.length - 1] ?? 0),
    slowClosedByServer: slowClosed,
    slowDeliveredPct: round3(slowPublished > 0 ? (100 * slowDelivered) / slowPublished : 100),
    slowNamedInGaps: 0,
    slowUnaccounted: slowPublished - slowDelivered,
    slowCriticalMissed,
    slowThrottleNotices: slowNotices,
    gatewayDropped: gw.fanout.dropped,
    gatewayClosedSlow: gw.stats.closedSlow,
    gatewayClosedWriteWait: gw.stats.closedWriteWait,
  };
  const limits: LimitHit[] = [];
  if (gw.stats.closedSlow > 0)
    limits.push({
      key: 'story.sendBufferMessages',
      limit: `story.sendBufferMessages — ${n('story.sendBufferMessages')} messages full → client closed`,
      firstAtMs: gw.fanout.firstSlowCloseMs,
      count: gw.stats.closedSlow,
    });
  if (gw.fanout.dropped > 0)
    limits.push({
      key: 'story.sendBufferMessages',
      limit: `story.sendBufferMessages — ${n('story.sendBufferMessages')} messages full → messages dropped, client throttled`,
      firstAtMs: gw.fanout.firstDropMs,
      count: gw.fanout.dropped,
    });
  if (gw.stats.closedWriteWait > 0)
    limits.push({
      key: 'story.writeWaitMs',
      limit: `story.writeWaitMs — ${n('story.writeWaitMs')} ms blocked on a full socket → client closed`,
      firstAtMs: gw.fanout.firstWriteWaitCloseMs,
      count: gw.stats.closedWriteWait,
    });
  const readVsFeed = `${n('clients.slowReadPerSecond')} messages/s read vs ${channels.reduce((a, c) => a + c.perSecond, 0)} published/s`;
  const diagnosis = [
    fastIncomplete === 0
      ? `Fast clients unaffected: all ${fleet.subscribers.length - slowCount} got every event; latency p99 ${metrics['fastLatencyP99Ms']} ms, max ${metrics['fastLatencyMaxMs']} ms.`
      : `${fastIncomplete} fast clients missed events.`,
    onFull === 'close'
      ? `Slow clients (${readVsFeed}): ${slowClosed} of ${slowCount} closed when their ${n('story.sendBufferMessages')}-message buffer filled (the first at ${(gw.fanout.firstSlowCloseMs / 1000).toFixed(3)} s, ${((gw.fanout.firstSlowCloseMs - n('feed.startMs')) / 1000).toFixed(3)} s into the feed); ` +
        `they got ${metrics['slowDeliveredPct']} % of the feed and nothing tells them which events they missed — the protocol has no offsets to resume from.`
      : `Slow clients (${readVsFeed}): ${gw.fanout.dropped} messages dropped, ${gw.fanout.throttleNotices} throttle notices; they got ${metrics['slowDeliveredPct']} % of the feed. ` +
        `The notice announces a share, not the messages: ${metrics['slowUnaccounted']} missed events are named nowhere, so nothing can be replayed.`,
    slowCriticalMissed === 0 ? 'No slow client missed a confirmation.' : `Slow clients missed ${slowCriticalMissed} confirmations (critical) in all.`,
  ];
  return { outcomes: sortedCounts(outcomes), limits, metrics, diagnosis };
}

// ---- ours ---------------------------------------------------------------------------------------------

function runOurs(ctx: RunContext): Findings {
  const { inputs } = ctx;
  const n = (k: string) => num(inputs, k);
  const channels = feedChannels(inputs);
  const subjects = channels.map(subject);
  const { world, server, robotsProc, srcAddrs } = buildWorld(ctx);
  const gwProc = world.spawn(server, { name: 'gateway', runtime: NODE, nofileSoft: n('gateway.nofile'), nofileHard: n('gateway.nofile') });
  const data = JSON.stringify('x'.repeat(Math.max(0, n('feed.messageBytes') - 2)));
  // The story's buffer in our unit: 256 event frames of the longest channel name at a five-digit offset.
  const longest = subjects.reduce((a, c) => (c.length > a.length ? c : a));
  const frameBytes = encodeEvent({ channel: longest, offset: 99_999, prev: 99_998, data }).bytes.byteLength;
  const queueBytesMax = n('story.sendBufferMessages') * frameBytes;
  const classes: ChannelClass[] = channels.map((c) => ({ pattern: subject(c), priority: c.priority, conflate: c.conflate }));
  const ours = startOurGateway(gwProc, {
    port: PORT,
    backlog: 511,
    handshakeCpuMs: n('ours.handshakeCpuMs'),
    inboundCpuMs: 0.02,
    writeCpuMs: n('ours.writeCpuMs'),
    baselineBytes: n('ours.baselineMiB') * MiB,
    options: { outbound: { queueBytesMax }, channelClasses: classes },
  });
  const plan = publishPlan(inputs, channels);
  const publishedAt: number[] = [];
  const channelOf: number[] = [];
  const fastLatencies: number[] = [];
  const ledgers: Ledger[] = [];
  const fleet = new FeedClientFleet(
    robotsProc,
    ours.clock,
    { dstAddr: SERVER, dstPort: PORT, channels: subjects, srcAddrs },
    {
      onEvent: (r, _ch, offset) => {
        ledgers[r.index]!.deliver(offset);
        if (!Number.isFinite(r.readPerSecond)) fastLatencies.push(world.sched.nowMs - (publishedAt[offset] as number));
      },
      onGap: (r, channel, gap) => ledgers[r.index]!.gap(subjects.indexOf(channel), gap.from, gap.to, gap.reason, channelOf),
      onReset: (r, channel) => void ledgers[r.index]!.resets.push({ channel: subjects.indexOf(channel), atMs: world.sched.nowMs }),
    },
  );
  const total = n('load.connections');
  for (let i = 0; i < total; i++) {
    fleet.add((i * 1000) / n('load.rampPerSecond'), { readPerSecond: isSlow(i, total, n('clients.slowFraction')) ? n('clients.slowReadPerSecond') : Infinity });
    ledgers.push(new Ledger(plan.length));
  }
  const offsetsByChannel: number[][] = channels.map(() => []);
  for (const p of plan) {
    world.sched.at(
      p.atMs,
      (ci: number) => {
        const at = world.sched.nowMs;
        ours.broker.publish(subjects[ci]!, data, (res) => {
          if (!res.ok) return;
          publishedAt[res.offset] = at;
          channelOf[res.offset] = ci;
          offsetsByChannel[ci]!.push(res.offset);
        });
      },
      p.channel,
    );
  }
  // When the gateway first degrades a client (server side; clients see it later, behind their backlog).
  let firstDegradeMs = -1;
  const probe = (): void => {
    const st = ours.gateway.stats();
    if (st.events.gaps > 0 || st.throttledSessions.level1 + st.throttledSessions.level2 + st.throttledSessions.level3 > 0) firstDegradeMs = world.sched.nowMs;
    else if (world.sched.nowMs < n('feed.startMs') + n('feed.durationMs')) world.sched.after(100, probe, undefined);
  };
  world.sched.at(n('feed.startMs'), probe, undefined);
  // Run the feed, then let the slow clients read their backlog and settle their repairs: stop as soon as
  // every client has every published offset delivered or named, or at the drain bound.
  const feedEndMs = n('feed.startMs') + n('feed.durationMs');
  const settled = (): boolean => ledgers.every((l) => l.delivered + l.gapNamed >= publishedAt.length - 1);
  ctx.record([fleet], feedEndMs);
  ctx.runUntil(feedEndMs);
  for (let t = feedEndMs + 1000; t <= feedEndMs + n('feed.drainMs') && !settled(); t += 1000) ctx.runUntil(t);

  // ---- the ledger: delivered + named = published, per client ----
  const published = publishedAt.length - 1;
  const criticalOffsets = channels.flatMap((c, ci) => (c.priority === 'critical' ? offsetsByChannel[ci]! : []));
  const clients = fleet.robots.map((rb) => ({ ledger: ledgers[rb.index]!, slow: Number.isFinite(rb.readPerSecond) }));
  const { totals, outcomes, gapReasons } = settleLedgers(clients, { publishedAt, channelOf, criticalOffsets });
  const { exact, fastIncomplete } = totals;
  fastLatencies.sort((a, b) => a - b);
  const stats = ours.gateway.stats();
  const slowRobots = fleet.robots.filter((rb) => Number.isFinite(rb.readPerSecond));
  const sum = (f: (rb: FeedRobot) => number) => slowRobots.reduce((a, rb) => a + f(rb), 0);
  const metrics: Record<string, number> = {
    clients: fleet.robots.length,
    slowClients: slowRobots.length,
    published,
    settledAtMs: round3(world.sched.nowMs),
    ...Object.fromEntries(channels.map((c, ci) => [`published ${c.name}`, offsetsByChannel[ci]!.length])),
    queueBytesMax,
    fastIncomplete,
    fastLatencyP50Ms: round3(percentile(fastLatencies, 50)),
    fastLatencyP99Ms: round3(percentile(fastLatencies, 99)),
    fastLatencyMaxMs: round3(fastLatencies[fastLatencies.length - 1] ?? 0),
    slowPublished: totals.slowPublished,
    slowDelivered: totals.slowDelivered,
    slowNamedInGaps: totals.slowGapNamed,
    slowNamedInResets: totals.slowResetNamed,
    slowUnaccounted: totals.unaccounted,
    slowDeliveredPct: round3(totals.slowPublished > 0 ? (100 * totals.slowDelivered) / totals.slowPublished : 100),
    slowCriticalNamedInGaps: totals.slowCriticalGapNamed,
    deliveredAndNamedOverlap: totals.overlap,
    slowThrottleNotices: sum((rb) => rb.throttleNotices),
    slowThrottleLevelMax: slowRobots.reduce((a, rb) => Math.max(a, rb.throttleLevelMax), 0),
    slowReplaysRequested: sum((rb) => rb.client?.counters.replaysRequested ?? 0),
    slowReplaysFailed: sum((rb) => rb.client?.counters.replaysFailed ?? 0),
    slowReconnects: sum((rb) => rb.client?.counters.reconnects ?? 0),
    ...sortedCounts(gapReasons),
    gatewayGaps: stats.events.gaps,
    gatewaySlowDisconnects: stats.slowDisconnects,
  };
  const limits: LimitHit[] = [];
  if (metrics['slowThrottleNotices']! > 0 || stats.events.gaps > 0) {
    limits.push({
      key: 'story.sendBufferMessages',
      limit: `story.sendBufferMessages — as bytes (${queueBytesMax} B outbound queue) filling → throttle notices, conflation, shedding with gap notices`,
      firstAtMs: firstDegradeMs,
      count: stats.events.gaps,
    });
  }
  if (stats.slowDisconnects > 0)
    limits.push({
      key: 'story.sendBufferMessages',
      limit: 'story.sendBufferMessages — outbound queue over bound with critical events → 1008 slow consumer',
      firstAtMs: firstDegradeMs,
      count: stats.slowDisconnects,
    });
  const diagnosis = [
    fastIncomplete === 0
      ? `Fast clients unaffected: all ${fleet.robots.length - slowRobots.length} got every event; latency p99 ${metrics['fastLatencyP99Ms']} ms, max ${metrics['fastLatencyMaxMs']} ms.`
      : `${fastIncomplete} fast clients did not get every event.`,
    `Slow clients (${n('clients.slowReadPerSecond')} frames/s read): ${metrics['slowDeliveredPct']} % of the feed delivered; ${totals.slowGapNamed} offsets named in gap notices they could not repair, ` +
      `${totals.slowResetNamed} covered by resets; ${metrics['slowThrottleNotices']} throttle notices (up to level ${metrics['slowThrottleLevelMax']}); ${metrics['slowReplaysRequested']} replays requested.`,
    `Per slow client, delivered + named = published for ${exact} of ${slowRobots.length}; ${totals.unaccounted} offsets unaccounted over all clients ` +
      `(at ${(world.sched.nowMs / 1000).toFixed(3)} s${settled() ? ', every client settled' : ', the drain bound: still unread or held behind a repair'}).`,
    metrics['slowReplaysFailed']! === 0
      ? 'Every replay a slow client asked for was answered in time.'
      : `${metrics['slowReplaysFailed']} of ${metrics['slowReplaysRequested']} replays failed (replay_timeout): the answer queues behind the same backlog that caused the gap, ` +
        'so a client reading well below the feed rate gets its repair too late and reports the range lost (named, not silent).',
    totals.overlap === 0
      ? 'No offset was both named in a gap and delivered.'
      : `${totals.overlap} offsets were named in a gap and delivered anyway (the client reports a failed repair from its last position: too much, never too little).`,
    totals.slowCriticalGapNamed === 0
      ? 'Critical channels: no slow client had a confirmation shed.'
      : `Critical channels: ${totals.slowCriticalGapNamed} confirmation offsets reached slow clients only as gaps.`,
    stats.slowDisconnects === 0
      ? 'No client was closed as a slow consumer (1008).'
      : `${stats.slowDisconnects} slow-consumer closes (1008); those clients resumed with since.`,
  ];
  return { outcomes: sortedCounts(outcomes), limits, metrics, diagnosis };
}

export const slowClients = defineScenario({
  name: 'slow-clients',
  story:
    'field story slow-clients (docs/lab.md): full send buffers — close on full (the story), throttle 75/50/25 % (its later plan), or degrade explicitly (ours)',
  defaults: defaults,
  variants: {
    'later plan: throttle 75/50/25 %, confirmations always': { 'story.onFull': 'plan' },
    'slower clients (half the read rate)': { 'clients.slowReadPerSecond': 15 },
  },
  oursVariants: ['slower clients (half the read rate)'],
  gateways: ['story', 'ours'],
  claim: {
    reported: 'clients that read slower than the feed were cut off when their 256-message send buffer filled',
    symptomKinds: ['CLOSED_BY_SERVER'],
    explanation: 'the server closes a client whose send buffer is full',
    blamed: ['story.sendBufferMessages'],
  },
  eventsMax: 50_000_000,
  run,
});
