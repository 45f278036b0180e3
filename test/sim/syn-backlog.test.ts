import { describe, expect, it } from 'vitest';
import { runGuarded } from '../../sim/engine/determinism-guard.js';
import { type Inputs, type RunResult } from '../../sim/scenarios/scenario.js';
import { overflowThreshold, synBacklog } from '../../sim/scenarios/syn-backlog.js';

function run(over: Inputs, gateway: 'story' | 'ours' = 'story', seed = '1'): RunResult {
  return runGuarded(() => synBacklog.run({ ...synBacklog.defaults, ...over }, seed, gateway, 'test'));
}
const m = (r: RunResult, k: string): number => r.metrics[k] as number;

describe('syn-backlog: the accept-queue arithmetic', () => {
  it('overflowThreshold: the accept rate at which ∫ max(0, λ − μ) dt over the ramp equals the room', () => {
    const excess = (r0: number, r1: number, T: number, mu: number): number => {
      let s = 0;
      const steps = 100_000;
      for (let i = 0; i < steps; i++) s += Math.max(0, r0 + ((r1 - r0) * (i + 0.5)) / steps - mu) * (T / steps);
      return s;
    };
    for (const [r0, r1, T, room] of [
      [100, 200, 66.7, 4_097],
      [100, 200, 120, 4_097],
      [100, 200, 120, 8_193],
      [150, 150, 60, 1_000],
    ] as const) {
      const mu = overflowThreshold(r0, r1, T, room);
      expect(excess(r0, r1, T, mu)).toBeCloseTo(room, -1);
    }
    expect(overflowThreshold(100, 200, 10, 1e9)).toBe(0); // no accept rate is slow enough
  });
});

describe('syn-backlog (story gateway)', () => {
  const base = run({});

  it('as given, an accept loop that outruns the ramp keeps both queues near empty: no SYN drop, no failure', () => {
    expect(m(base, 'acceptRatePerS')).toBeGreaterThan(synBacklog.defaults['load.rampPerSecondEnd'] as number);
    expect(m(base, 'synDrops')).toBe(0);
    expect(m(base, 'acceptQueuePeak')).toBeLessThan(10);
    expect(base.outcomes).toEqual({ 'users:open': synBacklog.defaults['load.connections'] });
    expect(base.diagnosis.join(' ')).toMatch(/explanation does not hold/);
  });

  it('the fix (both 8192 + syncookies) changes nothing under the story numbers', () => {
    const fix = run(synBacklog.variants['fix: both 8192 + syncookies'] as Inputs);
    expect(fix.outcomes).toEqual(base.outcomes);
    expect(m(fix, 'synDrops')).toBe(0);
  });

  it('a faster ramp overflows the accept queue of a slow loop; the threshold predicts which ramp does', () => {
    const slow = { 'gateway.acceptCpuMs': 10, 'load.connections': 8_000 };
    const gentle = run({ ...slow, 'load.rampPerSecond': 100, 'load.rampPerSecondEnd': 200 });
    const fast = run({ ...slow, 'load.rampPerSecond': 200, 'load.rampPerSecondEnd': 400 });
    expect(m(gentle, 'acceptRatePerS')).toBeGreaterThan(m(gentle, 'acceptRateOverflowBelowPerS'));
    expect(m(gentle, 'synDrops')).toBe(0);
    expect(m(fast, 'acceptRatePerS')).toBeLessThan(m(fast, 'acceptRateOverflowBelowPerS'));
    expect(m(fast, 'synDrops')).toBeGreaterThan(0);
    expect(m(fast, 'connectsRetransmitted')).toBeGreaterThan(0);
    // The first drop comes from the accept queue, named by its key.
    expect(fast.limits[0]?.limit).toMatch(/^host\.somaxconn /);
  });

  it('syncookies on → fewer SYN drops: tcp_max_syn_backlog binds only without cookies', () => {
    // Far clients (100 ms RTT) keep ~λ·RTT requests half-open; a tiny tcp_max_syn_backlog shows the ¾ clause.
    const far = { 'net.rttMs': 100, 'host.synBacklog': 16, 'load.connections': 3_000 };
    const off = run({ ...far, 'host.syncookies': 0 });
    const on = run({ ...far, 'host.syncookies': 1 });
    expect(m(off, 'synDropsSynBacklog')).toBeGreaterThan(0);
    expect(m(on, 'synDrops')).toBeLessThan(m(off, 'synDrops'));
    expect(m(on, 'synDrops')).toBe(0);
  });

  it('with a loop slower than the ramp, a bigger queue trades SYN drops for waits longer than the client timeout', () => {
    const slow = run(synBacklog.variants['what-if: accept 10 ms, 18,000'] as Inputs);
    const fixed = run(synBacklog.variants['what-if: accept 10 ms, 18,000, fix'] as Inputs);
    expect(m(slow, 'synDrops')).toBeGreaterThan(0);
    expect(m(fixed, 'synDrops')).toBe(0);
    expect(fixed.outcomes['attempts failed:timeout@upgrading']).toBeGreaterThan(0);
    // One saturated accept thread of four cores: about a quarter of the CPU, i.e. "idle" on a dashboard.
    expect(m(slow, 'serverCpuUtilisationPct')).toBeLessThan(100 / (synBacklog.defaults['host.cores'] as number) + 5);
  });
});

describe('syn-backlog (ours)', () => {
  it('one load-box address past our per-IP handshake rate gets prompt 429s, not timeouts; raised limits admit everyone', () => {
    const small = { 'load.connections': 3_000 };
    const r = run(small, 'ours');
    expect(r.outcomes['attempts failed:http-429']).toBeGreaterThan(0);
    expect(r.limits[0]?.limit).toMatch(/^ours\.handshakesPerSecondPerIp .*HTTP 429 \(handshake_rate\)/);
    expect(Object.keys(r.outcomes).filter((k) => /timeout|ECONNRESET|eof/.test(k))).toEqual([]);
    const raised = run({ ...(synBacklog.variants['ours: per-IP limits raised, 18,000'] as Inputs), ...small }, 'ours');
    expect(raised.outcomes).toEqual({ 'users:open': 3_000 });
  });
});

describe('syn-backlog determinism', () => {
  it('same seed → identical result; another seed changes only link jitter, not the counts', () => {
    const over = { 'gateway.acceptCpuMs': 10, 'load.connections': 8_000, 'load.rampPerSecond': 200, 'load.rampPerSecondEnd': 400 };
    const a = run(over, 'story', '7');
    expect(run(over, 'story', '7')).toEqual(a);
    const b = run(over, 'story', '8');
    expect(b.seed).toBe('8');
    expect(Object.keys(b.metrics)).toEqual(Object.keys(a.metrics));
  });
});
