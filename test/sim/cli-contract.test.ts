// The lab CLI's contract (docs/lab.md, "The CLI contract"): for every registered scenario, `--json` is one
// document with scenario, seed, inputs, reportHash and per gateway profile attempted / connected /
// failures / boundBy / timeline; one seed twice gives the same bytes; the contract keys exist where they
// make sense; --set refuses unknown keys; --inputs gives a meaning for every key; --profile host maps
// this machine's limits; --help prints usage. Runs are shrunk with --set so the file stays fast.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostProfile, main, readHost } from '../../sim/cli.js';
import { failureKind } from '../../sim/report/contract.js';
import { intervalFor, MAX_POINTS } from '../../sim/report/timeline.js';
import { meaningOf } from '../../sim/scenarios/inputs/meanings.js';
import { scenarios } from '../../sim/scenarios/index.js';
import { mac4500 } from '../../sim/scenarios/mac-4500.js';

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, { out: (s) => void (out += s), err: (s) => void (err += s), wallMs: () => 0 });
  return { code, out, err };
}

/** Per scenario: --set arguments that shrink the run (the as-given variant only) and keep a limit binding where cheap. */
const FAST: Readonly<Record<string, readonly string[]>> = {
  'mac-4500': ['load.connections=1200', 'gateway.nofile=1024', 'robots.nofile=1024'],
  'loadgen-ports': ['load.connections=1500'],
  'scale-100k': ['load.connections=1000', 'feed.broadcasts=2'],
  'cloudrun-512mb': ['load.connections=2500'],
  'syn-backlog': ['load.connections=2000'],
  'docker-nofile-1024': ['load.connections=2000'],
  'memory-7gb': ['load.connections=2000'],
  'slow-clients': ['load.connections=40', 'feed.durationMs=5000'],
  'broker-outage': ['load.connections=200'],
  'rolling-restart': ['load.connections=300', 'load.sourceAddresses=5'],
  'windows-hub': ['load.connections=100'],
};

const C = ['gateway.nofile', 'robots.nofile', 'host.somaxconn', 'load.connections', 'load.rampPerSecond'];
const SYN = ['host.synBacklog', 'host.syncookies'];
const LOADGEN = ['loadgen.portRange', 'loadgen.sourceAddresses', 'loadgen.twReuse'];
/**
 * Which contract keys each scenario must have. mac-4500 runs on macOS (one BSD listen queue, no
 * tcp_max_syn_backlog or syncookies; the load shares the laptop, no separate load generator); the
 * ours-only stories (broker-outage, rolling-restart, scale-100k, windows-hub) are about load, not host limits.
 */
const CONTRACT_KEYS: Readonly<Record<string, readonly string[]>> = {
  'mac-4500': [...C, 'story.perConnectionKiB'],
  'loadgen-ports': [...C, ...SYN, ...LOADGEN, 'story.perConnectionKiB', 'story.overheadMiB'],
  'cloudrun-512mb': [...C, ...SYN, ...LOADGEN, 'container.memoryMiB', 'story.perConnectionKiB', 'story.overheadMiB'],
  'syn-backlog': [...C, ...SYN, ...LOADGEN, 'story.perConnectionKiB', 'story.overheadMiB'],
  'docker-nofile-1024': [...C, ...SYN, ...LOADGEN, 'container.memoryMiB', 'story.perConnectionKiB', 'story.overheadMiB'],
  'memory-7gb': [...C, ...SYN, ...LOADGEN, 'container.memoryMiB', 'story.perConnectionKiB', 'story.overheadMiB'],
  'slow-clients': [...C, ...SYN, ...LOADGEN],
  'broker-outage': ['load.connections', 'load.rampPerSecond'],
  'rolling-restart': ['load.connections', 'load.rampPerSecond'],
  'scale-100k': ['gateway.nofile', 'load.connections', 'load.rampPerSecond'],
  'windows-hub': ['load.connections', 'load.rampPerSecond'],
};

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

