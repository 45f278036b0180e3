// The odin CLI as a process: config errors exit 78 with the message, delegated subcommands that do not
// exist yet exit 2, and `serve` drains and exits 0 on SIGTERM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/odin.mjs', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, whileRunning?: (child: ReturnType<typeof spawn>, stdout: () => string) => Promise<void>): Promise<Run> {
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
