// A React application built with Vite from the packages as an application uses them (imported by name,
// resolved through node_modules to the packages' built `exports`), in Debian's Chromium against the real
// server: it renders live events, unmounting unsubscribes and mounting again resubscribes, a new channel
// name moves the subscription, and a server restart shows the connection state and the reset.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from '../e2e/support.js';
import { launchChromium, repoRoot, screenshot, staticSite, subscriptionsOf, until, type StaticSite } from './support.js';

const A = 'odin.token.ABC.trade';
const B = 'odin.token.XYZ.trade';

let out: string;
let site: StaticSite;
let browser: Browser;
let page: Page;
let gateway: RunningServer;
let buildMs = 0;
/** Every module Vite loaded into the app. */
const loaded: string[] = [];

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'odin-react-app-'));
  const started = Date.now();
  await build({
    root: join(repoRoot, 'test', 'browser', 'react-app'),
    configFile: false,
    logLevel: 'silent',
    base: './',
    build: { outDir: out, emptyOutDir: true },
    plugins: [{ name: 'record-loaded', load: (id: string) => void loaded.push(id) }],
  });
  buildMs = Date.now() - started;
  site = await staticSite(out);
  browser = await launchChromium();
  gateway = await serve({ 'gateway.drainRetryJitterMs': 50, 'gateway.drainTimeoutMs': 1_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await gateway?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

const text = (id: string): Promise<string> => page.getByTestId(id).innerText();
/** The rendered events as "offset: price". */
const renderedEvents = async (): Promise<string[]> => page.getByTestId('event').allInnerTexts();
/** Just the prices: offsets are positions in the broker's stream, shared by every channel. */
const renderedPrices = async (): Promise<number[]> => (await renderedEvents()).map((line) => Number(line.split(': ')[1]));

describe('a React app built with Vite from the packages', () => {
  it('is built from the packages as installed: their dist/ through node_modules, not the sources', () => {
    process.stdout.write(`[react-app] vite build took ${buildMs} ms\n`);
    const ours = loaded.filter((id) => id.startsWith(repoRoot) && !id.includes('/test/browser/react-app/')).map((id) => id.slice(repoRoot.length));
    expect(ours).toEqual(expect.arrayContaining(['packages/react/dist/index.js', 'packages/client/dist/browser.js']));
    expect(ours.filter((id) => id.startsWith('src/') || id.startsWith('packages/react/src/'))).toEqual([]);
  });

  it('renders live events, follows mounts and channel changes, and shows a restart as state and reset', async () => {
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${site.url}/index.html?ws=${encodeURIComponent(gateway.wsUrl)}&channel=${A}&other=${B}`);
    await until(async () => (await subscriptionsOf(gateway.url)) === 1, `one subscription (page errors: ${errors.join(' | ') || 'none'})`);
    expect(await text('state')).toBe('open');

    for (let price = 1; price <= 3; price++) await publish(gateway, A, { price });
    await until(async () => (await renderedEvents()).length === 3, 'three events rendered');
    expect(await renderedEvents()).toEqual(['1: 1', '2: 2', '3: 3']);
    await screenshot(page, 'react-live-events');

    // Unmounting the feed unsubscribes; mounting it again subscribes again (from scratch: a new view).
    await page.getByTestId('toggle').click();
    await until(async () => (await subscriptionsOf(gateway.url)) === 0, 'the unsubscribe on unmount');
    await page.getByTestId('toggle').click();
    await until(async () => (await subscriptionsOf(gateway.url)) === 1, 'the subscribe on mount');
    await publish(gateway, A, { price: 4 });
    await until(async () => (await renderedPrices()).join() === '4', 'the event after remounting');
    expect(await renderedEvents()).toEqual(['4: 4']);

    // A new channel name moves the subscription: still one, now on B.
    await page.getByTestId('switch').click();
    await until(async () => (await text('channel')) === B, 'the switch');
    await publish(gateway, B, { price: 10 });
    await until(async () => (await renderedPrices()).join() === '10', 'B’s first event');
    expect(await subscriptionsOf(gateway.url)).toBe(1);
    await publish(gateway, A, { price: 5 }); // A is no longer subscribed: nothing new shows
    await publish(gateway, B, { price: 11 });
    await until(async () => (await renderedPrices()).length === 2, 'B’s second event');
    expect(await renderedPrices()).toEqual([10, 11]);

    // The embedded broker restarts as a new timeline: reconnecting, then open, then the reset.
    const port = gateway.port;
    await gateway.close();
    gateway = await serve({ 'server.port': port, 'gateway.drainRetryJitterMs': 50 });
    await until(async () => (await page.getByTestId('reset').count()) === 1, 'the reset notice', 10_000);
    expect(await text('reset')).toBe('reset: epoch_changed (reload from the backend)');
    expect(await text('state')).toBe('open');
    expect(await text('states')).toMatch(/^(idle → )?connecting → open → reconnecting → open$/);
    expect(await renderedEvents()).toEqual([]); // the old timeline's events are gone from the view
    await publish(gateway, B, { price: 12 });
    await until(async () => (await renderedEvents()).join() === '1: 12', 'the first event after the restart (offset 1: a new stream)');
    expect(await text('received')).toBe('3');
    await screenshot(page, 'react-after-restart');
    expect(errors).toEqual([]);
  });
});