describe('sim CLI contract, every registered scenario', () => {
  it('every registered scenario has a shrink entry and a contract-key row (a new scenario must be added here)', () => {
    expect(Object.keys(FAST).sort()).toEqual(scenarios.map((s) => s.name).sort());
    expect(Object.keys(CONTRACT_KEYS).sort()).toEqual(scenarios.map((s) => s.name).sort());
  });

  for (const s of scenarios) {
    it(`${s.name}: --json twice with one seed → identical bytes and reportHash; the contract's fields and types`, () => {
      const args = ['--scenario', s.name, '--seed', '7', '--variant', 'as given', '--json', ...(FAST[s.name] ?? []).flatMap((kv) => ['--set', kv])];
      const a = cli(args);
      expect(a.err).not.toMatch(/Error|at .*\.ts:/);
      expect(a.code).toBe(0);
      const b = cli(args);
      expect(b.out).toBe(a.out);
      const doc = JSON.parse(a.out) as Record<string, unknown>;
      expect(doc['reportHash']).toBe((JSON.parse(b.out) as Record<string, unknown>)['reportHash']);
      // reportHash = sha256 of the document without the hash, serialised with 2-space indentation.
      const { reportHash, ...rest } = doc;
      expect(reportHash).toMatch(/^[0-9a-f]{64}$/);
      expect(
        createHash('sha256')
          .update(JSON.stringify(rest, null, 2))
          .digest('hex'),
      ).toBe(reportHash);
      expect(doc['scenario']).toBe(s.name);
      expect(doc['seed']).toBe('7');
      const inputs = doc['inputs'] as Record<string, unknown>;
      expect(Object.keys(inputs).sort()).toEqual(Object.keys(s.defaults).sort());
      for (const kv of FAST[s.name] ?? []) {
        const [k, v] = kv.split('=') as [string, string];
        expect(String(inputs[k])).toBe(v); // effective inputs, after --set
      }
      for (const g of s.gateways) {
        const p = doc[g] as Record<string, unknown>;
        expect(p, `${s.name}: ${g}`).toBeDefined();
        expect(isCount(p['attempted'])).toBe(true);
        expect(isCount(p['connected'])).toBe(true);
        expect(p['connected'] as number).toBeLessThanOrEqual(Math.max(p['attempted'] as number, 1) * 1);
        const failures = p['failures'] as Record<string, number>;
        for (const [k, v] of Object.entries(failures)) {
          expect(k).toMatch(/^[A-Z][A-Z0-9_]*$/);
          expect(isCount(v)).toBe(true);
        }
        const bound = p['boundBy'];
        expect(bound === null || (typeof bound === 'string' && inputs[bound] !== undefined)).toBe(true);
        const tl = p['timeline'] as { atMs: number; connected: number; attempts: number; failures: Record<string, number> }[];
        expect(Array.isArray(tl), `${s.name}/${g}: timeline`).toBe(true);
        expect(tl.length).toBeGreaterThan(1);
        expect(tl.length).toBeLessThanOrEqual(MAX_POINTS);
        for (let i = 1; i < tl.length; i++) {
          expect(tl[i]!.atMs).toBeGreaterThan(tl[i - 1]!.atMs);
          expect(tl[i]!.attempts).toBeGreaterThanOrEqual(tl[i - 1]!.attempts);
        }
        expect(Math.max(...tl.map((x) => x.connected))).toBeLessThanOrEqual(p['connected'] as number);
      }
      expect(typeof doc['variants']).toBe('object');
      expect(typeof doc['diagnosis']).toBe('object');
    });

    it(`${s.name}: has the contract keys where they make sense, and a meaning for every key`, () => {
      for (const k of CONTRACT_KEYS[s.name] ?? []) expect(s.defaults[k], `${s.name}: ${k}`).toBeDefined();
      const missing = Object.keys(s.defaults).filter((k) => meaningOf(k) === undefined);
      expect(missing).toEqual([]);
      const listed = cli(['--scenario', s.name, '--inputs']);
      expect(listed.code).toBe(0);
      const lines = listed.out.trim().split('\n');
      expect(lines).toHaveLength(Object.keys(s.defaults).length);
      for (const line of lines) expect(line).not.toContain('(no meaning written)');
    });
  }
});

