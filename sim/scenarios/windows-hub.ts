// windows-hub — docs/lab.md, field story "Insufficient resources and reconnect storms" (a hub on a Windows box).
//
// Part 1, the browser: one tab opens `socketsPerTab` WebSockets in one go. Chrome keeps at most 255
// handshakes pending per renderer (robots/browser.ts), so the rest fail at once with "Insufficient
// resources" — whatever the server does. With the fix's per-user cap the server then answers all but 5
// with 429. Part 2, the storm: `users` browsers (one tab, one socket each) are connected when the hub
// restarts (down for `downMs`). The story's client retries 1 s, 2 s, 4 s, … without jitter, 5 attempts;
// ours draws full jitter with no attempt limit. The run counts handshakes per 100 ms after the restart
// and the clients that gave up.
// "story" = our Gateway with admission off (the hub had no caps) and the story's client policy;
// "ours" = our Gateway with the fix's caps (1,000 total, 5 per user) and our client's policy.
import type { SocketFactory } from '../../src/client/ports.js';
import { SimClock } from '../adapters/clock-sim.js';
import { NODE } from '../kernel/runtime.js';
import type { OurGateway } from '../servers/ours.js';
import { BrowserRenderer } from '../robots/browser.js';
import { ClientRobotFleet } from '../robots/client-robots.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import defaults from './inputs/windows-hub.json' with { type: 'json' };
import { defineScenario, type Findings, type RunContext } from './define.js';
import { machine, rampMs, startOurs } from './our-deployment.js';
import { type LimitHit, num } from './scenario.js';
import { busiestWindow, countBy, prefixed } from './tally.js';

const HUB = '192.168.1.10';
const PORT = 5000;
const WINDOW_MS = 100;

