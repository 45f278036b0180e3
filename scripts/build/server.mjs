// The server's build: every src/**/*.ts becomes dist/**/*.js (esbuild, one file in, one file out, so the
// CLI's relative dynamic imports keep working) and tsc adds the .d.ts files beside them. esbuild takes a
// second for the whole tree, which is why the test suite can rebuild the JavaScript before every run
// (test/support/build-packages.ts); type checking stays with `tsc --noEmit`. src/client is not part of
// the server (the client package bundles it, scripts/build/client.mjs), but its declarations are: the
// client package copies them from here. The server package ships the JavaScript only (package.json
// `files`): it is a command, not a library, and exports nothing else.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, sep } from 'node:path';
import { build } from 'esbuild';
import { repoRoot, tscBin } from './paths.mjs';

const SRC = join(repoRoot, 'src');
export const SERVER_DIST = join(repoRoot, 'dist');

function sources() {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith(`client${sep}`))
    .map((file) => join(SRC, file));
}

/** dist/**\/*.js from src/**\/*.ts. `clean` first removes dist/, so deleted sources leave nothing behind. */
export async function buildServerJs({ clean = false } = {}) {
  if (clean) rmSync(SERVER_DIST, { recursive: true, force: true });
  await build({
    entryPoints: sources(),
    outdir: SERVER_DIST,
    outbase: SRC,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
}

/** dist/**\/*.d.ts, from tsconfig.build.json. */
export function buildServerTypes() {
  execFileSync(process.execPath, [tscBin(), '-p', join(repoRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
}
