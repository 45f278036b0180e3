// The odin CLI as a process, compiled (bin/odin.mjs runs dist/): config errors exit 78 with the message,
// misuse exits with the usage and no stack trace, the laboratory's commands point to a checkout, the
// doctor names a running odin on its port, and `serve` drains and exits 0 on SIGTERM.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { serve } from '../e2e/support.js';

const BIN = fileURLToPath(new URL('../../bin/odin.mjs', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** A line of a Node stack trace: what misuse must never print. */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  args: string[],
  env: Record<string, string> = {},
  whileRunning?: (child: ReturnType<typeof spawn>, stdout: () => string) => Promise<void>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    whileRunning?.(child, () => stdout).catch(reject);
  });
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('odin CLI', () => {
  it('stops on a bad value with the config error and exit code 78', async () => {
    const result = await run(['serve'], { WS_PORT: 'abc' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('config error: WS_PORT="abc": expected an integer 0..65535');
  });

  it('names the flag in errors from the command line', async () => {
    const result = await run(['serve', '--set', 'admission.perUserMax=lots']);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('config error: --set admission.perUserMax="lots": expected an integer 1..1_000_000');
  });

  it('prints the effective config with secrets redacted', async () => {
    const result = await run(['serve', '--print-config', '--port', '9123'], { WS_PUBLISH_API_KEY: 'abcdefghijklmnopqrstuvwxyz' });
    expect(result.code).toBe(0);
    const config = JSON.parse(result.stdout) as { server: { port: number }; publish: { apiKey: string } };
    expect(config.server.port).toBe(9123);
    expect(config.publish.apiKey).toBe('<redacted>');
  });

  it('hands its arguments to a delegated subcommand (doctor)', async () => {
    const result = await run(['doctor', '--port', '0', '--host', '127.0.0.1', '--set', 'admission.connectionsMax=77']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('[  ok] preframing');
    expect(result.stdout).toMatch(/max connections \d+ \(bound by [a-z]+; config 77,/);
  });

  it('prints its version', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await run([flag]);
      expect([result.code, result.stdout]).toEqual([0, `${VERSION}\n`]);
    }
  });

  it("prints the doctor's usage for --help and exits 0", async () => {
    const result = await run(['doctor', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: odin doctor \[options\]/);
    expect(result.stdout).toContain('--port <port>');
    expect(result.stderr).toBe('');
  });

  it('answers an unknown flag with the error and the usage, never a stack trace', async () => {
    const doctor = await run(['doctor', '--bogus']);
    expect(doctor.code).toBe(2);
    expect(doctor.stderr).toContain("error: unknown option '--bogus'");
    expect(doctor.stderr).toContain('Usage: odin doctor [options]');
    const serveRun = await run(['serve', '--bogus']);
    expect(serveRun.code).toBe(1);
    expect(serveRun.stderr).toContain("error: unknown option '--bogus'");
    expect(serveRun.stderr).toContain('Usage: odin serve [options]');
    for (const output of [doctor.stderr, serveRun.stderr]) expect(output).not.toMatch(STACK_FRAME);
  });

  it("points the laboratory's commands to a source checkout (they are not compiled)", async () => {
    const result = await run(['sim', '--list']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'odin sim: not available in this build (../sim/cli.js is not part of it); it runs from the TypeScript sources of a checkout: npm run sim -- …\n',
    );
  });

  it('has the doctor name a running odin that holds the port', async () => {
    const running = await serve();
    try {
      const result = await run(['doctor', '--port', String(running.port), '--host', '127.0.0.1']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        new RegExp(`\\[fail\\] listen +127\\.0\\.0\\.1:${running.port} is taken by a running odin \\(version ${VERSION.replace(/\./g, '\\.')},`),
      );
    } finally {
      await running.close();
    }
  });

  it('serves, then drains and exits 0 on SIGTERM', async () => {
    let url = '';
    const result = await run(['serve', '--port', '0', '--host', '127.0.0.1'], {}, async (child, stdout) => {
      await until(() => /listening on (http:\/\/\S+)/.test(stdout()));
      url = /listening on (http:\/\/\S+)/.exec(stdout())![1]!;
      expect((await fetch(`${url}/health`)).status).toBe(200);
      child.kill('SIGTERM');
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('drained; stopped');
  });
});
