// Sustained fan-out within a latency bound: the highest publish rate each server keeps up with — every
// event to every subscriber, p99 publish→deliver ≤ 200 ms, the publisher never backed up, no connection
// lost — found by search (double until a trial fails, then bisect), then confirmed by repeated trials at
// that rate, alternating between the servers. Two shapes:
//   fanout-10k  one channel × 10,000 subscribers: few events, each to many sockets (kernel-bound: one
//               write per socket per event, or per turn when events coalesce)
//   feed-2k     one channel × 2,000 subscribers, as many events per second as sustainable (a market feed)
// Both servers are up at once with their own subscribers; the other is idle while one is measured.
import type { BenchModule, BenchReport, RunOptions } from '../lib/report.js';
import { steadyPhase, type PhaseResult, type Sequence } from '../../src/load/phases.js';
import type { HttpPublisher } from '../../src/load/publishers.js';
import type { LoadSession, Marks } from '../../src/load/session.js';
import { e2eReport, isE2e, measuredLine, n, ratio, startClock, table } from './e2e-report.js';
import { connectSet, median, publisherFor, round, searchRate, sleep, verdict, type SearchOptions, type Trial } from './rig.js';
import { startNaive, startOdin, type ServerKind, type ServerProcess } from './servers.js';

export interface SustainedOptions {
  readonly subscribers: number;
  readonly trialMs: number;
  readonly settleMs: number;
  readonly warmupMs: number;
  readonly search: SearchOptions;
  readonly confirmRuns: number;
  readonly sizeBytes: number;
  readonly gapMs: number;
}

export interface Confirmation {
  readonly server: ServerKind;
  readonly rate: number;
  readonly runs: readonly Trial[];
  readonly passes: number;
  readonly deliveriesPerSecondMedian: number;
  readonly p50MsMedian: number;
  readonly p99MsMedian: number;
}

export interface SustainedFigures {
  readonly search: Readonly<Record<ServerKind, { readonly best: Trial | null; readonly trials: readonly Trial[] }>>;
  readonly confirmed: Readonly<Record<ServerKind, Confirmation | null>>;
  /** odin at the naive hub's sustainable rate: the same work, compared by latency. */
  readonly odinAtNaiveRate: Confirmation | null;
  /** odin's sustained deliveries/s over the naive hub's (medians of the confirmations). */
  readonly throughputRatio: number | null;
  /** Connections still open at the end (fewer than subscribers: a trial lost some, e.g. slow-consumer closes). */
  readonly openAtEnd: Readonly<Record<ServerKind, number>>;
}

const CHANNELS = ['odin.token.bench.0'];
const QUIESCE_MAX_MS = 30_000;

/** Waits (bounded) until no event has arrived for half a second. */
async function quiesce(session: LoadSession, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = sumEvents(await session.mark());
  while (performance.now() < deadline) {
    await sleep(500);
    const now = sumEvents(await session.mark());
    if (now === last) return;
    last = now;
  }
}

const sumEvents = (marks: Marks): number => marks.reduce((sum, m) => sum + m.counts.events, 0);

