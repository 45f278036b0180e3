// Prints the figures of reports/bench-*.json as the Markdown tables of docs/benchmarks.md:
//   npx tsx benchmarks/markdown.ts            (after `npm run bench`)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport, Comparison } from './lib/report.js';
import { formatNs } from './lib/report.js';
import { benches, reportsDir } from './run.js';

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function comparisonRows(c: Comparison): string[] {
  const others = (c.others ?? []).map((o) => `${o.name.slice(o.name.indexOf(' · ') + 3)}: ${formatNs(o.p50Ns)}`);
  return [
    row([
      c.label,
      formatNs(c.baseline.p50Ns),
      formatNs(c.ours.p50Ns),
      `**${c.speedup.toFixed(2)}×**`,
      `${formatNs(c.ours.p50Ns / c.itemsPerIteration)} / ${c.itemName}`,
      others.join('; ') || '—',
    ]),
  ];
}

export function markdown(reports: readonly BenchReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`### ${r.name} — ${r.title}`, '');
    lines.push(`Baseline: ${r.baselineIs}. Ours: ${r.oursIs}.`, '');
    lines.push(row(['case', 'baseline p50', 'ours p50', 'speed-up', 'ours per item', 'other variants (p50)']));
    lines.push(row(['---', '---:', '---:', '---:', '---:', '---']));
    for (const c of r.comparisons) lines.push(...comparisonRows(c));
    lines.push('');
    for (const note of r.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const reports = benches
    .map((b) => join(reportsDir, `bench-${b.name}.json`))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchReport);
  process.stdout.write(markdown(reports));
}
