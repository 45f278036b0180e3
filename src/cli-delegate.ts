// Runs a subcommand that lives in its own module (sim, doctor, bench). Specifiers are relative to src/,
// where this file and cli.ts both live.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A subcommand whose module is not part of this build: a usage-level failure, not a crash. */
export const EXIT_UNAVAILABLE = 2;

/**
 * Imports `specifier` and calls its `main(argv)` (or default function); a number it returns (or resolves
 * to) is the exit code. A module without either ran on import: exit code 0. When the module does not
 * exist the answer is a clear "not available yet" and EXIT_UNAVAILABLE; an import error from inside an
 * existing module propagates, because hiding it would make a broken module look absent.
 */
export async function delegate(label: string, specifier: string, argv: readonly string[]): Promise<number> {
  if (!moduleExists(specifier)) {
    process.stderr.write(`odin ${label}: not available yet (${specifier} is not part of this build)\n`);
    return EXIT_UNAVAILABLE;
  }
  const mod = (await import(specifier)) as Record<string, unknown>;
  const entry = typeof mod.main === 'function' ? mod.main : typeof mod.default === 'function' ? mod.default : null;
  if (entry === null) return 0;
  const result: unknown = await (entry as (argv: readonly string[]) => unknown)(argv);
  return typeof result === 'number' ? result : 0;
}

/**
 * Looks for the file rather than interpreting an import error: "module not found" for the subcommand and
 * for something the subcommand imports read alike, and only the first means "not available".
 * Sources are TypeScript run through tsx, so `x.js` may exist as `x.ts`.
 */
function moduleExists(specifier: string): boolean {
  const path = fileURLToPath(new URL(specifier, import.meta.url));
  return [path, path.replace(/\.js$/, '.ts')].some((candidate) => existsSync(candidate));
}