export async function runSustained(o: SustainedOptions, odinSet: readonly string[], log: (line: string) => void): Promise<SustainedFigures> {
  const servers: Partial<Record<ServerKind, ServerProcess>> = {};
  const sessions: Partial<Record<ServerKind, LoadSession>> = {};
  const publishers: Partial<Record<ServerKind, HttpPublisher>> = {};
  const seq: Sequence = { next: 0 };
  try {
    servers.odin = await startOdin({ settings: odinSet });
    servers.naive = await startNaive();
    for (const kind of ['odin', 'naive'] as const) {
      sessions[kind] = await connectSet(servers[kind]!, { connections: o.subscribers });
      publishers[kind] = publisherFor(servers[kind]!);
    }
    const trial = async (kind: ServerKind, rate: number, durationMs = o.trialMs): Promise<PhaseResult> => {
      const r = await steadyPhase(
        sessions[kind]!,
        publishers[kind]!,
        CHANNELS,
        { ratePerSecond: rate, durationMs, sizeBytes: o.sizeBytes, settleMs: o.settleMs, publishTimeoutMs: 10_000 },
        seq,
      );
      // A trial the server could not keep up with leaves a backlog still arriving: the next trial must
      // not count it (or its latency) as its own.
      if (!r.complete) await quiesce(sessions[kind]!, QUIESCE_MAX_MS);
      await sleep(o.gapMs);
      return r;
    };
    for (const kind of ['odin', 'naive'] as const) await trial(kind, o.search.start, o.warmupMs);
    const search = {} as Record<ServerKind, { best: Trial | null; trials: Trial[] }>;
    for (const kind of ['odin', 'naive'] as const) {
      log(`  ${kind}: searching (p99 ≤ ${o.search.p99MsMax} ms, ${o.trialMs / 1000} s per trial)`);
      search[kind] = await searchRate((rate) => trial(kind, rate), o.search, log);
    }
    const plan: Array<{ key: 'odin' | 'naive' | 'odinAtNaive'; server: ServerKind; rate: number }> = [];
    if (search.odin.best !== null) plan.push({ key: 'odin', server: 'odin', rate: search.odin.best.rate });
    if (search.naive.best !== null) plan.push({ key: 'naive', server: 'naive', rate: search.naive.best.rate });
    if (search.naive.best !== null && search.naive.best.rate !== search.odin.best?.rate)
      plan.push({ key: 'odinAtNaive', server: 'odin', rate: search.naive.best.rate });
    const runs: Record<string, Trial[]> = { odin: [], naive: [], odinAtNaive: [] };
    log(`  confirming: ${plan.map((p) => `${p.key} at ${p.rate}/s`).join(', ')} × ${o.confirmRuns}`);
    for (let i = 0; i < o.confirmRuns; i++) {
      for (const p of i % 2 === 0 ? plan : [...plan].reverse()) {
        const r = await trial(p.server, p.rate);
        const v = verdict(r, o.search.p99MsMax);
        runs[p.key]!.push({ rate: p.rate, ...v, deliveriesPerSecond: r.deliveriesPerSecond, p99Ms: r.latency.p99Ms, p50Ms: r.latency.p50Ms });
        log(`    ${p.key} at ${p.rate}/s: ${v.pass ? 'pass' : 'FAIL'} · ${r.deliveriesPerSecond.toLocaleString('en-US')} deliveries/s · ${v.why}`);
      }
    }
    const confirmation = (key: string, server: ServerKind): Confirmation | null => {
      const list = runs[key]!;
      if (list.length === 0) return null;
      return {
        server,
        rate: list[0]!.rate,
        runs: list,
        passes: list.filter((t) => t.pass).length,
        deliveriesPerSecondMedian: Math.round(median(list.map((t) => t.deliveriesPerSecond))),
        p50MsMedian: round(median(list.map((t) => t.p50Ms)), 2),
        p99MsMedian: round(median(list.map((t) => t.p99Ms)), 2),
      };
    };
    const confirmed = { odin: confirmation('odin', 'odin'), naive: confirmation('naive', 'naive') };
    const throughputRatio =
      confirmed.odin !== null && confirmed.naive !== null
        ? round(confirmed.odin.deliveriesPerSecondMedian / confirmed.naive.deliveriesPerSecondMedian, 2)
        : null;
    const openAtEnd = { odin: sessions.odin!.snapshot().counts.open, naive: sessions.naive!.snapshot().counts.open };
    return {
      openAtEnd,
      search,
      confirmed,
      odinAtNaiveRate: confirmation('odinAtNaive', 'odin') ?? (search.naive.best?.rate === search.odin.best?.rate ? confirmed.odin : null),
      throughputRatio,
    };
  } finally {
    await Promise.all(Object.values(sessions).map((s) => s.close()));
    await Promise.all(Object.values(publishers).map((p) => p.close()));
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}

function module(name: string, title: string, full: SustainedOptions, quick: SustainedOptions): BenchModule {
  return {
    name,
    title,
    async run(options: RunOptions): Promise<BenchReport> {
      const clock = startClock();
      const o = options.quick ? quick : full;
      const odinSet = options.odinSet ?? [];
      options.print(`  one channel × ${n(o.subscribers)} subscribers per server`);
      const f = await runSustained(o, odinSet, options.print);
      const line = (c: Confirmation | null): string =>
        c === null
          ? 'no passing rate'
          : `${n(c.deliveriesPerSecondMedian)} deliveries/s at ${c.rate} events/s (p99 ${c.p99MsMedian} ms, ${c.passes}/${c.runs.length} passed)`;
      return e2eReport(name, title, clock, {
        summary: [
          `${name}: odin ${line(f.confirmed.odin)} · naive ${line(f.confirmed.naive)} · odin/naive ${f.throughputRatio === null ? '—' : ratio(f.throughputRatio)}`,
        ],
        settings: { ...o },
        odinSet,
        figures: f,
        notes: [
          `trial = ${o.trialMs / 1000} s of steady publishing over HTTP, then up to ${o.settleMs / 1000} s for the last deliveries; latency sampled on 1 connection in 10`,
        ],
        oursIs: '`odin serve` (embedded broker)',
        baselineIs: 'the naive hub',
      });
    },
  };
}

export const fanout10k = module(
  'fanout-10k',
  'Sustained fan-out at p99 ≤ 200 ms: one channel × 10,000 subscribers, odin vs the naive hub',
  {
    subscribers: 10_000,
    trialMs: 8_000,
    settleMs: 5_000,
    warmupMs: 3_000,
    search: { start: 2, max: 256, bisections: 3, p99MsMax: 200 },
    confirmRuns: 3,
    sizeBytes: 100,
    gapMs: 1_000,
  },
  {
    subscribers: 20,
    trialMs: 600,
    settleMs: 3_000,
    warmupMs: 300,
    search: { start: 5, max: 10, bisections: 0, p99MsMax: 2_000 },
    confirmRuns: 1,
    sizeBytes: 50,
    gapMs: 50,
  },
);

export const feed2k = module(
  'feed-2k',
  'High-rate feed at p99 ≤ 200 ms: one channel × 2,000 subscribers, as many events as sustainable, odin vs the naive hub',
  {
    subscribers: 2_000,
    trialMs: 8_000,
    settleMs: 5_000,
    warmupMs: 3_000,
    search: { start: 50, max: 12_800, bisections: 3, p99MsMax: 200 },
    confirmRuns: 3,
    sizeBytes: 100,
    gapMs: 1_000,
  },
  {
    subscribers: 20,
    trialMs: 600,
    settleMs: 3_000,
    warmupMs: 300,
    search: { start: 20, max: 40, bisections: 0, p99MsMax: 2_000 },
    confirmRuns: 1,
    sizeBytes: 50,
    gapMs: 50,
  },
);

/**
 * What a server's search came to, in words: its confirmed rate, a rate found but not confirmed, or — when
 * not even the lowest rate passed — that rate's p99 (a bar neither server clears is itself the finding).
 */
export function outcome(f: SustainedFigures, kind: ServerKind): string {
  const c = f.confirmed[kind];
  if (c !== null) {
    const figures = `${n(c.deliveriesPerSecondMedian)} deliveries/s (p99 ${c.p99MsMedian} ms)`;
    return c.passes > 0 ? figures : `${figures}, not confirmed (0 of ${c.runs.length} confirmations passed)`;
  }
  const trials = f.search[kind].trials;
  if (trials.length === 0) return 'not measured';
  const lowest = trials.reduce((a, b) => (b.rate < a.rate ? b : a));
  return `no rate passed (at ${n(lowest.rate)} event${lowest.rate === 1 ? '' : 's'}/s, the lowest tried: p99 ${lowest.p99Ms} ms)`;
}

export function section(report: BenchReport): string[] {
  if (!isE2e(report)) return [];
  const f = report.extra.figures as SustainedFigures;
  const s = report.extra.settings as unknown as SustainedOptions;
  const cell = (c: Confirmation | null, what: 'rate' | 'dps' | 'p99' | 'passes'): string => {
    if (c === null) return '—';
    if (what === 'rate') return c.passes > 0 ? `${n(c.rate)}/s` : `${n(c.rate)}/s (not confirmed)`;
    if (what === 'dps') return n(c.deliveriesPerSecondMedian);
    if (what === 'p99') return `${c.p99MsMedian} ms (p50 ${c.p50MsMedian})`;
    return `${c.passes}/${c.runs.length}`;
  };
  const rows = [
    ['odin', cell(f.confirmed.odin, 'rate'), cell(f.confirmed.odin, 'dps'), cell(f.confirmed.odin, 'p99'), cell(f.confirmed.odin, 'passes')],
    ['naive hub', cell(f.confirmed.naive, 'rate'), cell(f.confirmed.naive, 'dps'), cell(f.confirmed.naive, 'p99'), cell(f.confirmed.naive, 'passes')],
  ];
  if (f.odinAtNaiveRate !== null && f.odinAtNaiveRate !== f.confirmed.odin)
    rows.push([
      'odin at the naive hub’s rate',
      cell(f.odinAtNaiveRate, 'rate'),
      cell(f.odinAtNaiveRate, 'dps'),
      cell(f.odinAtNaiveRate, 'p99'),
      cell(f.odinAtNaiveRate, 'passes'),
    ]);
  const searched = (kind: ServerKind): string => f.search[kind].trials.map((t) => `${t.rate}${t.pass ? '✓' : '✗'}`).join(' ');
  return [
    `## ${report.name === 'feed-2k' ? 'High-rate feed' : 'Sustained fan-out'}: one channel × ${n(s.subscribers)} subscribers, p99 ≤ ${s.search.p99MsMax} ms`,
    '',
    measuredLine(report),
    '',
    ...table(['server', 'sustainable events/s', 'deliveries/s (median)', 'p99 publish→deliver (median)', 'confirmations passed'], rows, [
      'l',
      'r',
      'r',
      'r',
      'r',
    ]),
    '',
    ...(['odin', 'naive'] as const).filter((k) => f.confirmed[k] === null).map((k) => `${k === 'odin' ? 'odin' : 'The naive hub'}: ${outcome(f, k)}.`),
    ...(f.confirmed.odin === null && f.confirmed.naive === null ? [] : ['']),
    `**odin / naive sustained deliveries/s: ${f.throughputRatio === null ? '—' : ratio(f.throughputRatio)}.** Search (events/s, ✓ pass, ✗ fail): odin ${searched('odin')}; naive ${searched('naive')}. ` +
      `A trial publishes for ${s.trialMs / 1000} s over HTTP and passes when every event reaches every subscriber, p99 ≤ ${s.search.p99MsMax} ms, the publisher never backs up and no connection drops; the found rate is then confirmed ${s.confirmRuns} times, alternating servers (medians shown).`,
    ...(['odin', 'naive'] as const)
      .filter((k) => f.openAtEnd !== undefined && f.openAtEnd[k] < s.subscribers)
      .map(
        (k) =>
          `${k === 'odin' ? 'odin' : 'The naive hub'} had ${n(f.openAtEnd[k])} of ${n(s.subscribers)} connections open at the end: failing trials cost it connections (later trials ran with fewer subscribers; each trial's expectations count the subscribers it had).`,
      ),
    '',
  ];
}
