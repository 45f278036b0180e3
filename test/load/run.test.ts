// odin load end to end at tiny N (correctness only, no timing): real worker processes, real sockets, real
// publishing, against odin (startServer) and against the naive hub the benches compare with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNaiveHub, type NaiveHub } from '../../benchmarks/fanout/naive-hub.js';
import { parseLoadArgs, openPublisher } from '../../src/load/cli.js';
import type { Progress } from '../../src/load/progress.js';
import { CommandPublisher, HttpPublisher } from '../../src/load/publishers.js';
import { runLoad, type RunOptions } from '../../src/load/run.js';
import { request, start, type Started } from '../server/server-fixture.js';

const quiet: Progress = { show: () => undefined, log: () => undefined, stop: () => undefined };

function options(url: string, overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    ...parseLoadArgs([
      url,
      '-c',
      '12',
      '--workers',
      '2',
      '--ramp',
      '0',
      '--hold',
      '1',
      '--rate',
      '20',
      '--channels',
      '3',
      '--per-connection',
      '2',
      '--sample',
      '1',
      '--settle',
      '5',
    ]).run,
    tickMs: 200,
    ...overrides,
  };
}

let odin: Started;
let hub: NaiveHub;

beforeAll(async () => {
  odin = await start({ 'log.level': 'silent' });
  hub = await startNaiveHub({ httpPublish: true });
});

afterAll(async () => {
  await odin?.close();
  await hub?.close();
});

describe('odin load', () => {
  it('holds every connection, publishes at the rate, and sees every delivery with its latency (odin)', { timeout: 60_000 }, async () => {
    const o = options(`${odin.wsUrl}?v=1`);
    const publisher = new HttpPublisher({ baseUrl: odin.url, apiKey: null, sockets: 4, inFlightMax: 100, timeoutMs: 5_000 });
    const report = await runLoad(o, { publisher, progress: quiet });
    await publisher.close();
    expect(report.connections).toMatchObject({ attempted: 12, opened: 12, subscribed: 12, heldAtEnd: 12, failures: {}, drops: {} });
    expect(report.settings.workers).toBe(2);
    const hold = report.phases[0]!;
    expect(hold.kind).toBe('steady');
    expect(hold.published.ok).toBe(hold.published.sent);
    expect(hold.published.ok).toBeGreaterThanOrEqual(15);
    // 12 connections × 2 of 3 channels: each channel has 8 subscribers, so every event reaches 8.
    expect(hold.expected).toBe(hold.published.ok * 8);
    expect(hold.delivered).toBe(hold.expected);
    expect(hold.complete).toBe(true);
    // --sample 1: every delivery carries a latency sample.
    expect(report.latency.count).toBe(hold.delivered);
    expect(report.connectLatency.count).toBe(12);
    expect(report.interrupted).toBeNull();
  });

  it('times bursts to the last delivery (naive hub, HTTP publish)', { timeout: 60_000 }, async () => {
    const o = options(hub.url, { bursts: 2, burstEvents: 5, burstGapMs: 100, channels: ['odin.token.load.0'], channelsPerConnection: 1 });
    const publisher = new HttpPublisher({ baseUrl: hub.httpUrl, apiKey: null, sockets: 4, inFlightMax: 100, timeoutMs: 5_000 });
    const report = await runLoad(o, { publisher, progress: quiet });
    await publisher.close();
    expect(report.phases).toHaveLength(2);
    for (const burst of report.phases) {
      expect(burst).toMatchObject({ kind: 'burst', target: 5, expected: 60, delivered: 60, complete: true });
      expect(burst.drainMs).toBeGreaterThan(0);
    }
    expect(report.events.delivered).toBe(120);
  });

  it('publishes through a command that reads one JSON line per event', { timeout: 60_000 }, async () => {
    const script = new URL('./fixtures/line-publisher.mjs', import.meta.url).pathname;
    const publisher = new CommandPublisher(`${JSON.stringify(process.execPath)} ${JSON.stringify(script)} ${odin.url}/publish`, 5_000);
    const report = await runLoad(options(`${odin.wsUrl}?v=1`, { bursts: 1, burstEvents: 4 }), { publisher, progress: quiet });
    await publisher.close();
    expect(report.phases[0]).toMatchObject({ complete: true, delivered: report.phases[0]!.expected });
    expect(report.phases[0]!.expected).toBeGreaterThan(0);
  });

  it('counts refused handshakes by kind instead of failing the run', { timeout: 60_000 }, async () => {
    const strict = await start({ 'log.level': 'silent', 'admission.connectionsMax': '5' });
    try {
      const report = await runLoad(options(`${strict.wsUrl}?v=1`, { ratePerSecond: 0 }), { publisher: null, progress: quiet });
      expect(report.connections.subscribed).toBe(5);
      expect(report.connections.failures).toEqual({ HTTP_503: 7 });
      expect(report.connections.heldAtEnd).toBe(5);
    } finally {
      await strict.close();
    }
  });

  it('reports connections the server drops while held, by close code', { timeout: 60_000 }, async () => {
    const controller = new AbortController();
    const o = options(`${odin.wsUrl}?v=1`, { ratePerSecond: 0, holdMs: 20_000 });
    const running = runLoad(o, { publisher: null, progress: quiet, signal: controller.signal });
    // Once all are held (12 connections × 2 subscriptions, as the server counts them), odin's sessions are
    // closed by draining the server itself; a fresh one serves the tests after this.
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const stats = (await request(odin, 'GET', '/stats')).json as { subscriptions: number };
      if (stats.subscriptions >= 24) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await odin.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    controller.abort('test over');
    const report = await running;
    odin = await start({ 'log.level': 'silent' });
    expect(report.interrupted).toBe('test over');
    expect(report.connections.drops).toEqual({ CLOSE_1001: 12 });
  });

  it('parses the command line: loopback only, one publisher, bounded numbers', () => {
    expect(() => parseLoadArgs(['ws://example.com/ws'])).toThrow(/loopback/);
    expect(() => parseLoadArgs(['http://127.0.0.1/'])).toThrow(/ws:\/\//);
    expect(() => parseLoadArgs(['--nats', 'nats://127.0.0.1:4222', '--publish-cmd', 'cat'])).toThrow(/one of/);
    expect(() => parseLoadArgs(['-c', 'many'])).toThrow(/--connections many/);
    expect(() => parseLoadArgs(['--channels', '1', '--per-connection', '2'])).toThrow(/per-connection/);
    const parsed = parseLoadArgs(['ws://localhost:9/ws?v=1', '-c', '5'], { WS_PUBLISH_API_KEY: 'k'.repeat(16) });
    expect(parsed.run.url).toBe('ws://127.0.0.1:9/ws?v=1');
    expect(parsed.publish).toEqual({ kind: 'http', baseUrl: 'http://127.0.0.1:9', apiKey: 'k'.repeat(16) });
    expect(parseLoadArgs([], { WS_PORT: '8123' }).run.url).toBe('ws://127.0.0.1:8123/ws?v=1');
  });

  it('opens the publisher each flag names', async () => {
    const http = await openPublisher({ kind: 'http', baseUrl: 'http://127.0.0.1:9', apiKey: null }, 1_000);
    expect(http.kind).toBe('http');
    await http.close();
  });
});
