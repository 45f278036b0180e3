// Runs parity rows — each experiment for real (real.ts) and in the lab (lab.ts) — and renders the table:
// mechanism, inputs, real, simulated, tolerance, verdict. With a row "broken" (--parity-break), that row's
// lab side runs with its deliberately wrong model parameter (rows.ts `broken`), and must fail.
import { release } from 'node:os';
import { runGuarded } from '../engine/determinism-guard.js';
import type { ExperimentResult } from './experiment.js';
import { runLab } from './lab.js';
import { realSupport, runReal } from './real.js';
import { ROWS, type Row } from './rows.js';

export interface RowResult {
  readonly row: Row;
  readonly real: ExperimentResult;
  readonly lab: ExperimentResult;
  readonly ok: boolean;
  readonly why: string;
  readonly broken: boolean;
}

export function selectRows(ids: readonly string[] | null, ciOnly: boolean): Row[] {
  if (ids !== null) {
    const unknown = ids.filter((id) => !ROWS.some((r) => r.id === id));
    if (unknown.length > 0) throw new Error(`unknown parity row(s) ${unknown.join(', ')}; rows: ${ROWS.map((r) => r.id).join(', ')}`);
  }
  return ROWS.filter((r) => (ids === null || ids.includes(r.id)) && (!ciOnly || r.ci));
}

export function runRow(row: Row, broken: boolean): RowResult {
  const real = runReal(row.exp);
  // The lab side under the determinism guard: no wall clock, no Math.random.
  const lab = runGuarded(() => runLab(row.exp, broken ? row.broken.lab : {}));
  const v = row.compare(real, lab);
  return { row, real, lab, ok: v.ok, why: v.why, broken };
}

export { realSupport };

const esc = (s: string): string => s.replace(/\|/g, '\\|');

/** The table as Markdown (docs/lab.md keeps a copy), with the kernel it ran on. */
export function renderTable(results: readonly RowResult[]): string {
  const lines = [
    `Kernel ${release()}, Node ${process.version}.`,
    '',
    '| row | mechanism | inputs | real | simulated | tolerance | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const verdict = r.ok ? 'agrees' : `**differs**: ${r.why}`;
    const mech = r.broken ? `${r.row.mechanism} — lab broken on purpose: ${r.row.broken.what}` : r.row.mechanism;
    lines.push(
      `| ${r.row.id} | ${esc(mech)} | ${esc(r.row.inputs)} | ${esc(r.row.summary(r.real))} | ${esc(r.row.summary(r.lab))} | ${esc(r.row.tolerance)} | ${esc(verdict)} |`,
    );
  }
  return lines.join('\n');
}
