// The HTML report (`--html FILE`, sim/report/html.ts) renders its charts in a real browser: a real scenario
// run (docker-nofile-1024, one variant, story and ours side by side) is written by the CLI to a temp file,
// opened in headless Chromium over file://, screenshotted, and its chart elements measured. And the page
// is deterministic: the same run gives the same bytes.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli.js';
import { renderHtml, timelineOf, wrapWords } from '../../sim/report/html.js';
import { mac4500 } from '../../sim/scenarios/mac-4500.js';
import type { RunResult } from '../../sim/scenarios/scenario.js';

const VARIANT = 'node, hard limit 1024 (--ulimit nofile=1024:1024)';

function cli(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(argv, { out: (t) => void (out += t), err: (t) => void (err += t), wallMs: () => 0 });
  return { code, out, err };
}

let dir: string;
let file: string;
let text: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'odin-html-'));
  file = join(dir, 'docker-nofile-1024.html');
  const r = cli(['--scenario', 'docker-nofile-1024', '--variant', VARIANT, '--html', file]);
  expect(r.code).toBe(0);
  text = r.out;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the HTML report in headless Chromium', () => {
  it('--html FILE writes a self-contained page and keeps the text report on stdout', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(text).toMatch(/^VERDICT — docker-nofile-1024\n/); // the text report leads with its verdict (docs/lab.md)
    // Self-contained: no scripts, no external fetches.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('renders the charts: a screenshot, chart elements with size, bars and markers, the diagnosis', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`file://${file}`);
      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);

      // Per card: outcomes and limits, plus a timeline where the run records one (sim/report/timeline.ts).
      const timelines = await page.locator('svg[data-chart="timeline"]').count();
      expect(timelines === 0 || timelines === 2).toBe(true);
      const charts = page.locator('svg.chart');
      expect(await charts.count()).toBe(4 + timelines);
      if (timelines > 0) expect(await page.locator('svg[data-chart="timeline"] path.line').count()).toBeGreaterThanOrEqual(4);
      for (let i = 0; i < (await charts.count()); i++) {
        const box = await charts.nth(i).boundingBox();
        expect(box).not.toBeNull();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(20);
      }
      for (const g of ['story', 'ours']) {
        const outcomes = page.locator(`.card[data-gateway="${g}"] svg[data-chart="outcomes"]`);
        expect(await outcomes.count()).toBe(1);
        expect(await outcomes.locator('rect.bar').count()).toBeGreaterThan(0);
        expect(await outcomes.locator('rect.bar.ok').count()).toBe(1);
        const bar = await outcomes.locator('rect.bar').first().boundingBox();
        expect(bar!.width).toBeGreaterThan(0);
        const limits = page.locator(`.card[data-gateway="${g}"] svg[data-chart="limits"]`);
        expect(await limits.locator('rect.marker').count()).toBeGreaterThan(0);
        // Limit labels keep their words and stay inside their chart (wrapped, placed on the side that fits).
        const chart = await limits.boundingBox();
        const labels = limits.locator('text.limit-label');
        expect(await labels.count()).toBeGreaterThan(0);
        for (let i = 0; i < (await labels.count()); i++) {
          const b = await labels.nth(i).boundingBox();
          expect(b!.x).toBeGreaterThanOrEqual(chart!.x - 0.5);
          expect(b!.x + b!.width).toBeLessThanOrEqual(chart!.x + chart!.width + 0.5);
          expect(await labels.nth(i).textContent()).not.toContain('…');
        }
      }
      // Story and ours side by side on a wide screen.
      const story = await page.locator('.card[data-gateway="story"]').boundingBox();
      const ours = await page.locator('.card[data-gateway="ours"]').boundingBox();
      expect(Math.abs(story!.y - ours!.y)).toBeLessThan(1);
      expect(ours!.x).toBeGreaterThan(story!.x + story!.width - 1);

      const body = await page.locator('body').innerText();
      expect(body).toContain('libuv accepts and closes the pending connection');
      expect(body).toContain('our admission: HTTP 503');
      const diagnosis = await page.locator('ul.diagnosis li').allInnerTexts();
      // 1,024 − 3 stdio − Node's own 15 (measured, NODE.startFds) − the listener.
      expect(diagnosis.some((d) => d.includes('at most 1,005 connections fit'))).toBe(true);
    } finally {
      await page.close();
    }
  });
});

describe('the HTML report is deterministic and charts a timeline when a run has one', () => {
  const run = (): RunResult => mac4500.run({ ...mac4500.defaults }, '7', 'story', 'as given');

  it('same run → identical bytes (no dates, no wall time)', () => {
    const a = renderHtml(mac4500, [run()]);
    const b = renderHtml(mac4500, [run()]);
    expect(a.length).toBeGreaterThan(5_000);
    expect(a === b).toBe(true);
    expect(a).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });

  it('a `timeline` (connected, attempts, failures by kind over virtual time) becomes a line chart', () => {
    const base = run();
    const timeline = [0, 60_000, 120_000, 180_000].map((atMs, i) => ({ atMs, connected: i * 1000, attempts: i * 1200, failures: { EMFILE: i * 50 } }));
    const withTimeline = { ...base, timeline } as unknown as RunResult;
    expect(timelineOf(withTimeline)).toHaveLength(4);
    const html = renderHtml(mac4500, [withTimeline]);
    expect(html).toContain('data-chart="timeline"');
    expect(html.match(/<path class="line /g)?.length).toBe(3); // connected, attempts, EMFILE
  });
});

describe('limit labels wrap instead of being cut', () => {
  it('every line fits the width and the words come back whole, in order', () => {
    const label = '10.180 s · gateway.nofile — accept() → EMFILE (Go sleeps and retries; the connection waits in the kernel queue) ×148';
    const lines = wrapWords(label, 40);
    expect(lines.length).toBeGreaterThanOrEqual(Math.ceil(label.length / 40));
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(lines.join(' ')).toBe(label);
    // A word longer than a line is split over lines, not dropped.
    expect(wrapWords('a'.repeat(25), 10)).toEqual(['a'.repeat(10), 'a'.repeat(10), 'a'.repeat(5)]);
  });
});
