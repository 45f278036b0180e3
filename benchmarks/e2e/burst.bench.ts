// Burst drain: E events published at once (E concurrent POST /publish) to one channel with N subscribers;
// the drain time runs from the first publish to the moment every subscriber has every event (each load
// worker notes the instant its count reaches its target). Both servers up at once, each with its own N
// subscribed connections; bursts alternate between them (after a discarded warm-up burst each), so drift on
// a shared machine hits both alike. Every run is reported, not only the median: whether the E publishes
// land in one event-loop turn of the server varies from run to run, and so does the drain.
import type { BenchModule, BenchReport, RunOptions } from '../lib/report.js';
import { burstPhase, type PhaseResult, type Sequence } from '../../src/load/phases.js';
import type { LoadSession } from '../../src/load/session.js';
import type { HttpPublisher } from '../../src/load/publishers.js';
import { e2eReport, isE2e, measuredLine, n, ratio, startClock, table } from './e2e-report.js';
import { connectSet, median, publisherFor, round, sleep } from './rig.js';
import { startNaive, startOdin, type ServerKind, type ServerProcess } from './servers.js';

export interface BurstOptions {
  readonly subscribers: number;
  readonly events: number;
  readonly runs: number;
  readonly gapMs: number;
  readonly timeoutMs: number;
  readonly sizeBytes: number;
}

export const burstDefaults: BurstOptions = { subscribers: 10_000, events: 50, runs: 5, gapMs: 2_000, timeoutMs: 60_000, sizeBytes: 100 };
export const burstQuick: BurstOptions = { subscribers: 20, events: 5, runs: 2, gapMs: 100, timeoutMs: 10_000, sizeBytes: 50 };

export interface BurstFigures {
  readonly drainMs: number | null;
  readonly deliveriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly delivered: number;
  readonly expected: number;
  /** Publishes the server accepted, and why the others failed: a failed publish leaves a burst incomplete. */
  readonly accepted: number;
  readonly publishFailures: Readonly<Record<string, number>>;
}

export interface BurstRun {
  readonly run: number;
  readonly odin: BurstFigures;
  readonly naive: BurstFigures;
  /** naive drain / odin drain: above 1, odin drains faster. */
  readonly speedup: number | null;
}

const figures = (r: PhaseResult): BurstFigures => ({
  drainMs: r.drainMs,
  deliveriesPerSecond: r.deliveriesPerSecond,
  p50Ms: r.latency.p50Ms,
  p99Ms: r.latency.p99Ms,
  delivered: r.delivered,
  expected: r.expected,
  accepted: r.published.ok,
  publishFailures: r.published.failures,
});

