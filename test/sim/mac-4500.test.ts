import { GO } from '../../sim/kernel/runtime.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli.js';
import { mac4500 } from '../../sim/scenarios/mac-4500.js';
import { applySets } from '../../sim/scenarios/scenario.js';

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  let t = 0;
  const code = main(args, { out: (s) => void (out += s), err: (s) => void (err += s), wallMs: () => (t += 1) });
  return { code, out, err };
}

describe('mac-4500 (story gateway, TCP level)', () => {
  const base = mac4500.run(mac4500.defaults, '1', 'story', 'as given');
  const n = (k: string) => mac4500.defaults[k] as number;

  it('the sessions the gateway holds are exactly its descriptor budget: nofile − reserved − listener', () => {
    // GO.startFds: the netpoller's epoll and eventfd descriptors.
    expect(base.metrics['sessionsPeak']).toBe(n('gateway.nofile') - n('gateway.fdsReserved') - GO.startFds - 1);
  });

  it('robots beyond their own descriptor table fail with EMFILE at connect (not resets)', () => {
    const robotsFds = n('robots.nofile') - n('robots.fdsReserved') - GO.startFds;
    expect(base.outcomes['EMFILE@connecting']).toBe(n('load.connections') - robotsFds);
    expect(Object.keys(base.outcomes).some((k) => k.startsWith('ECONNRESET'))).toBe(false);
  });

  it('lists the limits earliest first; shifting reserved descriptors changes which side runs out first', () => {
    expect(base.limits.map((l) => l.firstAtMs)).toEqual([...base.limits.map((l) => l.firstAtMs)].sort((a, b) => a - b));
    const robotsFirst = mac4500.run(applySets(mac4500.defaults, ['robots.fdsReserved=100']), '1', 'story', 'what-if');
    expect(robotsFirst.limits[0]?.limit).toMatch(/^robots\.nofile — /);
    const gatewayFirst = mac4500.run(applySets(mac4500.defaults, ['gateway.fdsReserved=100']), '1', 'story', 'what-if');
    expect(gatewayFirst.limits[0]?.limit).toMatch(/^gateway\.nofile — /);
  });

  it('raising nofile on both sides lets every robot in', () => {
    const r = mac4500.run({ ...mac4500.defaults, ...mac4500.variants['ulimit -n 65535'] }, '1', 'story', 'ulimit');
    expect(r.outcomes).toEqual({ ok: n('load.connections') });
  });

  it('the bet herd queues on the CPU; spreading bets over 0–3 s cuts the median latency', () => {
    const spread = mac4500.run({ ...mac4500.defaults, ...mac4500.variants['spread bets 0–3 s'] }, '1', 'story', 'spread');
    expect(spread.metrics['betLatencyP50Ms']!).toBeLessThan(base.metrics['betLatencyP50Ms']! / 5);
    // The herd's median is at least the CPU work of everyone's bet divided by the cores.
    const perBetMs = n('gateway.inboundCpuMs') + n('story.betCpuMs') + n('gateway.outboundCpuMs');
    expect(base.metrics['betLatencyP50Ms']!).toBeGreaterThan((base.metrics['sessionsAtBetting']! * perBetMs) / n('host.cores') / 2);
  });
});

describe('sim CLI', () => {
  it('same seed → same report bytes (text and JSON); another seed runs too', () => {
    const a = cli(['--scenario', 'mac-4500', '--gateway', 'story', '--variant', 'as given', '--json']);
    const b = cli(['--scenario', 'mac-4500', '--gateway', 'story', '--variant', 'as given', '--json']);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).story.variant).toBe('as given');
    expect(JSON.parse(a.out).variants).toEqual({});
    const c = cli(['--scenario', 'mac-4500', '--gateway', 'story', '--variant', 'spread bets 0–3 s', '--seed', '2']);
    expect(c.code).toBe(0);
    expect(c.out).toContain('seed 2');
  });

  it('--set overrides an input with its type; unknown keys and bad values are refused', () => {
    const r = cli(['--scenario', 'mac-4500', '--gateway', 'story', '--set', 'load.connections=100', '--variant', 'as given', '--json']);
    expect(JSON.parse(r.out).story.outcomes).toEqual({ ok: 100 });
    expect(cli(['--scenario', 'mac-4500', '--set', 'nope=1']).code).toBe(2);
    expect(cli(['--scenario', 'mac-4500', '--set', 'load.connections=many']).code).toBe(2);
  });

  it('--list, --inputs and --html', () => {
    expect(cli(['--list']).out).toContain('mac-4500');
    expect(
      cli(['--scenario', 'mac-4500', '--inputs'])
        .out.trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(Object.keys(mac4500.defaults).sort());
    expect(cli(['--scenario', 'mac-4500', '--gateway', 'story', '--variant', 'as given', '--html']).out).toMatch(/^<!doctype html>/);
    expect(cli(['--scenario', 'broker-outage', '--gateway', 'story']).code).toBe(2); // it has no story gateway
  });

  // The 3 s budget is a benchmark goal (benchmarks/sim.bench.ts), not a timed assertion on a shared machine.
  it('all variants of mac-4500 run: as given, three fixes, and — the resets not coming out — three candidate mechanisms, ranked', () => {
    let out = '';
    const code = main(['--scenario', 'mac-4500', '--gateway', 'story'], { out: (s) => void (out += s), err: () => undefined, wallMs: () => 0 });
    expect(code).toBe(0);
    expect(out.match(/== gateway: story/g)).toHaveLength(7);
    expect(out.match(/== gateway: story · variant: candidate: /g)).toHaveLength(3);
    expect(out).toMatch(/^Candidates that would produce it .*\n {2}1\. .*\n {2}2\. .*\n {2}3\. /m);
  });
});

describe('mac-4500, ours (real Gateway and real client in the lab)', () => {
  const ours = mac4500.run(mac4500.defaults, '1', 'ours', 'as given');
  const n = (k: string) => mac4500.defaults[k] as number;

  it('capacity comes from the descriptor limit minus our reserve, and binds', () => {
    expect(ours.metrics['capacity']).toBe(n('gateway.nofile') - 128);
    expect(ours.metrics['sessionsOpenedTotal']).toBe(ours.metrics['capacity']);
    expect(ours.diagnosis[0]).toMatch(/bound by descriptors/);
  });

  it('the overflow is answered with HTTP 503 before the upgrade: no resets, no EMFILE at the gateway', () => {
    expect(ours.metrics['attempt:http-503']).toBeGreaterThan(0);
    expect(Object.keys(ours.metrics).some((k) => k.includes('ECONNRESET'))).toBe(false);
    expect(ours.limits.some((l) => l.limit.startsWith('gateway.nofile — accept'))).toBe(false);
    // Everyone admitted got the broadcast; the rest are still retrying, none gave up.
    expect(ours.outcomes['open+got-start']).toBe(ours.metrics['capacity']);
    expect(ours.outcomes['reconnecting']).toBe(n('load.connections') - ours.metrics['capacity']!);
  });
});
