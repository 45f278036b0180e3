// Runs a subcommand that lives in its own module (sim, doctor, bench). Specifiers are relative to src/,
// where this file and cli.ts both live.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A subcommand whose module is not part of this build: a usage-level failure, not a crash. */
export const EXIT_UNAVAILABLE = 2;

/**
 * Imports `specifier` and calls its `main(argv)` (or default function); a number it returns (or resolves
 * to) is the exit code. A module without either ran on import: exit code 0. When the module does not
 * exist the answer is a clear "not available" (plus `hint`, where to find it) and EXIT_UNAVAILABLE; an
 * import error from inside an existing module propagates, because hiding it would make a broken module
 * look absent.
 */
export async function delegate(label: string, specifier: string, argv: readonly string[], hint?: string): Promise<number> {
  if (!moduleExists(specifier)) {
    process.stderr.write(`odin ${label}: not available in this build (${specifier} is not part of it)${hint === undefined ? '' : `; ${hint}`}\n`);
    return EXIT_UNAVAILABLE;
  }
  const mod = (await import(specifier)) as Record<string, unknown>;
  const entry = typeof mod.main === 'function' ? mod.main : typeof mod.default === 'function' ? mod.default : null;
  if (entry === null) return 0;
  const result: unknown = await (entry as (argv: readonly string[]) => unknown)(argv);
  return typeof result === 'number' ? result : 0;
}

/** Run from the TypeScript sources (tsx, vitest) rather than from the compiled dist/. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Looks for the file rather than interpreting an import error: "module not found" for the subcommand and
 * for something the subcommand imports read alike, and only the first means "not available". Run from
 * the sources, `x.js` may exist as `x.ts`; run compiled, only JavaScript can be imported (the laboratory's
 * sim/ and benchmarks/ sit beside a checkout's dist/ as TypeScript, and are not in the package at all).
 */
function moduleExists(specifier: string): boolean {
  const path = fileURLToPath(new URL(specifier, import.meta.url));
  const candidates = FROM_SOURCES ? [path, path.replace(/\.js$/, '.ts')] : [path];
  return candidates.some((candidate) => existsSync(candidate));
}
