import { describe, expect, it } from 'vitest';
import { runGuarded } from '../../sim/engine/determinism-guard.js';
import { loadgenPorts as sc } from '../../sim/scenarios/loadgen-ports.js';
import { type Inputs, type RunResult } from '../../sim/scenarios/scenario.js';

// A small port range so the mechanism shows in a short run: 2,000 ports per space, TIME_WAIT 60 s.
const SMALL: Inputs = { 'load.connections': 1_800, 'load.rampPerSecond': 100, 'load.holdMs': 132_000, 'loadgen.portRange': '40000-41999' };

function run(over: Inputs, gateway: 'story' | 'ours' = 'story', seed = '1'): RunResult {
  return runGuarded(() => sc.run({ ...sc.defaults, ...SMALL, ...over }, seed, gateway, 'test'));
}
const m = (r: RunResult, k: string): number => r.metrics[k] as number;
const eaddr = (r: RunResult): number => r.outcomes['attempts failed:EADDRNOTAVAIL'] ?? 0;

describe('loadgen-ports (story server)', () => {
  it('with the story inputs the ports never run out, and the report says the plateau does not follow', () => {
    const r = runGuarded(() => sc.run(sc.defaults, '1', 'story', 'as given'));
    expect(r.outcomes).toEqual({ 'users:open': sc.defaults['load.connections'] });
    expect(r.limits).toEqual([]);
    expect(r.diagnosis.join(' ')).toMatch(/does not follow from the story's inputs/);
  });

  it('closes park ports on the closing side: the plateau comes out at range − TIME_WAIT × closes/s', () => {
    const r = run({ 'loadgen.closesPerSecond': 10 });
    expect(Math.abs(m(r, 'openAtEnd') - (2_000 - 60 * 10))).toBeLessThanOrEqual(10);
    expect(eaddr(r)).toBeGreaterThan(0);
    expect(r.limits[0]?.limit).toMatch(/^loadgen\.portRange /);
    expect(m(r, 'loadgenTimeWaitPeak')).toBeGreaterThan(0);
  });

  it('tw_reuse=1, a second source address or a wider range lift it; tcp_fin_timeout and conntrack_max do not', () => {
    for (const knob of [{ 'loadgen.twReuse': 1 }, { 'loadgen.sourceAddresses': 2 }, { 'loadgen.portRange': '40000-43999' }] as Inputs[]) {
      const r = run({ 'loadgen.closesPerSecond': 10, ...knob });
      // One churned user may be reconnecting at the final instant.
      expect(m(r, 'openAtEnd'), JSON.stringify(knob)).toBeGreaterThanOrEqual(1_799);
      expect(eaddr(r), JSON.stringify(knob)).toBe(0);
    }
    const base = run({ 'loadgen.closesPerSecond': 10 });
    for (const knob of [{ 'loadgen.finTimeoutMs': 15_000 }, { 'host.conntrackMax': 200_000 }] as Inputs[]) {
      const r = run({ 'loadgen.closesPerSecond': 10, ...knob });
      expect(m(r, 'openAtEnd'), JSON.stringify(knob)).toBe(m(base, 'openAtEnd'));
      expect(eaddr(r), JSON.stringify(knob)).toBe(eaddr(base));
    }
  });

  it('more source addresses or server ports → proportionally more ports (the 4-tuple rule)', () => {
    const churn = { 'load.connections': 3_000, 'loadgen.closesPerSecond': 25 };
    const one = run(churn);
    const twoAddrs = run({ ...churn, 'loadgen.sourceAddresses': 2 });
    const twoPorts = run({ ...churn, 'server.ports': 2 });
    expect(m(twoAddrs, 'portBudget')).toBe(2 * m(one, 'portBudget'));
    expect(m(twoPorts, 'portBudget')).toBe(2 * m(one, 'portBudget'));
    // Ceiling = budget − 60 s × 25/s: 2,000 − 1,500 = 500 with one space, 4,000 − 1,500 = 2,500 with two.
    expect(Math.abs(m(one, 'openAtEnd') - 500)).toBeLessThanOrEqual(10);
    expect(Math.abs(m(twoAddrs, 'openAtEnd') - 2_500)).toBeLessThanOrEqual(10);
    expect(Math.abs(m(twoPorts, 'openAtEnd') - 2_500)).toBeLessThanOrEqual(10);
  });

  it('a wider port range → more connections before EADDRNOTAVAIL', () => {
    const narrow = run({ 'load.connections': 5_000 });
    const wide = run({ 'load.connections': 5_000, 'loadgen.portRange': '40000-43999' });
    expect(m(narrow, 'openPeak')).toBe(2_000);
    expect(m(wide, 'openPeak')).toBe(4_000);
    expect(wide.limits[0]!.firstAtMs).toBeGreaterThan(narrow.limits[0]!.firstAtMs);
  });
});

describe('loadgen-ports (ours)', () => {
  it('the same client-side limit binds in front of our gateway, and the report says no gateway setting fixes it', () => {
    const r = run({ 'loadgen.closesPerSecond': 10 }, 'ours');
    expect(eaddr(r)).toBeGreaterThan(0);
    expect(Math.abs(m(r, 'openAtEnd') - (2_000 - 60 * 10))).toBeLessThanOrEqual(10);
    expect(r.diagnosis.join(' ')).toMatch(/no gateway setting/);
  });
});

describe('loadgen-ports determinism', () => {
  it('same seed → identical result; another seed churns other users but lands on the same ceiling', () => {
    const a = run({ 'loadgen.closesPerSecond': 10 }, 'story', '3');
    expect(run({ 'loadgen.closesPerSecond': 10 }, 'story', '3')).toEqual(a);
    const b = run({ 'loadgen.closesPerSecond': 10 }, 'story', '4');
    expect(Math.abs(m(b, 'openAtEnd') - m(a, 'openAtEnd'))).toBeLessThanOrEqual(10);
  });
});
