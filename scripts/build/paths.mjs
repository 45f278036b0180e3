// Where the build reads and writes, from the repository root.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Resolved when a step needs it: the container image's build compiles the JavaScript only, without
 * TypeScript installed (Dockerfile). */
export const tscBin = () => createRequire(import.meta.url).resolve('typescript/bin/tsc');
