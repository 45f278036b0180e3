// Podman for the image test: the CLI as scripts/podman-setup.sh configured it (CONTAINERS_CONF selects
// runc and the ulimits this VM allows; .testcontainers.env carries it), and why it is unusable when it is.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Variables from .testcontainers.env that are not already set (CONTAINERS_CONF above all). */
function containerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const file = join(repoRoot, '.testcontainers.env');
  if (!existsSync(file)) return env;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match && env[match[1]!] === undefined) env[match[1]!] = match[2]!;
  }
  return env;
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded); never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env: containerEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr: error !== null && typeof error.code !== 'number' ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

export const podman = (args: readonly string[], timeoutMs?: number): Promise<Ran> => run('podman', args, timeoutMs);

/** Why podman cannot run a container here, or null: a real container start, not `which podman`. */
export async function podmanProblem(): Promise<string | null> {
  const version = await podman(['version', '--format', '{{.Client.Version}}'], 20_000);
  if (version.code !== 0) return `podman is not usable: ${(version.stderr || version.stdout).trim().split('\n')[0]}`;
  return null;
}
