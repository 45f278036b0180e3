// The held bench and the server launcher at tiny N (harness correctness only, no timing): odin with
// --workers 2 and the naive hub each hold every connection through a short hold, and the memory reading
// of a cluster covers its primary and workers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { heldQuick, runHeld } from '../../benchmarks/e2e/held.bench.js';
import { startOdin, treeRssBytes } from '../../benchmarks/e2e/servers.js';

const quiet = (): void => undefined;

describe('end-to-end benches: held (tiny N)', () => {
  it('held: odin with --workers 2 and the naive hub each hold every connection and deliver to all', { timeout: 90_000 }, async () => {
    const results = await runHeld(heldQuick, [], quiet);
    expect(results.map((r) => r.server)).toEqual(['odin', 'naive']);
    for (const r of results) {
      expect(r.report.connections.heldAtEnd).toBe(heldQuick.connections);
      expect(r.unexpectedDrops).toBe(0);
      expect(r.report.phases[0]!.delivered).toBe(r.report.phases[0]!.expected);
      expect(r.peakRssBytes).toBeGreaterThan(0);
    }
    // Two workers and a primary: more than one process's memory.
    expect(results[0]!.serverProcesses).toBe(2);
  });

  it('odin with --workers: the RSS reading covers the primary and its workers', { timeout: 60_000 }, async () => {
    const odin = await startOdin({ workers: 2 });
    try {
      // The cluster workers (tsx may run a short-lived esbuild child beside them).
      const children = readFileSync(`/proc/${odin.pid}/task/${odin.pid}/children`, 'utf8').trim().split(/\s+/);
      const workers = children.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve'));
      expect(workers).toHaveLength(2);
      const primaryOnly = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${odin.pid}/status`, 'utf8'))![1]) * 1024;
      expect(odin.rssBytes()).toBeGreaterThan(primaryOnly * 2);
      expect(treeRssBytes(odin.pid)).toBeGreaterThan(primaryOnly * 2);
    } finally {
      await odin.stop();
    }
  });
});
