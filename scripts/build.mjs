// `npm run build` (and `npm install`/`npm ci`, through `prepare`): the compiled server in dist/, the
// client package and the React binding in packages/*/dist. `--js` rebuilds only the JavaScript (about a
// second: what the test suite does before it runs, test/support/build-packages.ts).
import { buildClientJs, buildClientTypes } from './build/client.mjs';
import { buildReactJs, buildReactTypes } from './build/react.mjs';
import { buildServerJs, buildServerTypes } from './build/server.mjs';

const jsOnly = process.argv.includes('--js');
const started = Date.now();
const step = async (label, run) => {
  const t = Date.now();
  await run();
  process.stdout.write(`build: ${label} (${Date.now() - t} ms)\n`);
};

await step('server JavaScript → dist/', () => buildServerJs({ clean: !jsOnly }));
if (!jsOnly) await step('server declarations → dist/', buildServerTypes);
await step('client bundles → packages/client/dist/', () => buildClientJs({ clean: !jsOnly }));
if (!jsOnly) await step('client declarations → packages/client/dist/types/', buildClientTypes);
await step('React binding → packages/react/dist/', () => buildReactJs({ clean: !jsOnly }));
if (!jsOnly) await step('React declarations → packages/react/dist/types/', buildReactTypes);
process.stdout.write(`build: done in ${Date.now() - started} ms\n`);
