// The benchmark harnesses measure the right thing: each setup does the work it claims (same messages,
// same matches, every frame delivered). Correctness only — no timing assertions here.
import { describe, expect, it } from 'vitest';
import { setup as encodeSetup, validate as validateEncode } from '../../benchmarks/encode.bench.js';
import { runFanout } from '../../benchmarks/fanout.bench.js';
import { appendSetup, readSetup, validate as validateHistory } from '../../benchmarks/history.bench.js';
import { runLatency } from '../../benchmarks/latency.bench.js';
import { setup as matchSetup, validate as validateMatch } from '../../benchmarks/match.bench.js';
import { benches, main } from '../../benchmarks/run.js';
import { runAsCli, schedulerRate } from '../../benchmarks/sim.bench.js';
import { mac4500 } from '../../sim/scenarios/mac-4500.js';
import { framesOf, startRig, validate as validateWritePath } from '../../benchmarks/write-path.bench.js';

describe('bench setups', () => {
  it('encode: both encoders produce the same event for every subscriber, and the core path reaches all', () => {
    const s = encodeSetup(25);
    expect(() => validateEncode(s)).not.toThrow();
    s.gateway();
    expect(s.conns.every((c) => c.frames === s.conns[0]!.frames && c.frames > 1)).toBe(true);
  });

  it('match: the index finds exactly what the linear scan finds', () => {
    const s = matchSetup(2_000);
    expect(() => validateMatch(s)).not.toThrow();
    expect(s.matchesPerPublish).toBeGreaterThan(0);
    expect(s.ours()).toBeTypeOf('number');
  });

  it('history: ring and naive arrays hold and return the same events', () => {
    expect(() => validateHistory()).not.toThrow();
    const a = appendSetup(10, 2_000);
    a.ours();
    a.naive();
    expect(a.history.channelCount).toBe(10);
    for (const n of [10, 100]) {
      const r = readSetup(n);
      const answer = r.history.read(r.channel, r.after);
      expect(answer.covered && answer.records.length).toBe(n);
    }
  });

  it('write-path: every variant delivers every frame, byte-identical, over a real socket', async () => {
    const rig = await startRig();
    try {
      await validateWritePath(rig);
      const frames = framesOf(10);
      for (const variant of ['naive-send', 'preframed', 'send-corked'] as const) {
        for (let i = 0; i < 3; i++) await rig.deliver(variant, frames);
      }
      for (const link of Object.values(rig.links)) {
        expect(link.received).toBe(link.written);
        expect(link.receivedBytes).toBe(link.writtenBytes);
      }
      expect(rig.stalls).toEqual([]);
    } finally {
      await rig.close();
    }
  });

  it('fanout: both servers deliver every event, in order, to every client (tiny N)', { timeout: 60_000 }, async () => {
    const result = await runFanout({
      clients: 4,
      scenarios: [
        { label: 'steady', events: 12, batch: 1 },
        { label: 'burst', events: 12, batch: 6 },
      ],
      rounds: 1,
      warmupRounds: 1,
      padBytes: 8,
      verify: true,
      roundTimeoutMs: 15_000,
    });
    expect(result.rounds).toHaveLength(4);
    for (const round of result.rounds) {
      expect(round.deliveries).toBe(4 * 12);
      expect(round.elapsedNs).toBeGreaterThan(0);
      expect(round.cpuUs).toBeGreaterThan(0);
    }
    expect(Object.keys(result.summary)).toEqual(['steady', 'burst']);
    expect(Object.keys(result.memory).sort()).toEqual(['naive', 'odin']);
  });

  it('latency: both servers (embedded, JetStream) deliver every event to every client, one sample each', async () => {
    const result = await runLatency({ clients: 3, events: 20, block: 5, ratePerSec: 500, padBytes: 8, timeoutMs: 10_000 });
    expect(result.missing).toEqual({ embedded: 0, jetstream: 0 });
    for (const samples of Object.values(result.samples)) {
      expect(samples).toHaveLength(60);
      expect(samples.every((ns) => ns > 0)).toBe(true);
    }
  });

  it('sim: the scheduler loop runs exactly its events; the scenario runner runs what the CLI runs', () => {
    const r = schedulerRate(100, 5_000);
    expect(r.events).toBe(5_000);
    const results = runAsCli(mac4500, '1', ['story']);
    expect(results.map((x) => x.variant)).toEqual(['as given', ...Object.keys(mac4500.variants)]);
    expect(results.every((x) => x.events > 0)).toBe(true);
  });
});

describe('bench runner', () => {
  it('exports main(argv) as `odin bench` expects, and knows every bench by name', async () => {
    expect(benches.map((b) => b.name)).toEqual([
      'encode',
      'match',
      'history',
      'retained-memory',
      'write-path',
      'worst-request',
      'fanout',
      'latency',
      'sim',
      'memory-idle',
      'burst',
      'fanout-10k',
      'feed-2k',
      'held',
    ]);
    expect(await main(['--list'])).toBe(0);
    expect(await main(['no-such-bench'])).toBe(64);
    expect(await main(['burst', '--odin-set'])).toBe(64);
    expect(await main(['burst', '--odin-set', 'not-a-setting'])).toBe(64);
  });
});
