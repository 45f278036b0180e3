// (c) The history ring: History.append and History.read vs a naive per-channel array with shift().
//
// Append: 1,000 channels in rotation, 100 events kept per channel, one event every 0.1 ms of virtual time
// (10k events/s, so the 30 s age bound holds 300k records) — measured in steady state, after warm-up
// filled every ring and the age queue. Ours also enforces the byte and age bounds and records what it
// evicted (the exact-resume proof); the baseline bounds by count only.
// Read: the suffix after an offset (10 or 100 events of a full 100-event ring), as a resume does.
import { encodeEvent } from '../src/core/codec.js';
import { History, type EventRecord } from '../src/core/history.js';
import type { Frame } from '../src/core/ports.js';
import { check, comparisonTable, machine, runPairs, type BenchModule, type BenchReport, type PairSpec, type RunOptions } from './lib/report.js';

const EVENTS_MAX = 100;
// No global byte bound: the naive baseline has none either (the per-channel bounds do the work here).
const LIMITS = { eventsMax: EVENTS_MAX, bytesMax: 1024 * 1024, ageMs: 30_000, totalBytesMax: Number.MAX_SAFE_INTEGER };
const STEP_MS = 0.1;

interface NaiveRecord {
  readonly channel: string;
  readonly offset: number;
  readonly prev: number;
  readonly frame: Frame;
  readonly atMs: number;
}

/** The baseline: one array per channel, push and shift() past the count bound, filter to read. */
export class NaiveHistory {
  readonly channels = new Map<string, NaiveRecord[]>();

  append(record: NaiveRecord): void {
    let list = this.channels.get(record.channel);
    if (list === undefined) this.channels.set(record.channel, (list = []));
    list.push(record);
    if (list.length > EVENTS_MAX) list.shift();
  }

  read(channel: string, after: number): NaiveRecord[] {
    return (this.channels.get(channel) ?? []).filter((r) => r.offset > after);
  }
}

export interface AppendSetup {
  readonly channels: number;
  naive(): void;
  ours(): void;
  readonly history: History;
  readonly naiveHistory: NaiveHistory;
}

function channelNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `odin.token.T${i}.trade`);
}

const sharedFrame = encodeEvent({ channel: 'odin.token.T0.trade', offset: 1, prev: 0, data: '{"price":1.25,"size":100,"side":"buy"}' });

export function appendSetup(channelCount: number, warmEvents: number): AppendSetup {
  const names = channelNames(channelCount);
  const history = new History(LIMITS);
  const naiveHistory = new NaiveHistory();
  const last = new Map<string, number>();
  let oursOffset = 0;
  let oursNow = 0;
  let naiveOffset = 0;
  let naiveNow = 0;
  const ours = (): void => {
    const channel = names[oursOffset % channelCount]!;
    const offset = ++oursOffset;
    oursNow += STEP_MS;
    history.append({ channel, offset, prev: offset > channelCount ? offset - channelCount : 0, data: '' }, sharedFrame, oursNow);
  };
  const naive = (): void => {
    const channel = names[naiveOffset % channelCount]!;
    const offset = ++naiveOffset;
    naiveNow += STEP_MS;
    naiveHistory.append({ channel, offset, prev: last.get(channel) ?? 0, frame: sharedFrame, atMs: naiveNow });
    last.set(channel, offset);
  };
  for (let i = 0; i < warmEvents; i++) {
    ours();
    naive();
  }
  return { channels: channelCount, naive, ours, history, naiveHistory };
}

export interface ReadSetup {
  readonly suffix: number;
  naive(): unknown;
  ours(): unknown;
}

