// Regenerates the reference tables in docs/operations.md: `npx tsx scripts/docs.ts`.
import { readFileSync, writeFileSync } from 'node:fs';
import { metricsTable, settingsTable, spliceGenerated } from '../src/server/reference.js';

const path = new URL('../docs/operations.md', import.meta.url);
let doc = readFileSync(path, 'utf8');
doc = spliceGenerated(doc, 'settings', settingsTable());
doc = spliceGenerated(doc, 'metrics', metricsTable());
writeFileSync(path, doc);
