// Vitest global set-up: rebuilds the JavaScript of dist/ and packages/*/dist (scripts/build.mjs --js, about
// a second) so tests of the compiled CLI and of the packages (packed, or loaded in a browser) run what
// the sources say now. The declarations come from the full build (`npm run build`, run by npm install/ci).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--js'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
