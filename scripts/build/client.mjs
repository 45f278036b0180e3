// The client package (packages/client): bundles of src/client — the source the laboratory and the tests
// run — plus its type declarations. Bundled (esbuild) rather than transpiled file by file because the
// client's sources also reach into src/core/protocol.ts and ports.ts: a bundle takes exactly what the
// client uses, so the package ships no server code and needs nothing but `ws` (Node only).
//   dist/node.js                     Node entry (ws socket adapter), ESM, `ws` left as an import
//   dist/browser.js                  browser entry for bundlers, ESM, no Node module
//   dist/odin-client.esm.js          ready browser bundle, ESM, minified, with a source map
//   dist/odin-client.global.js       ready browser bundle for a <script> tag: window.Odin, with a source map
//   dist/types/                      declarations (copied from the server build's tsc output, see below)
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './paths.mjs';
import { SERVER_DIST } from './server.mjs';

export const CLIENT_DIST = join(repoRoot, 'packages', 'client', 'dist');
const ENTRY_NODE = join(repoRoot, 'src', 'client', 'index.ts');
const ENTRY_BROWSER = join(repoRoot, 'src', 'client', 'browser.ts');
/** Browsers with WebSocket close codes 4000–4999 and ES2020 syntax: every evergreen browser since 2020. */
const BROWSER_TARGET = ['es2020'];

/** The JavaScript bundles. */
export async function buildClientJs({ clean = false } = {}) {
  if (clean) rmSync(CLIENT_DIST, { recursive: true, force: true });
  const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning', legalComments: 'none' };
  await build({ ...common, entryPoints: [ENTRY_NODE], outfile: join(CLIENT_DIST, 'node.js'), platform: 'node', target: 'node20', external: ['ws'] });
  const browser = await build({
    ...common,
    entryPoints: [ENTRY_BROWSER],
    outfile: join(CLIENT_DIST, 'browser.js'),
    platform: 'browser',
    target: BROWSER_TARGET,
    metafile: true,
  });
  // A Node module or ws reached from the browser entry would be bundled as a stub (ws ships one that throws).
  const strays = Object.keys(browser.metafile.inputs).filter((input) => input.includes('node_modules') || input.endsWith('socket-node.ts'));
  if (strays.length > 0) throw new Error(`build: the browser entry reaches Node-only code: ${strays.join(', ')}`);
  await build({
    ...common,
    entryPoints: [ENTRY_BROWSER],
    outfile: join(CLIENT_DIST, 'odin-client.esm.js'),
    platform: 'browser',
    target: BROWSER_TARGET,
    minify: true,
  });
  await build({
    ...common,
    entryPoints: [ENTRY_BROWSER],
    outfile: join(CLIENT_DIST, 'odin-client.global.js'),
    platform: 'browser',
    target: BROWSER_TARGET,
    minify: true,
    format: 'iife',
    globalName: 'Odin',
  });
}

/** Relative specifiers a declaration file imports. */
function relativeImports(text) {
  return [...text.matchAll(/\bfrom\s+['"](\.[^'"]+)['"]/g), ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1]);
}

/**
 * The declarations: the server build's tsc already wrote dist/client/*.d.ts and dist/core/*.d.ts from
 * the same sources, so they are copied — the client's and the two core files it imports — keeping the
 * src/ layout under dist/types/. Fails when a copied file imports something left behind, or a package
 * other than `ws`, so the package's types never point outside it.
 */
export function buildClientTypes() {
  const target = join(CLIENT_DIST, 'types');
  rmSync(target, { recursive: true, force: true });
  const sourceClient = join(SERVER_DIST, 'client');
  if (!existsSync(sourceClient)) throw new Error(`build: ${sourceClient} is missing: the server's declarations come first`);
  cpSync(sourceClient, join(target, 'client'), { recursive: true, filter: (from) => !from.endsWith('.js') });
  mkdirSync(join(target, 'core'), { recursive: true });
  for (const file of ['protocol.d.ts', 'ports.d.ts']) cpSync(join(SERVER_DIST, 'core', file), join(target, 'core', file));
  const problems = [];
  for (const file of readdirSync(target, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'))) {
    const path = join(target, file);
    const text = readFileSync(path, 'utf8');
    for (const specifier of relativeImports(text)) {
      const resolved = join(dirname(path), specifier.replace(/\.js$/, '.d.ts'));
      if (!existsSync(resolved)) problems.push(`${file} imports ${specifier}, which is not in the package`);
    }
    for (const m of text.matchAll(/\bfrom\s+['"]([^.'"][^'"]*)['"]/g)) problems.push(`${file} imports the package ${m[1]}: consumers would need its types`);
  }
  if (problems.length > 0) throw new Error(`build: the client's declarations are not self-contained:\n  ${problems.join('\n  ')}`);
  return relative(repoRoot, target);
}
