// `npm run bench` (= `odin bench`, which imports this file and calls main(argv)): runs the benchmarks,
// prints mitata's tables and a summary of ratios, and writes reports/bench-<name>.json per bench; a full
// run that includes an end-to-end bench (benchmarks/e2e/) also rewrites benchmarks/RESULTS.md.
//
//   odin bench                   every bench
//   odin bench encode match      a subset, by name
//   odin bench --quick           smaller sizes (a smoke run; figures not for docs, RESULTS.md untouched)
//   odin bench --list            names and titles
//   odin bench burst --odin-set gateway.heartbeatMs=60000    settings for odin in the end-to-end benches
//
// Every figure is ours against a baseline measured in the same run: the machine is shared and noisy, so
// ratios and medians are the result, absolute times only context.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench as burst } from './e2e/burst.bench.js';
import { bench as held } from './e2e/held.bench.js';
import { bench as memoryIdle } from './e2e/memory.bench.js';
import { resultSections, writeResults } from './e2e/results.js';
import { feed2k, fanout10k } from './e2e/sustained.bench.js';
import { bench as encode } from './encode.bench.js';
import { bench as fanout } from './fanout.bench.js';
import { bench as history } from './history.bench.js';
import { bench as latency } from './latency.bench.js';
import { bench as match } from './match.bench.js';
import { bench as retainedMemory } from './retained-memory.bench.js';
import { bench as sim } from './sim.bench.js';
import { formatNs, machine, type BenchModule, type BenchReport } from './lib/report.js';
import { bench as worstRequest } from './worst-request.bench.js';
import { bench as writePath } from './write-path.bench.js';

export const benches: readonly BenchModule[] = [
  encode,
  match,
  history,
  retainedMemory,
  writePath,
  worstRequest,
  fanout,
  latency,
  sim,
  memoryIdle,
  burst,
  fanout10k,
  feed2k,
  held,
];

const EXIT_USAGE = 64;

export const reportsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'reports');
export const resultsFile = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

function usage(): string {
  return `usage: odin bench [--quick] [--list] [--odin-set section.key=value ...] [${benches.map((b) => b.name).join('|')} ...]`;
}

interface BenchArgs {
  readonly names: string[];
  readonly flags: Set<string>;
  readonly odinSet: string[];
  readonly problems: string[];
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { names: [], flags: new Set(), odinSet: [], problems: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--odin-set') {
      const value = argv[++i];
      if (value === undefined || !/^[a-zA-Z]+\.[a-zA-Z]+=/.test(value)) args.problems.push(`--odin-set needs section.key=value (got ${value ?? 'nothing'})`);
      else args.odinSet.push(value);
    } else if (a.startsWith('-')) args.flags.add(a);
    else args.names.push(a);
  }
  return args;
}

export function summaryLines(reports: readonly BenchReport[]): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.name} — ${report.title} (${(report.durationMs / 1000).toFixed(1)} s)`);
    if (report.comparisons.length > 0) lines.push(`  ${'case'.padEnd(36)} ${'speed-up'.padStart(9)}  ${'ours p50'.padStart(10)} vs ${'baseline'.padStart(10)}`);
    for (const c of report.comparisons) {
      lines.push(
        `  ${c.label.padEnd(36)} ${`${c.speedup.toFixed(2)}×`.padStart(9)}  ${formatNs(c.ours.p50Ns).padStart(10)} vs ${formatNs(c.baseline.p50Ns).padStart(10)}`,
      );
    }
    // Benches measured against a target rather than a baseline (sim) give their own summary lines.
    const extra = report.extra as { summary?: unknown } | undefined;
    if (Array.isArray(extra?.summary)) for (const line of extra.summary) lines.push(`  ${String(line)}`);
  }
  return lines;
}

/** Runs the named benches (all when none is named); returns the process exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const { flags, names, odinSet, problems } = parseBenchArgs(argv);
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  if (flags.has('--help') || flags.has('-h')) {
    print(usage());
    return 0;
  }
  if (flags.has('--list')) {
    for (const b of benches) print(`${b.name.padEnd(12)} ${b.title}`);
    return 0;
  }
  const unknownFlags = [...flags].filter((f) => f !== '--quick');
  const unknown = names.filter((n) => !benches.some((b) => b.name === n));
  if (unknown.length > 0 || unknownFlags.length > 0 || problems.length > 0) {
    const said = [...(unknown.length + unknownFlags.length > 0 ? [`unknown ${[...unknown, ...unknownFlags].join(', ')}`] : []), ...problems];
    process.stderr.write(`odin bench: ${said.join('; ')}\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const selected = names.length === 0 ? benches : benches.filter((b) => names.includes(b.name));
  const quick = flags.has('--quick');
  const m = machine();
  print(
    `odin benchmarks${quick ? ' (quick)' : ''} — ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}, load ${m.loadAverage1m}, ${m.date}`,
  );
  mkdirSync(reportsDir, { recursive: true });
  const reports: BenchReport[] = [];
  for (const b of selected) {
    print(`\n=== ${b.name}: ${b.title} ===`);
    const report = await b.run({ quick, print, odinSet });
    const file = join(reportsDir, `bench-${b.name}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, `${JSON.stringify({ ...report, quick }, null, 2)}\n`);
    print(`→ ${file}`);
    reports.push(report);
  }
  print('\n=== summary (speed-up = baseline median / ours median; >1 = ours faster) ===');
  for (const line of summaryLines(reports)) print(line);
  // Quick figures are for smoke runs; RESULTS.md holds full runs only.
  if (!quick && selected.some((b) => resultSections.some((r) => r.name === b.name))) {
    const included = writeResults(reportsDir, resultsFile);
    print(`→ ${resultsFile} (${included.join(', ')})`);
  }
  return 0;
}

// Run directly (`tsx benchmarks/run.ts`), not when imported by the CLI.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