export async function runBursts(o: BurstOptions, odinSet: readonly string[], log: (line: string) => void): Promise<BurstRun[]> {
  const servers: Partial<Record<ServerKind, ServerProcess>> = {};
  const sessions: Partial<Record<ServerKind, LoadSession>> = {};
  const publishers: Partial<Record<ServerKind, HttpPublisher>> = {};
  const seq: Sequence = { next: 0 };
  const channels = ['odin.token.bench.0'];
  try {
    servers.odin = await startOdin({ settings: odinSet });
    servers.naive = await startNaive();
    for (const kind of ['odin', 'naive'] as const) {
      sessions[kind] = await connectSet(servers[kind]!, { connections: o.subscribers });
      // A publish is answered when the server gets to it, which for the naive hub writing 50 events to
      // 10,000 sockets one by one can be seconds later: it may take as long as the drain may.
      publishers[kind] = publisherFor(servers[kind]!, o.timeoutMs);
    }
    const burst = (kind: ServerKind): Promise<PhaseResult> =>
      burstPhase(
        sessions[kind]!,
        publishers[kind]!,
        channels,
        { events: o.events, sizeBytes: o.sizeBytes, timeoutMs: o.timeoutMs, publishTimeoutMs: o.timeoutMs },
        seq,
      );
    for (const kind of ['odin', 'naive'] as const) {
      await burst(kind); // warm-up: JIT, first writes, connection pools
      await sleep(o.gapMs);
    }
    const runs: BurstRun[] = [];
    for (let run = 1; run <= o.runs; run++) {
      const order: ServerKind[] = run % 2 === 1 ? ['odin', 'naive'] : ['naive', 'odin'];
      const got: Partial<Record<ServerKind, BurstFigures>> = {};
      for (const kind of order) {
        got[kind] = figures(await burst(kind));
        await sleep(o.gapMs);
      }
      const speedup = got.odin!.drainMs !== null && got.naive!.drainMs !== null ? round(got.naive!.drainMs / got.odin!.drainMs, 2) : null;
      runs.push({ run, odin: got.odin!, naive: got.naive!, speedup });
      log(`  run ${run}: odin ${got.odin!.drainMs ?? 'incomplete'} ms · naive ${got.naive!.drainMs ?? 'incomplete'} ms · naive/odin ${speedup ?? '—'}`);
    }
    return runs;
  } finally {
    await Promise.all(Object.values(sessions).map((s) => s.close()));
    await Promise.all(Object.values(publishers).map((p) => p.close()));
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}

export const bench: BenchModule = {
  name: 'burst',
  title: 'Burst drain: 50 events at once to 10,000 subscribers, odin vs the naive hub, every run',
  async run(options: RunOptions): Promise<BenchReport> {
    const clock = startClock();
    const o = options.quick ? burstQuick : burstDefaults;
    const odinSet = options.odinSet ?? [];
    options.print(`  ${o.events} events × ${n(o.subscribers)} subscribers, ${o.runs} runs per server`);
    const runs = await runBursts(o, odinSet, options.print);
    const drains = (kind: ServerKind) => runs.map((r) => r[kind].drainMs).filter((v): v is number => v !== null);
    const speedups = runs.map((r) => r.speedup).filter((v): v is number => v !== null);
    return e2eReport(this.name, 'Burst drain: E events at once to N subscribers, odin vs the naive hub, every run', clock, {
      summary: [
        `burst drain ${o.events} × ${n(o.subscribers)}: odin median ${round(median(drains('odin')), 2)} ms · naive ${round(median(drains('naive')), 2)} ms · naive/odin per run ${speedups.map((s) => ratio(s)).join(', ')} (min ${ratio(Math.min(...speedups))})`,
      ],
      settings: { ...o },
      odinSet,
      figures: {
        runs,
        medianDrainMs: { odin: round(median(drains('odin')), 2), naive: round(median(drains('naive')), 2) },
        minSpeedup: Math.min(...speedups),
        medianSpeedup: round(median(speedups), 2),
      },
      notes: ['drain = first publish → last delivery at the last subscriber; publishes are concurrent POST /publish over 32 keep-alive connections'],
      oursIs: '`odin serve` (embedded broker; per-turn coalescing: frames queued to one socket in one turn leave in one write)',
      baselineIs: 'the naive hub: one ws.send per event per subscriber',
    });
  },
};

export function section(report: BenchReport): string[] {
  if (!isE2e(report)) return [];
  const f = report.extra.figures as { runs: BurstRun[]; medianDrainMs: { odin: number; naive: number }; minSpeedup: number; medianSpeedup: number };
  const s = report.extra.settings as unknown as BurstOptions;
  const ms = (v: number | null): string => (v === null ? 'incomplete' : `${v.toFixed(1)} ms`);
  const drain = (b: BurstFigures): string => {
    if (b.drainMs !== null) return ms(b.drainMs);
    const failed = Object.entries(b.publishFailures ?? {}).map(([k, v]) => `${v} ${k}`);
    return failed.length > 0
      ? `incomplete: ${s.events - (b.accepted ?? 0)} of ${s.events} publishes failed (${failed.join(', ')})`
      : `incomplete: ${n(b.delivered)} of ${n(b.expected)} deliveries`;
  };
  const rows = f.runs.map((r) => [
    String(r.run),
    drain(r.odin),
    drain(r.naive),
    r.speedup === null ? '—' : ratio(r.speedup),
    `${r.odin.p99Ms} / ${r.naive.p99Ms} ms`,
  ]);
  rows.push([
    '**median**',
    `**${ms(f.medianDrainMs.odin)}**`,
    `**${ms(f.medianDrainMs.naive)}**`,
    `**${ratio(f.medianSpeedup)}** (min ${ratio(f.minSpeedup)})`,
    '',
  ]);
  return [
    `## Burst drain (${s.events} events at once to ${n(s.subscribers)} subscribers)`,
    '',
    measuredLine(report),
    '',
    ...table(['run', 'odin', 'naive hub', 'naive / odin (higher is better)', 'p99 latency odin / naive'], rows, ['l', 'r', 'r', 'r', 'r']),
    '',
    `Drain = first publish → every subscriber has every event. ${s.events} concurrent POST /publish per burst; bursts alternate between the servers, ${s.gapMs / 1000} s apart, after one discarded warm-up burst each.`,
    '',
  ];
}
