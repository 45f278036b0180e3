// One core, two worlds: src/core (and the client's core files) may reach time, randomness and I/O only
// through ports, and sim/ only through its own scheduler. This test keeps that true by tooling, not memory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const FORBIDDEN: [RegExp, string][] = [
  [/\bfrom\s+['"](node:)?(net|http|https|dgram|fs|child_process|worker_threads|timers|perf_hooks)['"]/, 'a Node I/O or timer module'],
  [/\bfrom\s+['"]ws['"]/, 'the ws package'],
  [/\bfrom\s+['"]@nats-io\//, 'the NATS client'],
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew Date\s*\(\s*\)/, 'new Date()'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bperformance\.now\s*\(/, 'performance.now()'],
  [/\bprocess\.hrtime\b/, 'process.hrtime'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, 'a global timer'],
];

/** Comments may name the forbidden things (to say why they are forbidden). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function violations(files: string[], allowed: (file: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (allowed(file)) continue;
    const text = code(readFileSync(file, 'utf8'));
    for (const [pattern, what] of FORBIDDEN) if (pattern.test(text)) found.push(`${relative(root, file)} uses ${what}`);
  }
  return found;
}

describe('architecture: the core and the simulator stay free of real I/O, time and randomness', () => {
  it('src/core uses only its ports', () => {
    expect(violations(sources(join(root, 'src/core')), () => false)).toEqual([]);
  });

  it('the client core uses only its ports (real adapters live in their own files)', () => {
    const adapters = /(socket-node|socket-browser|system|index)\.ts$/;
    expect(violations(sources(join(root, 'src/client')), (file) => adapters.test(file))).toEqual([]);
  });

  it("sim/ uses only its scheduler (the determinism guard, the CLI and the parity suite's real side are the marked exceptions)", () => {
    // sim/parity/real.ts runs real processes in a namespace on purpose: the other half of each parity row;
    // sim/parity/real-cgroup.ts makes the memory cgroup one of them runs in.
    const exceptions = /sim\/(engine\/determinism-guard|cli|report\/html|parity\/real|parity\/real-cgroup)\.ts$/;
    expect(violations(sources(join(root, 'sim')), (file) => exceptions.test(file))).toEqual([]);
  });

  it('the checker itself catches a leak', () => {
    expect(FORBIDDEN.some(([pattern]) => pattern.test(code('const t = Date.now(); // fine here')))).toBe(true);
    expect(FORBIDDEN.some(([pattern]) => pattern.test(code('// Date.now() is forbidden')))).toBe(false);
  });
});
