// `npm start` is what a container or a process manager often runs, and what it signals: npm forwards
// SIGTERM to the script's process but not beyond it, so the start script execs node (package.json) and
// the signal reaches the server itself. Checked end to end: a client connected through `npm start` is
// closed 1001 by the drain, npm exits 0, and no node process is left behind.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every process below `pid` (Linux /proc), so an orphaned grandchild is found too. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start', () => {
  it('passes SIGTERM to the server: the client is closed 1001, npm exits 0, no orphan', async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, WS_HOST: '127.0.0.1', WS_PORT: '0', WS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let below: number[] = [];
    try {
      const port = await until(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1], `the listening line; output so far:\n${out}`);
      below = descendants(npm.pid!);
      expect(below.length, 'npm runs the server').toBeGreaterThan(0);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.once('message', () => resolve());
        ws.once('error', reject);
      });
      // Bounded: without the fix the client is never closed, and the test should say so, not hang.
      const closed = new Promise<number | string>((resolve) => {
        ws.once('close', (code) => resolve(code));
        setTimeout(() => resolve('not closed within 10 s of SIGTERM to npm'), 10_000).unref();
      });

      npm.kill('SIGTERM');
      expect(await closed).toBe(1001);
      expect(await exited).toBe(0);
      expect(out).toContain('drained; stopped');
      // npm has gone; whatever ran below it must have gone too (drained, not orphaned to init).
      await until(() => (below.some(alive) ? undefined : true), `processes ${below.join(', ')} to exit`, 5_000).catch(() => undefined);
      expect(below.filter(alive), 'processes left behind by npm start').toEqual([]);
    } finally {
      for (const pid of [npm.pid!, ...below]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);
});
