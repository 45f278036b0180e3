// "Works in browsers", checked in one: the browser entry is bundled with esbuild (proving it pulls in no
// Node module) and runs in headless Chromium against the real server on loopback.
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from '../e2e/support.js';

/** What the test page holds: the bundle's global and what the test put there. */
interface Page {
  Odin: { connect(url: string): PageClient };
  client: PageClient;
  received: unknown[];
}
interface PageClient {
  subscribe(channel: string, handlers: { onEvent(data: unknown): void }): void;
  position(channel: string): unknown;
}

let gateway: RunningServer;
let page: Server;
let browser: Browser;
let pageUrl: string;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL('../../src/client/browser.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    globalName: 'Odin',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  gateway = await serve();
  page = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>odin</title><script>${script}</script>`);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  page?.close();
  await gateway?.close();
});

describe('the client in a real browser', () => {
  it('bundles for the browser without any Node module', async () => {
    const result = await build({
      entryPoints: [new URL('../../src/client/browser.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/ws/'))).toBe(false);
    expect(inputs.some((path) => path.endsWith('socket-node.ts'))).toBe(false);
  });

  it('subscribes, receives published events in order, and tracks the position', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageUrl);
    await tab.evaluate((wsUrl) => {
      const page = window as unknown as Page;
      page.received = [];
      page.client = page.Odin.connect(wsUrl);
      page.client.subscribe('odin.token.ABC.trade', { onEvent: (data: unknown) => page.received.push(data) });
    }, gateway.wsUrl);
    await tab.waitForFunction(() => (window as unknown as Page).client.position('odin.token.ABC.trade') !== undefined);
    for (let i = 0; i < 3; i++) await publish(gateway, 'odin.token.ABC.trade', { price: i });
    await tab.waitForFunction(() => (window as unknown as Page).received.length === 3);
    expect(await tab.evaluate(() => (window as unknown as Page).received)).toEqual([{ price: 0 }, { price: 1 }, { price: 2 }]);
    await tab.close();
  });
});
