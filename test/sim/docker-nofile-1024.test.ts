import { GO, NODE } from '../../sim/kernel/runtime.js';
import { describe, expect, it } from 'vitest';
import { runGuarded } from '../../sim/engine/determinism-guard.js';
import { dockerNofile1024 as sc } from '../../sim/scenarios/docker-nofile-1024.js';
import { type Inputs, type RunResult } from '../../sim/scenarios/scenario.js';

function run(over: Inputs, gateway: 'story' | 'ours' = 'story', seed = '1'): RunResult {
  return runGuarded(() => sc.run({ ...sc.defaults, ...over }, seed, gateway, 'test'));
}
const m = (r: RunResult, k: string): number => r.metrics[k] as number;
const d = (k: string): number => sc.defaults[k] as number;
/** Failed attempts by kind, without the prefix. */
function failures(r: RunResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.outcomes)) if (k.startsWith('attempts failed:')) out[k.slice('attempts failed:'.length)] = v;
  return out;
}

describe('docker-nofile-1024 (story gateway)', () => {
  const base = run({});

  it('a runtime that keeps its soft limit holds nofile − stdio − listener connections, and no more', () => {
    // The story's Go holds its netpoller's two descriptors (GO.startFds) besides stdio and the listener.
    const ceiling = d('gateway.nofile') - d('gateway.fdsReserved') - GO.startFds - 1;
    expect(m(base, 'descriptorCeiling')).toBe(ceiling);
    expect(m(base, 'openPeak')).toBe(ceiling);
    expect(base.limits[0]?.limit).toMatch(/^gateway\.nofile /);
  });

  it('past the table Go backs off: clients see timeouts (queued, then SYNs dropped), never resets or HTTP answers', () => {
    const f = failures(base);
    expect(f['timeout@upgrading']).toBeGreaterThan(0);
    expect(f['timeout@connecting']).toBeGreaterThan(0);
    expect(Object.keys(f).filter((k) => !k.startsWith('timeout@'))).toEqual([]);
    expect(m(base, 'synDrops')).toBeGreaterThan(0);
  });

  it('twice the descriptors → about twice the ceiling', () => {
    const twice = run({ 'gateway.nofile': 2 * d('gateway.nofile') });
    const ratio = m(twice, 'openPeak') / m(base, 'openPeak');
    expect(ratio).toBeGreaterThan(1.98);
    expect(ratio).toBeLessThan(2.02);
  });

  it('the report says no plateau above the descriptor ceiling can come from that limit', () => {
    expect(base.diagnosis.join(' ')).toMatch(/cannot produce any plateau above that/);
  });

  it('Node raises soft to hard, so 1,024 never binds; only a hard limit of 1,024 holds it, and then the overflow is closed abruptly', () => {
    const node = run(sc.variants['node runtime (raises soft to hard)'] as Inputs);
    expect(node.outcomes).toEqual({ 'users:open': d('load.connections') });
    expect(m(node, 'nofileEffective')).toBe(d('gateway.nofileHard'));
    const hard = run(sc.variants['node, hard limit 1024 (--ulimit nofile=1024:1024)'] as Inputs);
    // stdio, Node's own descriptors (measured: NODE.startFds, libuv's reserve among them) and the listener.
    expect(m(hard, 'openPeak')).toBe(1_024 - d('gateway.fdsReserved') - NODE.startFds - 1);
    const f = failures(hard);
    expect((f['eof'] ?? 0) + (f['ECONNRESET'] ?? 0)).toBe(d('load.connections') - m(hard, 'openPeak'));
    expect(m(hard, 'acceptEmfileClosed')).toBeGreaterThan(0);
  });

  it('the fix (nofile 200000) admits everyone', () => {
    const fix = run(sc.variants['fix: --ulimit nofile=200000:200000'] as Inputs);
    expect(fix.outcomes).toEqual({ 'users:open': d('load.connections') });
    expect(fix.limits).toEqual([]);
  });
});

describe('docker-nofile-1024 (ours)', () => {
  it('as given Node raises the limit and everyone connects; under a hard 1,024 our admission answers 503 promptly, no resets or timeouts', () => {
    const ok = run({}, 'ours');
    expect(ok.outcomes).toEqual({ 'users:open': d('load.connections') });
    const hard = run(sc.variants['node, hard limit 1024 (--ulimit nofile=1024:1024)'] as Inputs, 'ours');
    expect(m(hard, 'oursCapacity')).toBe(1_024 - 128);
    expect(m(hard, 'openPeak')).toBe(m(hard, 'oursCapacity'));
    expect(failures(hard)).toEqual({ 'http-503': d('load.connections') - m(hard, 'oursCapacity') });
    // The binding limit is named by its input key, so a JSON consumer can read it.
    expect(hard.limits.map((l) => l.limit.split(' ')[0])).toEqual(['gateway.nofile']);
  });
});

describe('docker-nofile-1024 determinism', () => {
  it('same seed → identical result; another seed gives the same counts', () => {
    const a = run({ 'load.connections': 3_000 }, 'story', '5');
    expect(run({ 'load.connections': 3_000 }, 'story', '5')).toEqual(a);
    const b = run({ 'load.connections': 3_000 }, 'story', '6');
    expect(b.outcomes).toEqual(a.outcomes);
  });
});
