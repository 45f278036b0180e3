// `odin load` as a process: --json on stdout, progress on stderr, and SIGINT ends the run with a report of
// what happened so far (exit 130) and leaves no worker process behind.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadReport } from '../../src/load/report.js';
import { start, type Started } from '../server/server-fixture.js';

const BIN = fileURLToPath(new URL('../../bin/odin.mjs', import.meta.url));

let odin: Started;
beforeAll(async () => {
  odin = await start({ 'log.level': 'silent' });
});
afterAll(async () => {
  await odin?.close();
});

/** The load worker processes under `pid` (tsx may run a short-lived esbuild child beside them). */
function loadWorkersOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /load\/worker\.(ts|js)/.test(line))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('odin load (process)', () => {
  it('stops on SIGINT with a JSON report of the run so far and no worker left running', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [BIN, 'load', `${odin.wsUrl}?v=1`, '-c', '6', '--hold', '60', '--interval', '1', '--json', '--no-progress'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const firstLine = new Promise<void>((resolve) =>
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/open 6\/6/.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await firstLine;
    const workers = loadWorkersOf(child.pid!);
    const said = (): string => `stdout: ${stdout.slice(0, 2_000)}\nstderr: ${stderr.slice(-2_000)}`;
    expect(workers, said()).toHaveLength(2);
    child.kill('SIGINT');
    expect(await exited, said()).toBe(130);
    const report = JSON.parse(stdout) as LoadReport;
    expect(report.interrupted, said()).toBe('SIGINT');
    expect(report.connections, said()).toMatchObject({ attempted: 6, subscribed: 6 });
    expect(stderr).toContain('SIGINT: closing the connections');
    // The coordinator waits for its workers before it exits; a loaded machine may still be reaping them.
    for (const deadline = Date.now() + 5_000; workers.some(alive) && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(workers.filter(alive)).toEqual([]);
  });

  it('prints its usage for --help and refuses a target beyond loopback with exit 2', () => {
    const help = execFileSync(process.execPath, [BIN, 'load', '--help'], { encoding: 'utf8' });
    expect(help).toContain('usage: odin load');
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [BIN, 'load', 'ws://192.0.2.1/ws'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      code = (error as { status: number }).status;
      stderr = String((error as { stderr: string }).stderr);
    }
    expect(code).toBe(2);
    expect(stderr).toContain('loopback');
  });
});
