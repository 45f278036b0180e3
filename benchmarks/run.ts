// `npm run bench` (= `odin bench`, which imports this file and calls main(argv)): runs the benchmarks,
// prints mitata's tables and a summary of ratios, and writes reports/bench-<name>.json per bench.
//
//   odin bench                   every bench
//   odin bench encode match      a subset, by name
//   odin bench --quick           smaller sizes (a smoke run; figures not for docs)
//   odin bench --list            names and titles
//
// Every figure is ours against a baseline measured in the same run: the machine is shared and noisy, so
// ratios and medians are the result, absolute times only context.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export const benches: readonly BenchModule[] = [encode, match, history, retainedMemory, writePath, worstRequest, fanout, latency, sim];

const EXIT_USAGE = 64;

export const reportsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'reports');

function usage(): string {
  return `usage: odin bench [--quick] [--list] [${benches.map((b) => b.name).join('|')} ...]`;
}

export function summaryLines(reports: readonly BenchReport[]): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.name} — ${report.title} (${(report.durationMs / 1000).toFixed(1)} s)`);
    lines.push(`  ${'case'.padEnd(36)} ${'speed-up'.padStart(9)}  ${'ours p50'.padStart(10)} vs ${'baseline'.padStart(10)}`);
    for (const c of report.comparisons) {
      lines.push(`  ${c.label.padEnd(36)} ${`${c.speedup.toFixed(2)}×`.padStart(9)}  ${formatNs(c.ours.p50Ns).padStart(10)} vs ${formatNs(c.baseline.p50Ns).padStart(10)}`);
    }
    // Benches measured against a target rather than a baseline (sim) give their own summary lines.
    const extra = report.extra as { summary?: unknown } | undefined;
    if (Array.isArray(extra?.summary)) for (const line of extra.summary) lines.push(`  ${String(line)}`);
  }
  return lines;
}

/** Runs the named benches (all when none is named); returns the process exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const names = argv.filter((a) => !a.startsWith('-'));
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
  if (unknown.length > 0 || unknownFlags.length > 0) {
    process.stderr.write(`odin bench: unknown ${[...unknown, ...unknownFlags].join(', ')}\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const selected = names.length === 0 ? benches : benches.filter((b) => names.includes(b.name));
  const quick = flags.has('--quick');
  const m = machine();
  print(`odin benchmarks${quick ? ' (quick)' : ''} — ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}, load ${m.loadAverage1m}, ${m.date}`);
  mkdirSync(reportsDir, { recursive: true });
  const reports: BenchReport[] = [];
  for (const b of selected) {
    print(`\n=== ${b.name}: ${b.title} ===`);
    const report = await b.run({ quick, print });
    const file = join(reportsDir, `bench-${b.name}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, `${JSON.stringify({ ...report, quick }, null, 2)}\n`);
    print(`→ ${file}`);
    reports.push(report);
  }
  print('\n=== summary (speed-up = baseline median / ours median; >1 = ours faster) ===');
  for (const line of summaryLines(reports)) print(line);
  return 0;
}

// Run directly (`tsx benchmarks/run.ts`), not when imported by the CLI.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
