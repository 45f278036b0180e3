// Async interleavings at the replay–live seam (fc.scheduler): history answers arrive late and in any
// order, publishes land while replays load, subscribe replies race publishes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../src/adapters/broker-memory.js';
import type { BrokerSink, HistoryRequest, HistoryResult } from '../src/core/ports.js';
import { seamProperty, seamRun, seamScenarios } from './laws/seam.js';
import { System, realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('the replay–live seam under scheduled interleavings (I1–I4)', () => {
  it('delivers the exact suffix, then live events, once each, whatever the interleaving', async () => {
    await fc.assert(seamProperty(realCore), runs(150));
  });

  it('generates interleavings where events arrive while a replay is loading', async () => {
    // Guards the generator: without held events and overflow the property above would not test the seam.
    let held = 0;
    let overflowGaps = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), seamScenarios, async (s, scenario) => {
        const run = seamRun(realCore, s);
        await run.play(s, scenario);
        const t = run.real.sys.telemetry.counts;
        held += t.get('odin_resumes_total{"outcome":"recovered","source":"broker"}') ?? 0;
        overflowGaps += t.get('odin_gaps_total{"reason":"too_many"}') ?? 0;
      }),
      { numRuns: 100, seed: 3 },
    );
    expect(held).toBeGreaterThan(20);
    expect(overflowGaps).toBeGreaterThan(0);
  });
});

describe('regression: an overflow while a pattern replay loads names every channel it cuts', () => {
  it('sends a too_many gap for each channel with held events, not only the first one', () => {
    // Found by the seam property: with `p.>` resuming from the broker and more than replayEventsMax live
    // events arriving meanwhile on p.x and p.y, only p.x got a gap notice; p.y's events vanished silently.
    let answer: (() => void) | null = null;
    const variant = {
      wrapBroker: (inner: MemoryBroker) => ({
        epoch: () => inner.epoch(),
        start: (sink: BrokerSink) => inner.start(sink),
        stop: () => inner.stop(),
        publish: inner.publish.bind(inner),
        readHistory: (req: HistoryRequest, done: (r: HistoryResult) => void) => void (answer = () => inner.readHistory(req, done)),
      }),
    };
    const sys = new System(variant, { options: { replayEventsMax: 2 } });
    sys.publish([{ channel: 'p.x', data: '0' }]);
    const link = sys.connect({ ip: 'x', userId: null })!;
    sys.send(link, { type: 'subscribe', id: 1, channels: ['p.>'], since: { 'p.>': { epoch: sys.memory.epoch(), offset: 0 } } });
    sys.publish(['p.x', 'p.x', 'p.y', 'p.y'].map((channel) => ({ channel, data: '1' })));
    answer!();
    sys.settle();
    const gaps = link.conn.ofType('gap');
    expect(gaps.map((g) => [g.ch, g.from, g.to])).toEqual([
      ['p.x', 2, 5],
      ['p.y', 4, 5],
    ]);
  });
});
