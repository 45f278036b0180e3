// The parity suite's CI subset (docs/lab.md, "Parity with the kernel"): the rows marked `ci` run for real
// in a private network namespace and in the lab, and must agree within their tolerance; one row run with
// its deliberately wrong model parameter must not. Skipped only where namespaces or root are missing,
// saying why. The lab-only checks below run everywhere.
import { describe, expect, it } from 'vitest';
import { BASE_SYSCTLS } from '../../sim/parity/experiment.js';
import { runLab } from '../../sim/parity/lab.js';
import { ROWS } from '../../sim/parity/rows.js';
import { realSupport, renderTable, runRow, selectRows } from '../../sim/parity/run.js';

const why = realSupport();
if (why !== null) process.stderr.write(`parity: real side skipped: ${why}\n`);

describe.skipIf(why !== null)('parity with the kernel (CI subset, real namespaces)', () => {
  const rows = selectRows(null, true);

  it.each(rows.map((r) => [r.id, r] as const))(
    '%s: real and lab agree within the tolerance',
    (_id, row) => {
      const r = runRow(row, false);
      expect(r.ok, `${row.id}\n${renderTable([r])}`).toBe(true);
    },
    60_000,
  );

  it('a deliberately wrong model parameter makes its row fail (--parity-break syn-linear)', () => {
    const row = ROWS.find((r) => r.id === 'syn-linear')!;
    const r = runRow(row, true);
    expect(r.ok, renderTable([r])).toBe(false);
    expect(r.why).toMatch(/connect steps/);
  }, 60_000);
});

describe('parity rows in the lab alone', () => {
  it('every row has a distinct id, a tolerance and a break that changes the lab result', () => {
    expect(new Set(ROWS.map((r) => r.id)).size).toBe(ROWS.length);
    for (const row of ROWS) {
      expect(row.tolerance.length).toBeGreaterThan(0);
      const good = runLab(row.exp);
      const broken = runLab(row.exp, row.broken.lab);
      // Compared with itself a row agrees; its broken lab must differ from the model as it stands.
      expect(row.compare(good, good).ok, row.id).toBe(true);
      expect(row.compare(good, broken).ok, `${row.id}: breaking "${row.broken.what}" changed nothing`).toBe(false);
    }
  });

  it("memory-cap: the lab's gateway is bound by its memory limit at the capacity docs/operations.md's formula gives", () => {
    const MiB = 1024 ** 2;
    // (limit × 0.8 − baseline − the rings' and the embedded broker's sixteenth of the budget each) / per connection
    const budget = Math.floor(256 * MiB * 0.8);
    const expected = Math.floor((budget - 128 * MiB - 2 * Math.floor(budget / 16)) / MiB);
    const lab = runLab(ROWS.find((r) => r.id === 'memory-cap')!.exp);
    expect(lab.capacity?.line).toBe(`max connections ${expected} (bound by memory)`);
    expect(lab.rounds[0]!.outcomes).toEqual({ open: expected, 'http-503': 120 - expected });
  });

  it('is deterministic: the same experiment gives the same lab result', () => {
    const row = ROWS.find((r) => r.id === 'cookies-off')!;
    expect(JSON.stringify(runLab(row.exp))).toBe(JSON.stringify(runLab(row.exp)));
  });

  it('the same ports fill the same way whatever the base sysctls say about unrelated settings', () => {
    const exp = {
      sysctls: { ...BASE_SYSCTLS, portLo: 40_000, portHi: 40_099 },
      server: { kind: 'plain', ports: [8080], backlog: 511 } as const,
      clients: { host: '127.0.0.1', ports: [8080], srcAddrs: [], count: 120, spacingMs: 1, settleMs: 500 },
    };
    expect(runLab(exp).rounds[0]!.outcomes).toEqual({ open: 100, EADDRNOTAVAIL: 20 });
    expect(runLab({ ...exp, sysctls: { ...exp.sysctls, twReuse: 0 } }).rounds[0]!.outcomes).toEqual({ open: 100, EADDRNOTAVAIL: 20 });
  });
});
