#!/usr/bin/env node
// Entry point of the `odin` CLI: the compiled server in dist/ (built by `npm install` in a checkout, shipped
// built in the package). No TypeScript loader at run time; the laboratory's own commands (`npm run sim`,
// `npm run bench`) run the sources through tsx in a checkout.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('odin: dist/cli.js is missing: build it with `npm run build` (npm install runs it)\n');
  process.exit(1);
}
await import(cli.href);
