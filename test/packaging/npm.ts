// Running npm from tests: packing the repository's packages and installing them in fresh directories, as
// a user would. npm's own npm_* variables (set when the suite runs under `npm test`) are dropped so the
// inner npm sees a plain environment; --prefer-offline lets the cache that `npm ci` filled answer first.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly string[];
}

function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

export function run(command: string, args: readonly string[], cwd: string, timeoutMs = 90_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd, env: plainEnv(), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * npm pack of the server and both workspace packages into `destination`. Scripts are skipped: the suite's
 * global set-up has just rebuilt the JavaScript, and the declarations come from npm install's build.
 */
export async function packAll(destination: string): Promise<Map<string, Packed>> {
  const { stdout } = await run(
    'npm',
    ['pack', '--workspaces', '--include-workspace-root', '--ignore-scripts', '--json', '--pack-destination', destination],
    repoRoot,
  );
  const entries = JSON.parse(stdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  return new Map(entries.map((e) => [e.name, { name: e.name, filename: join(destination, e.filename), files: e.files.map((f) => f.path) }]));
}

/** A fresh npm project in `dir` with `tarballs` installed; `extra` npm install flags (e.g. --omit=dev). */
export async function installInFreshDir(dir: string, tarballs: readonly string[], extra: readonly string[] = []): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extra, ...tarballs], dir);
}

interface LsNode {
  readonly version?: string;
  readonly dependencies?: Record<string, LsNode>;
}

/** Every installed package in `npm ls --all` of `dir`, depth first (unmet optional peers have no version). */
export async function installedTree(dir: string): Promise<string[]> {
  const { stdout } = await run('npm', ['ls', '--all', '--json'], dir);
  const names: string[] = [];
  const walk = (node: LsNode): void => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.version === undefined) continue;
      names.push(name);
      walk(child);
    }
  };
  walk(JSON.parse(stdout) as LsNode);
  return names;
}