describe('sim CLI contract: flags', () => {
  it('mac-4500 with its fixes: the limit is named by its input key, and each fix is re-run as what-if evidence', () => {
    const r = cli([
      '--scenario',
      'mac-4500',
      '--gateway',
      'story',
      '--json',
      '--set',
      'load.connections=1200',
      '--set',
      'gateway.nofile=1024',
      '--set',
      'robots.nofile=1024',
    ]);
    const doc = JSON.parse(r.out);
    expect(doc.story.boundBy).toMatch(/^(gateway|robots)\.nofile$/);
    expect(doc.story.failures['EMFILE']).toBeGreaterThan(0);
    // The fixes, then — ECONNRESET not coming out — the story's candidate mechanisms (sim/report/verdict.ts).
    expect(Object.keys(doc.variants)).toEqual([
      'ulimit -n 65535',
      'somaxconn 1024',
      'spread bets 0–3 s',
      ...Object.keys(mac4500.claim.candidates ?? {}).map((c) => `candidate: ${c}`),
    ]);
    expect(doc.variants['ulimit -n 65535'].story.boundBy).toBeNull();
    expect(doc.variants['ulimit -n 65535'].story.failures).toEqual({});
  });

  it('--set of an unknown key fails with a clear message (exit 2); a bad value too', () => {
    const r = cli(['--scenario', 'docker-nofile-1024', '--set', 'gateway.nofiel=10', '--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('unknown input "gateway.nofiel"; see --inputs');
    expect(cli(['--scenario', 'docker-nofile-1024', '--set', 'gateway.nofile=lots']).err).toContain('expects a number');
  });

  it('--help prints usage with every contract flag; an unknown flag prints it too and exits 2', () => {
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    for (const flag of ['--scenario', '--seed', '--set', '--json', '--html', '--inputs', '--profile host', '--list']) expect(h.out).toContain(flag);
    const bad = cli(['--frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('usage:');
  });

  it('--profile host maps the open-files and port-range keys (from a fake /proc too) and says where each came from', () => {
    const docker = scenarios.find((s) => s.name === 'docker-nofile-1024')!;
    const fake = hostProfile(docker.defaults, {
      nofileSoft: 4242,
      nofileHard: 8484,
      portRange: '1024-65535',
      somaxconn: 333,
      cores: 3,
      sources: { nofileSoft: 'fake limits', portRange: 'fake range' },
    });
    expect(fake.values).toMatchObject({
      'gateway.nofile': 4242,
      'robots.nofile': 4242,
      'gateway.nofileHard': 8484,
      'loadgen.portRange': '1024-65535',
      'host.somaxconn': 333,
      'host.cores': 3,
    });
    expect(fake.from['gateway.nofile']).toBe('fake limits');
    // This machine: Linux in CI and here, so open files and the port range are readable.
    const host = readHost();
    const mapped = hostProfile(docker.defaults, host);
    expect(mapped.from['gateway.nofile']).toBeDefined();
    expect(mapped.from['loadgen.portRange']).toBeDefined();
    const r = cli(['--scenario', 'docker-nofile-1024', '--profile', 'host', '--inputs']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^gateway\.nofile\s+\d+\s+.*\[from host: /m);
    expect(r.out).toMatch(/^loadgen\.portRange\s+"\d+-\d+"\s+.*\[from host: /m);
    expect(r.err).toContain('--profile host: gateway.nofile =');
    // --set still wins over the host's value.
    const s = cli(['--scenario', 'docker-nofile-1024', '--profile', 'host', '--set', 'gateway.nofile=777', '--inputs']);
    expect(s.out).toMatch(/^gateway\.nofile\s+777\s/m);
  });

  it('outcome labels map to the contract kinds', () => {
    const cases: [string, string | null][] = [
      ['EMFILE@connecting', 'EMFILE'],
      ['upgrade-timeout@upgrading', 'UPGRADE_TIMEOUT'],
      ['timeout@upgrading', 'UPGRADE_TIMEOUT'],
      ['timeout@connecting', 'ETIMEDOUT'],
      ['http-503@upgrading', 'HTTP_503'],
      ['http-429', 'HTTP_429'],
      ['ECONNRESET@open', 'ECONNRESET'],
      // The phase says when, not whether: a server's close of an open connection is a failure.
      ['closed-by-server@open', 'CLOSED_BY_SERVER'],
      ['EADDRNOTAVAIL', 'EADDRNOTAVAIL'],
      ['ECONNREFUSED', 'ECONNREFUSED'],
      ['ok', null],
      ['welcome', null],
      ['users:open', null],
    ];
    for (const [label, kind] of cases) expect(failureKind(label), label).toBe(kind);
  });

  it('the timeline interval keeps a run within the point bound', () => {
    for (const ms of [1_000, 60_000, 180_000, 3_600_000]) expect(ms / intervalFor(ms)).toBeLessThan(MAX_POINTS);
  });
});
