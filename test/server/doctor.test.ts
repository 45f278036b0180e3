// `odin doctor`: every check runs on this machine, the pre-framing self-test passes, and a bad config is a
// failing check (exit code 1) rather than a crash.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { checkNetwork, checkPreframing, main, runChecks } from '../../src/server/doctor.js';

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
    const { config } = loadConfig({
      flags: [
        { path: 'server.port', raw: '0', flag: '--port' },
        { path: 'server.host', raw: '127.0.0.1', flag: '--host' },
      ],
    });
    const checks = await runChecks(config);
    expect(checks.map((c) => c.name)).toEqual([
      'node',
      'ws',
      'memory',
      'descriptors',
      'capacity',
      'somaxconn',
      'syn queue',
      'ports',
      'tw_reuse',
      'cores',
      'listen',
      'preframing',
    ]);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === 'capacity')!.detail).toMatch(/^max connections \d+ \(bound by (config|memory|descriptors);/);
  });

  it('says what each kernel limit allows, from fake /proc values', () => {
    const proc = (values: Record<string, string>) => (path: string) => {
      const value = values[path.replace('/proc/sys/net/', '')];
      if (value === undefined) throw new Error('ENOENT');
      return `${value}\n`;
    };
    const macLike = checkNetwork(
      proc({
        'core/somaxconn': '128',
        'ipv4/tcp_max_syn_backlog': '64',
        'ipv4/tcp_syncookies': '0',
        'ipv4/ip_local_port_range': '49152\t65535',
        'ipv4/tcp_tw_reuse': '0',
      }),
      8,
    );
    const byName = Object.fromEntries(macLike.map((c) => [c.name, c]));
    expect(byName.somaxconn).toMatchObject({ status: 'warn' });
    expect(byName.somaxconn!.detail).toContain('only 128 handshakes');
    // Without syncookies the SYN queue is the smaller of the accept queue and tcp_max_syn_backlog.
    expect(byName['syn queue']).toMatchObject({ status: 'warn' });
    expect(byName['syn queue']!.detail).toContain(': 64 half-open');
    expect(byName.ports!.detail).toContain('at most 16384 connections');
    expect(byName.tw_reuse!.detail).toContain('full 60 s');
    expect(byName.cores!.detail).toContain('8 available');
    const linux = Object.fromEntries(
      checkNetwork(
        proc({
          'core/somaxconn': '4096',
          'ipv4/tcp_max_syn_backlog': '1024',
          'ipv4/tcp_syncookies': '1',
          'ipv4/ip_local_port_range': '32768 60999',
          'ipv4/tcp_tw_reuse': '2',
        }),
        2,
      ).map((c) => [c.name, c]),
    );
    // With cookies on, tcp_max_syn_backlog does not bind; Node's backlog of 511 does.
    expect(linux['syn queue']!.detail).toContain(': 511 half-open');
    expect(linux.ports!.detail).toContain('at most 28232 connections');
    expect(
      checkNetwork(() => {
        throw new Error('no /proc');
      }, 1),
    ).toEqual([{ name: 'network', status: 'ok', detail: 'not Linux (or /proc not readable): skipped' }]);
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
    expect(out.join('')).toMatch(/^\[ {2}ok\] config /);
  });
});
