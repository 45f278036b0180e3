// `npm run sim -- --parity [--rows a,b] [--ci] [--parity-break ROW]`: the parity suite (docs/lab.md,
// "Parity with the kernel"). Prints the table; exits 1 when a row differs beyond its tolerance, 2 when
// the real side cannot run here (no namespaces or root: it says why).
import { parseArgs } from 'node:util';
import { realSupport, renderTable, runRow, selectRows, type RowResult } from './run.js';
import { ROWS } from './rows.js';

export const PARITY_USAGE = `usage: npm run sim -- --parity [--rows ID,ID] [--ci] [--parity-break ID]
  runs each mechanism's experiment for real in a private network namespace and in the lab; prints
  mechanism, inputs, real, simulated, tolerance, verdict
  --rows ID,ID        only these rows (${ROWS.map((r) => r.id).join(', ')})
  --ci                only the CI subset (${ROWS.filter((r) => r.ci)
    .map((r) => r.id)
    .join(', ')})
  --parity-break ID   run row ID with its deliberately wrong model parameter: it must fail
`;

export interface ParityIo {
  out(text: string): void;
  err(text: string): void;
}

export function wantsParity(argv: readonly string[]): boolean {
  return argv.includes('--parity');
}

export function parityMain(argv: readonly string[], io: ParityIo): number {
  const { values: v } = parseArgs({
    args: [...argv],
    options: {
      parity: { type: 'boolean' },
      rows: { type: 'string' },
      ci: { type: 'boolean', default: false },
      'parity-break': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (v.help) {
    io.out(PARITY_USAGE);
    return 0;
  }
  const breakId = v['parity-break'];
  const ids = v.rows !== undefined ? v.rows.split(',') : breakId !== undefined ? [breakId] : null;
  const rows = selectRows(ids, v.ci);
  if (breakId !== undefined && !rows.some((r) => r.id === breakId)) throw new Error(`--parity-break ${breakId}: not among the rows run`);
  const why = realSupport();
  if (why !== null) {
    io.err(`parity: the real side cannot run here: ${why}\n`);
    return 2;
  }
  const results: RowResult[] = [];
  for (const row of rows) {
    const r = runRow(row, row.id === breakId);
    io.err(`${r.ok ? 'agrees' : 'DIFFERS'}  ${row.id}${r.ok ? '' : `: ${r.why}`}\n`);
    results.push(r);
  }
  io.out(`${renderTable(results)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}