function run(ctx: RunContext): Findings {
  const { inputs, gateway } = ctx;
  const n = (k: string) => num(inputs, k);
  const story = gateway === 'story';
  const world = ctx.world;
  const devbox = machine(ctx, 'devbox', [HUB], 16, 8, 'windows');
  const browserProc = world.spawn(machine(ctx, 'browsers', ['192.168.1.20'], 16, 8, 'windows'), { name: 'chrome', runtime: NODE, nofileSoft: 1_000_000 });
  const clock = new SimClock(world.sched);
  const admission = story
    ? { connectionsMax: 1_000_000, perUserMax: 1_000_000, perIpMax: 1_000_000, handshakeBurst: 1_000_000, handshakesPerSecond: 1_000_000 }
    : {
        connectionsMax: n('story.connectionsMax'),
        perUserMax: n('story.perUserMax'),
        perIpMax: 1_000_000,
        handshakeBurst: 1_000_000,
        handshakesPerSecond: 1_000_000,
      };
  let starts = 0;
  const startHub = (): OurGateway => {
    const proc = world.spawn(devbox, { name: `hub-${starts++}`, runtime: NODE, nofileSoft: 16_777_216 });
    return startOurs(ctx, proc, PORT, { backlog: 200, options: { admission }, usersFromUpgrade: true });
  };
  let hub = startHub();
  const sockets = new SimSocketFactory(browserProc, HUB, PORT);
  // Every WebSocket attempt, timed (handshake load on the hub).
  const attemptsAt: number[] = [];
  const timed: SocketFactory = (url, protocols, handlers) => {
    attemptsAt.push(world.sched.nowMs);
    return sockets.factory(url, protocols, handlers);
  };
  const reconnect = story ? { baseMs: n('story.baseMs'), capMs: n('story.baseMs') * 2 ** n('story.attempts'), maxAttempts: n('story.attempts') } : {};

  // Part 1: one tab, many sockets, one user.
  const tab = new BrowserRenderer(world.sched, timed);
  const tabFleet = new ClientRobotFleet(browserProc, clock, {
    dstAddr: HUB,
    dstPort: PORT,
    channel: 'hub.dashboard.widgets',
    socketFactory: tab.factory,
    reconnect: { ...reconnect, maxAttempts: 0 },
    userOf: () => 'dashboard-user',
  });
  for (let i = 0; i < n('browser.socketsPerTab'); i++) tabFleet.add(0);
  // Part 2: many users, one tab each (their own renderers), connected before the restart.
  const userFleet = new ClientRobotFleet(browserProc, clock, {
    dstAddr: HUB,
    dstPort: PORT,
    channel: 'hub.notifications',
    socketFactory: timed,
    reconnect,
    jitter: !story,
  });
  for (let i = 0; i < n('load.connections'); i++) userFleet.add(1_000 + (rampMs(ctx) * i) / n('load.connections'));
  // Part 1 ends before the restart: close the tab.
  world.sched.at(
    n('fault.restartAtMs') - 5_000,
    () => {
      for (const r of tabFleet.robots) r.client?.close();
    },
    null,
  );
  const restartAt = n('fault.restartAtMs');
  let backAt = -1;
  world.sched.at(
    restartAt,
    () => {
      hub.gateway.stop();
      hub.transport.proc.kill('restart');
      world.sched.after(
        n('fault.downMs'),
        () => {
          hub = startHub();
          backAt = world.sched.nowMs;
        },
        null,
      );
    },
    null,
  );
  ctx.record([tabFleet, userFleet], n('run.endMs'));
  ctx.runUntil(n('run.endMs'));

  // ---- what happened ----
  const tabErrors = tabFleet.robots.filter((r) => r.errors > 0).length;
  const { count: peak, atMs: peakAt } = busiestWindow(attemptsAt, WINDOW_MS, restartAt);
  const states = countBy(userFleet.robots, (r) => r.client?.state ?? 'not-started');
  const outcomes = prefixed('user:', states);
  const metrics: Record<string, number> = {
    socketsPerTab: n('browser.socketsPerTab'),
    tabPeakPending: tab.peakPending,
    tabInsufficientResources: tab.refused,
    tabSocketsWithErrors: tabErrors,
    users: n('load.connections'),
    hubBackAtMs: backAt,
    attemptsAfterRestart: attemptsAt.filter((t) => t >= restartAt).length,
    peakAttemptsPer100Ms: peak,
    peakAtMs: peakAt,
    usersGaveUp: states['closed'] ?? 0,
    ...prefixed('attempt:', sockets.outcomes),
  };
  const limits: LimitHit[] = [];
  if (tab.refused > 0)
    limits.push({ key: null, limit: `browser: ${tab.pendingMax} pending handshakes per renderer → Insufficient resources`, firstAtMs: 0, count: tab.refused });
  const diagnosis = [
    `One tab opening ${n('browser.socketsPerTab')} WebSockets at once: ${tab.refused} fail in the browser with "Insufficient resources" before any packet leaves (renderer limit ${tab.pendingMax} pending handshakes) — the cause is client-side.`,
    story
      ? 'The hub had no caps, so the remaining handshakes all succeed; nothing protects it from one page opening hundreds of sockets.'
      : `With the per-user cap (${n('story.perUserMax')}) the hub answers the rest with 429 before the upgrade.`,
    `After the restart (${n('fault.downMs') / 1000} s down): ${metrics['attemptsAfterRestart']} handshakes, peak ${peak} in 100 ms at ${(peakAt / 1000).toFixed(1)} s; ` +
      `${metrics['usersGaveUp']} of ${n('load.connections')} users gave up${story ? ` (${n('story.attempts')} attempts without jitter: the crowd retries in lockstep)` : ' (full jitter, no attempt limit)'}.`,
  ];
  return { outcomes, limits, metrics, diagnosis };
}

export const windowsHub = defineScenario({
  name: 'windows-hub',
  story: 'field story windows-hub (docs/lab.md): "Insufficient resources" and reconnect storms',
  defaults: defaults,
  variants: {},
  gateways: ['story', 'ours'],
  claim: {
    reported: 'browsers failed with "WebSocket connection failed: Insufficient resources", then reconnect storms',
    symptomKinds: ['ERR_INSUFFICIENT_RESOURCES'],
    explanation: 'too many connections on the hub (fixed with a cap of 1,000 in total and 5 per user)',
    blamed: ['story.connectionsMax', 'story.perUserMax'],
  },
  eventsMax: 200_000_000,
  run,
});
