// (h) What history really costs in memory, against the figures the byte bounds count (src/core/history.ts
// RECORD_OVERHEAD_BYTES and RING_BYTES, src/adapters/broker-memory.ts EVENT_OVERHEAD_BYTES and
// CHANNEL_OVERHEAD_BYTES). The memory budget reserves history.totalBytesMax + broker.bytesMax for history,
// so those bounds are only honest if the per-item figures are at least what the runtime spends.
//
// Each case fills a fresh store with N small items, forces GC before and after, and divides the growth of
// heap + external memory by N (payload bytes subtracted). Not a mitata pair: memory has no baseline to
// race; the report says whether each accounted figure covers the measured one.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CHANNEL_OVERHEAD_BYTES, EVENT_OVERHEAD_BYTES, MemoryBroker } from '../src/adapters/broker-memory.js';
import { encodeEvent } from '../src/core/codec.js';
import { History, RECORD_OVERHEAD_BYTES, RING_BYTES } from '../src/core/history.js';
import { SimClock } from '../sim/adapters/clock-sim.js';
import { seeded } from './lib/fakes.js';
import { machine, round, type BenchModule, type BenchReport, type RunOptions } from './lib/report.js';

const DATA = '{"p":1}';

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap + external bytes retained by what `build` returns, per item. */
function perItem(gc: () => void, items: number, build: () => unknown): number {
  gc();
  gc();
  const before = process.memoryUsage();
  const kept = build();
  gc();
  gc();
  const after = process.memoryUsage();
  if (kept === undefined) throw new Error('nothing kept');
  return (after.heapUsed - before.heapUsed + (after.external - before.external)) / items;
}

export interface MemoryFigure {
  readonly name: string;
  readonly measuredBytes: number;
  readonly accountedBytes: number;
  readonly covered: boolean;
}

export function measureRetained(items: number): MemoryFigure[] {
  const gc = collector();
  const limitless = { eventsMax: 1e12, bytesMax: 1e15, ageMs: 1e15, totalBytesMax: 1e15 };
  // History: 100 records in each of items/100 rings.
  const rings = items / 100;
  const record = perItem(gc, items, () => {
    const h = new History(limitless);
    for (let i = 1; i <= items; i++) {
      const channel = `odin.token.T${i % rings}.trade`;
      const event = { channel, offset: i, prev: i > rings ? i - rings : 0, data: DATA };
      h.append(event, encodeEvent(event), 0);
    }
    return h;
  });
  const frameBytes = encodeEvent({ channel: 'odin.token.T1.trade', offset: items, prev: items, data: DATA }).bytes.byteLength;
  // One record per ring: the ring's own cost on top of one record.
  const ringAndRecord = perItem(gc, items, () => {
    const h = new History(limitless);
    for (let i = 1; i <= items; i++) {
      const event = { channel: `odin.token.T${i}.trade`, offset: i, prev: 0, data: DATA };
      h.append(event, encodeEvent(event), 0);
    }
    return h;
  });
  const clock = new SimClock();
  const brokerEvent = perItem(gc, items, () => {
    const b = new MemoryBroker(clock, seeded(1), limitless);
    for (let i = 1; i <= items; i++) b.publish(`odin.token.T${i % 100}.trade`, DATA.slice(0), () => undefined);
    return b;
  });
  const brokerChannel = perItem(gc, items, () => {
    const b = new MemoryBroker(clock, seeded(1), limitless);
    for (let i = 1; i <= items; i++) b.publish(`odin.token.T${i}.trade`, DATA.slice(0), () => undefined);
    return b;
  });
  const figure = (name: string, measuredBytes: number, accountedBytes: number): MemoryFigure => ({
    name,
    measuredBytes: round(measuredBytes, 1),
    accountedBytes,
    covered: accountedBytes >= measuredBytes * 0.9,
  });
  return [
    figure('history record (beyond its frame)', record - frameBytes, RECORD_OVERHEAD_BYTES),
    figure('history ring', ringAndRecord - record, RING_BYTES),
    figure('broker event (beyond its data)', brokerEvent - DATA.length, EVENT_OVERHEAD_BYTES),
    figure('broker channel', brokerChannel - brokerEvent, CHANNEL_OVERHEAD_BYTES),
  ];
}

export const bench: BenchModule = {
  name: 'retained-memory',
  title: 'bytes per history record, ring, broker event and broker channel: measured vs accounted',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const figures = measureRetained(options.quick ? 20_000 : 200_000);
    for (const f of figures) {
      options.print(
        `${f.name.padEnd(36)} measured ${String(f.measuredBytes).padStart(7)} B   accounted ${String(f.accountedBytes).padStart(5)} B   ${f.covered ? 'covered' : 'UNDER-COUNTED'}`,
      );
    }
    return {
      name: 'retained-memory',
      title: this.title,
      baselineIs: 'the per-item figures the byte bounds count',
      oursIs: 'heap + external growth per item after GC',
      machine: machine(),
      comparisons: [],
      extra: {
        figures,
        summary: figures.map((f) => `${f.name}: measured ${f.measuredBytes} B, accounted ${f.accountedBytes} B — ${f.covered ? 'covered' : 'UNDER-COUNTED'}`),
      },
      notes: ['covered: the accounted figure is at least 90 % of the measured one (GC timing moves a few per cent)'],
      durationMs: performance.now() - started,
    };
  },
};
