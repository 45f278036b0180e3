// benchmarks/RESULTS.md: the end-to-end benches' latest figures (reports/bench-<name>.json, written by
// `npm run bench`), each section with its own date and machine load, headed by the machine and the
// headline ratios. Written after every full (not --quick) run that included one of these benches;
// sections of benches not run this time keep their last figures, and say when they were taken.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport } from '../lib/report.js';
import { section as burstSection } from './burst.bench.js';
import { isE2e, kb, n, ratio } from './e2e-report.js';
import { section as heldSection } from './held.bench.js';
import { section as memorySection } from './memory.bench.js';
import { outcome as sustainedOutcome, section as sustainedSection, type SustainedFigures } from './sustained.bench.js';

/** The benches RESULTS.md reports, in its order, with how each renders. */
export const resultSections: ReadonlyArray<{ readonly name: string; readonly render: (report: BenchReport) => string[] }> = [
  { name: 'memory-idle', render: memorySection },
  { name: 'burst', render: burstSection },
  { name: 'fanout-10k', render: sustainedSection },
  { name: 'feed-2k', render: sustainedSection },
  { name: 'held', render: heldSection },
  { name: 'sim', render: simSection },
];

interface SimTiming {
  readonly label: string;
  readonly runs: number;
  readonly events: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly eventsPerSecond: number;
  readonly targetWallMs: number | null;
  readonly pass: boolean | null;
  readonly loadAverage1m: number;
}

function simSection(report: BenchReport): string[] {
  const extra = report.extra as { best?: SimTiming[]; scheduler?: Array<{ live: number; eventsPerSecond: number }> } | undefined;
  const best = extra?.best ?? [];
  const rows = best.map((t) => [
    t.label,
    n(t.events),
    `${(t.wallMs / 1000).toFixed(2)} s`,
    `${(t.cpuMs / 1000).toFixed(2)} s`,
    `${(t.eventsPerSecond / 1e6).toFixed(2)} M/s`,
    t.targetWallMs === null ? '—' : `≤ ${t.targetWallMs / 1000} s: ${t.pass === true ? 'pass' : 'FAIL'}`,
    String(t.loadAverage1m),
  ]);
  const sched = (extra?.scheduler ?? []).map((s) => `${n(s.live)} live events: ${(s.eventsPerSecond / 1e6).toFixed(2)} M events/s`).join('; ');
  return [
    "## The lab's speed",
    '',
    `Measured ${report.machine.date.slice(0, 16).replace('T', ' ')} UTC · load average ${report.machine.loadAverage1m} (1 min) at the start. Best of the rounds (\`npm run bench -- sim\`).`,
    '',
    `| run | simulated events | wall | CPU | events/s | target | load (1 min) |`,
    `| --- | ---: | ---: | ---: | ---: | --- | ---: |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    sched === '' ? '' : `Scheduler alone: ${sched}.`,
    '',
  ];
}

function headline(reports: ReadonlyMap<string, BenchReport>): string[] {
  const lines: string[] = [];
  const get = <T>(name: string): T | null => {
    const r = reports.get(name);
    return r !== undefined && isE2e(r) ? (r.extra.figures as T) : null;
  };
  const memory = get<{ medianPerConnectionBytes: { odin: number; naive: number }; odinOverNaive: number }>('memory-idle');
  if (memory !== null)
    lines.push(
      `- RSS per idle subscribed connection: odin ${kb(memory.medianPerConnectionBytes.odin)}, naive hub ${kb(memory.medianPerConnectionBytes.naive)} — **${ratio(memory.odinOverNaive)}** the naive hub's (lower is better).`,
    );
  const burst = get<{ medianSpeedup: number; minSpeedup: number; medianDrainMs: { odin: number; naive: number } }>('burst');
  if (burst !== null) {
    // A server whose median burst never drained has no drain time (NaN; null once written as JSON).
    const drained = (ms: number | null): string => (ms === null || !Number.isFinite(ms) ? 'no complete drain' : `${ms} ms`);
    lines.push(
      Number.isFinite(burst.medianSpeedup)
        ? `- Burst drain: odin **${ratio(burst.medianSpeedup)}** faster than the naive hub (median; slowest run ${ratio(burst.minSpeedup)}), ${burst.medianDrainMs.odin} ms against ${burst.medianDrainMs.naive} ms.`
        : `- Burst drain: odin ${drained(burst.medianDrainMs.odin)} (median), the naive hub ${drained(burst.medianDrainMs.naive)} (median): no ratio (see the runs below).`,
    );
  }
  for (const [name, label] of [
    ['fanout-10k', 'One channel × 10,000 subscribers'],
    ['feed-2k', 'High-rate feed to 2,000 subscribers'],
  ] as const) {
    const f = get<SustainedFigures>(name);
    if (f === null) continue;
    const ratioText = f.throughputRatio === null ? 'no ratio' : `**${ratio(f.throughputRatio)}**`;
    lines.push(`- ${label} at p99 ≤ 200 ms: odin ${sustainedOutcome(f, 'odin')}; naive hub ${sustainedOutcome(f, 'naive')} — ${ratioText}.`);
  }
  const held = get<{ results: Array<{ server: string; unexpectedDrops: number; report: { connections: { heldAtEnd: number } } }> }>('held');
  if (held !== null)
    lines.push(
      `- Connections held five minutes: ${held.results.map((r) => `${r.server} ${n(r.report.connections.heldAtEnd)} (${r.unexpectedDrops} unexpected drops)`).join(', ')}.`,
    );
  return lines;
}

export function resultsMarkdown(reports: ReadonlyMap<string, BenchReport>): string {
  const any = [...reports.values()][0];
  const underLoad = [...reports.values()].some((r) => isE2e(r) && r.extra.underLoad);
  const m = any?.machine;
  const out = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (end-to-end benches: `npm run bench -- memory-idle burst fanout-10k feed-2k held`; how they work: ' +
      '[docs/benchmarks.md](../docs/benchmarks.md#end-to-end-benches-against-the-naive-hub)). Every figure of odin stands beside the naive hub ' +
      '([fanout/naive-hub.ts](fanout/naive-hub.ts)) measured in the same run, on the same machine, with the same load tool (`odin load`).',
    '',
  ];
  if (m !== undefined) out.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.`, '');
  if (underLoad)
    out.push(
      '> **Some figures below were taken under load**: other work used more than a quarter of the cores while they ran (the CPU time of processes other than the bench’s own, from /proc). They show the harness working and the shape of the comparison; re-run on a quiet machine for figures to quote.',
      '',
    );
  const lines = headline(reports);
  if (lines.length > 0) out.push('## Headline', '', ...lines, '');
  for (const s of resultSections) {
    const report = reports.get(s.name);
    if (report !== undefined) out.push(...s.render(report));
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** Reads the latest full (non-quick) reports and writes RESULTS.md; returns the names it included. */
export function writeResults(reportsDir: string, file: string): string[] {
  const reports = new Map<string, BenchReport>();
  for (const s of resultSections) {
    const path = join(reportsDir, `bench-${s.name}.json`);
    if (existsSync(path)) reports.set(s.name, JSON.parse(readFileSync(path, 'utf8')) as BenchReport);
  }
  if (reports.size === 0) return [];
  writeFileSync(file, resultsMarkdown(reports));
  return [...reports.keys()];
}
