// `odin doctor`: every check runs on this machine, the pre-framing self-test passes, and a bad config is a
// failing check (exit code 1) rather than a crash.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { checkPreframing, main, runChecks } from '../../src/server/doctor.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function captureStdout(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe('odin doctor', () => {
  it('runs every check without a failure on a free port', async () => {
    const { config } = loadConfig({ flags: [{ path: 'server.port', raw: '0', flag: '--port' }, { path: 'server.host', raw: '127.0.0.1', flag: '--host' }] });
    const checks = await runChecks(config);
    expect(checks.map((c) => c.name)).toEqual(['node', 'ws', 'memory', 'descriptors', 'capacity', 'somaxconn', 'listen', 'preframing']);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === 'capacity')!.detail).toMatch(/^max connections \d+ \(bound by (config|memory|descriptors);/);
  });

  it('verifies the pre-framed write path against a real client', async () => {
    expect(await checkPreframing()).toMatchObject({ status: 'ok' });
  });

  it('reports a bad config as a failed check and exits 1', async () => {
    const out = captureStdout();
    expect(await main(['--json', '--set', 'server.port=abc'])).toBe(1);
    const checks = JSON.parse(out.join('')) as Array<{ name: string; status: string; detail: string }>;
    expect(checks).toEqual([{ name: 'config', status: 'fail', detail: '--set server.port="abc": expected an integer 0..65535' }]);
  });

  it('exits 0 and prints one line per check when all pass', async () => {
    const out = captureStdout();
    expect(await main(['--port', '0', '--host', '127.0.0.1'])).toBe(0);
    expect(out.join('')).toMatch(/^\[  ok\] config /);
  });
});
