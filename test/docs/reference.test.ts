// docs/operations.md must list every setting and metric the code has: the generated tables are checked
// against a fresh generation (run `npx tsx scripts/docs.ts` after changing either).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metrics } from '../../src/core/metrics.js';
import { allPaths } from '../../src/server/config.js';
import { metricsTable, settingsTable, spliceGenerated } from '../../src/server/reference.js';

const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

describe('docs/operations.md', () => {
  it('holds the current generated settings and metrics tables', () => {
    const regenerated = spliceGenerated(spliceGenerated(doc, 'settings', settingsTable()), 'metrics', metricsTable());
    expect(doc).toBe(regenerated);
  });

  it('names every setting and every metric', () => {
    for (const path of allPaths()) expect(doc).toContain(`\`${path}\``);
    for (const metric of metrics) expect(doc).toContain(`\`${metric.name}\``);
  });

  it('refuses to splice when the markers are missing', () => {
    expect(() => spliceGenerated('no markers here', 'settings', 'x')).toThrow(/markers/);
  });
});