/** One channel among 8 (interleaved offsets), its ring full; reads return the last `suffix` events. */
export function readSetup(suffix: number): ReadSetup & {
  readonly expected: readonly number[];
  readonly channel: string;
  readonly history: History;
  readonly naiveHistory: NaiveHistory;
  readonly after: number;
} {
  const names = channelNames(8);
  const history = new History(LIMITS);
  const naiveHistory = new NaiveHistory();
  const prevs = new Map<string, number>();
  for (let offset = 1; offset <= 8 * 3 * EVENTS_MAX; offset++) {
    const channel = names[offset % 8]!;
    const prev = prevs.get(channel) ?? 0;
    history.append({ channel, offset, prev, data: '' }, sharedFrame, offset * STEP_MS);
    naiveHistory.append({ channel, offset, prev, frame: sharedFrame, atMs: offset * STEP_MS });
    prevs.set(channel, offset);
  }
  const channel = names[3]!;
  const all = naiveHistory.channels.get(channel)!;
  const after = all[all.length - suffix]!.offset - 1;
  const expected = all.slice(all.length - suffix).map((r) => r.offset);
  let sink = 0;
  return {
    suffix,
    channel,
    history,
    naiveHistory,
    after,
    expected,
    naive() {
      sink += naiveHistory.read(channel, after).length;
      return sink;
    },
    ours() {
      const answer = history.read(channel, after);
      sink += answer.covered ? answer.records.length : -1;
      return sink;
    },
  };
}

export function validate(): void {
  const a = appendSetup(50, 20_000);
  for (let i = 0; i < 1_000; i++) {
    a.ours();
    a.naive();
  }
  const answer = a.history.read('odin.token.T7.trade', 0);
  check(!answer.covered, 'a ring that evicted events must refuse a read from offset 0');
  const tail = a.naiveHistory.channels.get('odin.token.T7.trade')!;
  check(tail.length === EVENTS_MAX, `naive keeps ${EVENTS_MAX} events per channel, has ${tail.length}`);
  const suffix = a.history.read('odin.token.T7.trade', tail[0]!.offset - 1);
  check(suffix.covered && suffix.records.length === EVENTS_MAX, `ring holds the same ${EVENTS_MAX} events as the naive array`);
  check(suffix.covered && suffix.records.every((r: EventRecord, i) => r.offset === tail[i]!.offset), 'ring and naive array agree on offsets');
  for (const n of [10, 100]) {
    const r = readSetup(n);
    const ours = r.history.read(r.channel, r.after);
    check(ours.covered && ours.records.map((x) => x.offset).join() === r.expected.join(), `ring read of the last ${n} events`);
    check(
      r.naiveHistory
        .read(r.channel, r.after)
        .map((x) => x.offset)
        .join() === r.expected.join(),
      `naive read of the last ${n} events`,
    );
  }
}

export const bench: BenchModule = {
  name: 'history',
  title: 'History ring: append and suffix read vs naive per-channel arrays',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    validate();
    const pairs: PairSpec[] = [];
    const channelCounts = options.quick ? [100] : [1_000];
    for (const channels of channelCounts) {
      // Warm-up: every ring full and the age queue at its steady size (30 s of 0.1 ms steps).
      const a = appendSetup(channels, options.quick ? 10_000 : 320_000);
      pairs.push({
        label: `append, ${channels} channels`,
        itemsPerIteration: 1,
        itemName: 'event',
        baseline: { name: 'naive: push + shift()', fn: a.naive },
        ours: { name: 'odin: History.append', fn: a.ours },
      });
    }
    for (const suffix of [10, 100]) {
      const r = readSetup(suffix);
      pairs.push({
        label: `read last ${suffix}`,
        itemsPerIteration: suffix,
        itemName: 'event',
        baseline: { name: 'naive: array.filter', fn: r.naive },
        ours: { name: 'odin: History.read', fn: r.ours },
      });
    }
    const comparisons = await runPairs(pairs, options);
    options.print(comparisonTable(comparisons));
    return {
      name: 'history',
      title: this.title,
      baselineIs: 'Map<channel, array>: push, shift() past 100 events; read = array.filter(offset > after)',
      oursIs:
        'History: per-channel ring (head index, compaction) bounded by count, bytes and age, plus the global age queue; read = binary search + slice, with the coverage proof',
      machine: machine(),
      comparisons,
      notes: [
        'ours does more work per append than the baseline (byte and age bounds, eviction bookkeeping for exact resume); the baseline is a floor, not an equivalent',
        'the append loop advances virtual time 0.1 ms per event, so age eviction runs in steady state',
      ],
      durationMs: Math.round(performance.now() - started),
    };
  },
};
