// The client's ready browser bundles (packages/client/dist, as built) in Debian's Chromium against the real
// server: subscribe, receive, the server restarts, the client reconnects with jitter and resumes. On the
// embedded broker a restart is a new timeline, so the client is told (onReset, epoch_changed); on
// NATS JetStream the stream outlives the gateway, so the resume is recovered:true and nothing is lost.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from '../e2e/support.js';
import { namespace, plainClient, serveOnNats, type PlainClient } from '../nats/support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { ESM_PAGE, GLOBAL_PAGE, type Feed } from './feed-page.js';
import { CLIENT_DIST, launchChromium, screenshot, staticSite, type StaticSite } from './support.js';

const A = 'odin.token.ABC.trade';
/** A short reconnect hint on drain, so the restart tests do not wait the default spread. */
const QUICK_DRAIN = { 'gateway.drainRetryJitterMs': 50, 'gateway.drainTimeoutMs': 1_000 };

let browser: Browser;
let site: StaticSite;
let page: Page | undefined;
const gateways: RunningServer[] = [];

beforeAll(async () => {
  site = await staticSite(CLIENT_DIST, { '/global.html': GLOBAL_PAGE, '/esm.html': ESM_PAGE });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
});

afterEach(async () => {
  await page?.close();
  page = undefined;
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

// The functions run in the page, applied to its window.feed (they are sent as source text).
const feed = <T>(read: (feed: Feed) => T): Promise<T> => page!.evaluate(`(${read.toString()})(window.feed)`) as Promise<T>;
async function waitFeed(predicate: (feed: Feed) => boolean, timeoutMs = 10_000): Promise<void> {
  await page!.waitForFunction(`(${predicate.toString()})(window.feed)`, undefined, { timeout: timeoutMs, polling: 25 });
}

async function open(path: string, gateway: RunningServer, channel: string): Promise<void> {
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${site.url}${path}?ws=${encodeURIComponent(gateway.wsUrl)}&channel=${encodeURIComponent(channel)}`);
  await waitFeed((f) => f.subscribed.length === 1).catch((error: Error) => {
    throw new Error(`${error.message}; page errors: ${errors.join(' | ') || 'none'}`);
  });
}

describe('the built browser bundles', () => {
  it('import nothing: no Node module, no ws, nothing left for the page to resolve', () => {
    for (const file of ['browser.js', 'odin-client.esm.js', 'odin-client.global.js']) {
      const text = readFileSync(join(CLIENT_DIST, file), 'utf8');
      expect(text, file).not.toMatch(/\bimport\s*(?:[\w{}*\s,]+from\s*)?["'][^"']+["']|\brequire\(|\bimport\(/);
      expect(text, file).not.toContain('ws does not work in the browser');
      expect(text, file).toMatch(/\/\/# sourceMappingURL=[\w.-]+\.map\s*$/);
    }
    const map = JSON.parse(readFileSync(join(CLIENT_DIST, 'odin-client.global.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sources.some((s) => s.endsWith('src/client/client.ts'))).toBe(true);
    expect(map.sources.filter((s) => s.includes('node_modules') || s.endsWith('socket-node.ts'))).toEqual([]);
    expect(map.sourcesContent?.length).toBe(map.sources.length);
  });

  it('embedded broker (script-tag bundle): receives, and after a restart reconnects with jitter and is told of the reset', async () => {
    const first = await serve(QUICK_DRAIN);
    gateways.push(first);
    await open('/global.html', first, A);
    for (let i = 1; i <= 3; i++) await publish(first, A, { price: i });
    await waitFeed((f) => f.events.length === 3);
    const before = await feed((f) => ({ epoch: f.subscribed[0]!.channels['odin.token.ABC.trade']!.epoch, draws: f.draws.length }));

    await first.close();
    gateways.splice(0);
    const second = await serve({ ...QUICK_DRAIN, 'server.port': first.port });
    gateways.push(second);
    await waitFeed((f) => f.resets.length === 1 && f.states[f.states.length - 1] === 'open');
    await publish(second, A, { price: 4 });
    await waitFeed((f) => f.events.length === 4);
    await screenshot(page!, 'bundle-global-embedded-restart');

    const after = await feed((f) => ({
      subscribed: f.subscribed.map((s) => s.channels['odin.token.ABC.trade']),
      events: f.events,
      resets: f.resets,
      gaps: f.gaps,
      states: f.states,
      draws: f.draws.length,
      reconnects: f.client.counters.reconnects,
      position: f.client.position('odin.token.ABC.trade'),
    }));
    // The resume on the wire: the client sent its position, the new timeline could not honour it.
    expect(after.subscribed).toHaveLength(2);
    expect(after.subscribed[1]).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    expect(after.subscribed[1]!.epoch).not.toBe(before.epoch);
    expect(after.resets).toEqual([[A, 'epoch_changed']]);
    expect(after.gaps).toEqual([]);
    expect(after.events.map((e) => e.data)).toEqual([{ price: 1 }, { price: 2 }, { price: 3 }, { price: 4 }]);
    expect(after.events.map((e) => e.offset)).toEqual([1, 2, 3, 1]); // the new timeline starts again
    expect(after.position).toEqual({ epoch: after.subscribed[1]!.epoch, offset: 1 });
    expect(after.states.slice(0, 2)).toEqual(['connecting', 'open']);
    expect(after.states).toContain('reconnecting');
    expect(after.reconnects).toBeGreaterThanOrEqual(1);
    // Each reconnect delay drew a random number: full jitter on top of the server's hint.
    expect(after.draws).toBeGreaterThan(before.draws);
  });

  describe('on NATS JetStream', () => {
    let nats: NatsServer;
    let backend: PlainClient;

    beforeAll(async () => {
      nats = await startNats();
      backend = await plainClient(nats);
    }, 60_000);
    afterAll(async () => {
      await backend?.close();
      await nats?.close();
    });

    it('ESM bundle: after a gateway restart the client resumes with recovered:true and nothing is lost', async () => {
      const ns = namespace();
      const channel = `${ns.prefix}.token.ABC.trade`;
      const first = await serveOnNats(nats, ns, QUICK_DRAIN);
      gateways.push(first);
      await open('/esm.html', first, channel);
      for (let i = 1; i <= 5; i++) await backend.js.publish(channel, JSON.stringify({ n: i }));
      await waitFeed((f) => f.events.length === 5);

      await first.close();
      gateways.splice(0);
      for (let i = 6; i <= 8; i++) await backend.js.publish(channel, JSON.stringify({ n: i })); // no gateway runs
      const second = await serveOnNats(nats, ns, { ...QUICK_DRAIN, 'server.port': first.port });
      gateways.push(second);
      await waitFeed((f) => f.events.length === 8, 15_000);
      await backend.js.publish(channel, JSON.stringify({ n: 9 }));
      await waitFeed((f) => f.events.length === 9);
      await screenshot(page!, 'bundle-esm-nats-restart');

      const after = await feed((f) => ({
        subscribed: f.subscribed.map((s) => Object.values(s.channels)[0]),
        offsets: f.events.map((e) => e.offset),
        data: f.events.map((e) => e.data),
        resets: f.resets,
        gaps: f.gaps,
        states: f.states,
        reconnects: f.client.counters.reconnects,
      }));
      expect(after.subscribed).toHaveLength(2);
      expect(after.subscribed[1]).toMatchObject({ epoch: after.subscribed[0]!.epoch, recovered: true, replayed: 3 });
      expect(after.offsets).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(after.data).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ n })));
      expect([after.resets, after.gaps]).toEqual([[], []]);
      expect(after.states).toContain('reconnecting');
      expect(after.reconnects).toBeGreaterThanOrEqual(1);
    });
  });
});
