// The container image (deploy/Dockerfile), built and run with Podman: the base is made locally from this
// machine's node (deploy/local-base.sh; no registry is reachable in CI here) unless ODIN_NODE_IMAGE names
// one (e.g. docker.io/library/node:20-bookworm-slim where a registry is). Checks what an orchestrator
// relies on: node is PID 1 and not root, the HEALTHCHECK probes /health and passes, and SIGTERM to the
// container drains: a connected client is closed 1001 and the container exits 0.
// Skipped only when podman itself does not run (the reason is printed); any later failure fails.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../support/nats-fixture.js';
import { podman, podmanProblem, repoRoot, run } from './podman.js';

const IMAGE = 'localhost/odin-gateway:ci';
const CONTAINER = `odin-image-test-${process.pid}`;
const problem = await podmanProblem();
if (problem !== null) process.stdout.write(`[image test] SKIPPED: ${problem}\n`);

function must(result: { code: number; stdout: string; stderr: string }, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr.slice(-4000)}\n${result.stdout.slice(-2000)}`);
  return result.stdout.trim();
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(problem !== null)('the container image (deploy/Dockerfile, podman)', () => {
  let port = 0;

  beforeAll(async () => {
    const base = process.env.ODIN_NODE_IMAGE || must(await run('bash', [join(repoRoot, 'deploy/local-base.sh')]), 'making the local Node base image');
    const started = Date.now();
    // The host's npm cache, when there is one, spares the build the downloads (the Dockerfile does not
    // depend on it). Docker format: the OCI format has no HEALTHCHECK.
    const cache = join(homedir(), '.npm');
    must(
      await podman(
        [
          'build',
          '--format',
          'docker',
          '--network',
          'host',
          ...(existsSync(cache) ? ['-v', `${cache}:/root/.npm`] : []),
          '-f',
          'deploy/Dockerfile',
          '--build-arg',
          `NODE_IMAGE=${base}`,
          '-t',
          IMAGE,
          '.',
        ],
        240_000,
      ),
      'podman build',
    );
    process.stdout.write(`[image test] built ${IMAGE} from ${base} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    await podman(['rm', '-f', CONTAINER]);
    port = await freePort();
    // Host network: no port mapping to depend on; the gateway listens on loopback only.
    must(
      await podman([
        'run',
        '-d',
        '--name',
        CONTAINER,
        '--network',
        'host',
        '--health-interval',
        'disable',
        '-e',
        `WS_PORT=${port}`,
        '-e',
        'WS_HOST=127.0.0.1',
        IMAGE,
      ]),
      'podman run',
    );
  }, 300_000);

  afterAll(async () => {
    await podman(['rm', '-f', CONTAINER]);
  });

  it('holds the compiled server only, declares a non-root user and a HEALTHCHECK on /health', async () => {
    type Health = { Test?: string[] };
    const [image] = JSON.parse(must(await podman(['image', 'inspect', IMAGE]), 'inspect')) as Array<{
      Healthcheck?: Health;
      Config: { User?: string; Healthcheck?: Health; Entrypoint?: string[] };
    }>;
    const config = image!.Config;
    expect(config.User).toBe('1000:1000');
    // Podman shows the health check beside Config, Docker inside it.
    expect((image!.Healthcheck ?? config.Healthcheck)?.Test?.join(' ')).toContain('/health');
    expect(config.Entrypoint).toEqual(['node', 'bin/odin.mjs']);
    const listing = must(
      await podman(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', "console.log(require('fs').readdirSync('.').sort().join(' '))"]),
      'listing /app',
    );
    expect(listing).toBe('bin dist node_modules package.json');
    const devOnly = await podman(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', "require.resolve('typescript')"]);
    expect(devOnly.code, 'a development dependency is in the image').not.toBe(0);
  }, 60_000);

  it('answers /health, passes its HEALTHCHECK, runs node as PID 1 as user node', async () => {
    const health = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      return res.ok ? ((await res.json()) as { status: string }) : undefined;
    }, `/health on port ${port}`);
    expect(health.status).toBe('ok');
    const check = await podman(['healthcheck', 'run', CONTAINER]);
    expect(check.code, check.stderr).toBe(0);
    const top = must(await podman(['top', CONTAINER, 'pid', 'user', 'args']), 'podman top');
    expect(
      top
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')),
    ).toContain('1 node node');
  }, 60_000);

  it('drains on SIGTERM: the connected client is closed 1001 and the container exits 0', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    must(await podman(['kill', '--signal', 'SIGTERM', CONTAINER]), 'podman kill --signal SIGTERM');
    const close = await closed;
    expect(close.code).toBe(1001);
    expect(close.reason).toMatch(/retry-after-ms=\d+/);
    expect(must(await podman(['wait', CONTAINER], 30_000), 'podman wait')).toBe('0');
    expect(must(await podman(['logs', CONTAINER]), 'podman logs')).toContain('drained; stopped (connections closed: 1, terminated: 0)');
  }, 60_000);
});
