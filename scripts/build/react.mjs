// The React binding (packages/react): one ESM file, React and the client left as imports (React is the
// application's, the client is a dependency), plus declarations from tsc.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot, tscBin } from './paths.mjs';

const PACKAGE = join(repoRoot, 'packages', 'react');
export const REACT_DIST = join(PACKAGE, 'dist');

export async function buildReactJs({ clean = false } = {}) {
  if (clean) rmSync(REACT_DIST, { recursive: true, force: true });
  await build({
    entryPoints: [join(PACKAGE, 'src', 'index.ts')],
    outfile: join(REACT_DIST, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: ['es2020'],
    external: ['react', '@odin-gateway/client'],
    sourcemap: true,
    logLevel: 'warning',
  });
}

/** dist/types/*.d.ts; needs the client package's declarations (buildClientTypes) first. */
export function buildReactTypes() {
  execFileSync(process.execPath, [tscBin(), '-p', join(PACKAGE, 'tsconfig.json')], { stdio: 'inherit' });
}
