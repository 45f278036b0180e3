import { describe, expect, it } from 'vitest';
import { memory7gb, storyMemoryCeiling } from '../../sim/scenarios/memory-7gb.js';
import { applySets, type Inputs } from '../../sim/scenarios/scenario.js';
import { unexplainedWindows, wantsCandidates } from '../../sim/report/verdict.js';

const d = memory7gb.defaults;
const n = (k: string, inputs: Inputs = d) => inputs[k] as number;
const ceiling = (inputs: Inputs) =>
  Math.floor(((n('container.memoryMiB', inputs) - n('story.overheadMiB', inputs)) * 1024) / n('story.perConnectionKiB', inputs));
const failures = (r: { outcomes: Readonly<Record<string, number>> }) => n('load.connections') - (r.outcomes['connected'] ?? 0);

/**
 * Our capacity, written out from the rule in docs/operations.md: the budget less the baseline and the two
 * history stores (a sixteenth of the budget each, 4..256 MiB), per connection.
 */
function ourCapacity(inputs: Inputs): number {
  const budgetBytes = Math.floor(n('container.memoryMiB', inputs) * 1024 * 1024 * n('ours.memoryBudgetRatio', inputs));
  const store = Math.min(256 * 1024 * 1024, Math.max(4 * 1024 * 1024, Math.floor(budgetBytes / 16)));
  const free = budgetBytes - n('ours.baselineMiB', inputs) * 1024 * 1024 - 2 * store;
  return Math.floor(free / (n('ours.perConnectionKiB', inputs) * 1024));
}

describe('memory-7gb (story: no admission, GC stretch near the limit)', () => {
  const base = memory7gb.run(d, '1', 'story', 'as given');

  it('timeouts, not rejections: the server refuses nothing, the clients give up', () => {
    expect(base.metrics['rejections']).toBe(0);
    expect(base.metrics['upgradeTimeouts']!).toBeGreaterThan(0);
    expect(base.outcomes['upgrade-timeout@upgrading']).toBe(failures(base));
    expect(base.limits[0]?.limit).toMatch(/^container\.memoryMiB — GC stretch/);
  });

  it('the plateau sits at the memory accounting, and the process is not OOM-killed', () => {
    expect(storyMemoryCeiling(d)).toBe(ceiling(d));
    expect(base.metrics['sessionsPeak']!).toBeLessThanOrEqual(ceiling(d));
    expect(base.metrics['sessionsPeak']!).toBeGreaterThan(ceiling(d) * 0.99);
    expect(base.limits.some((l) => l.limit.includes('OOM'))).toBe(false);
  });

  it('failures come late in the ramp, when memory is near the limit; the first window has none', () => {
    expect(base.metrics['window 0-60s failed']).toBe(0);
    expect(base.metrics['window 80-100s failed']!).toBeGreaterThan(0);
  });

  it('the early windows the story saw failing are unexplained as given, so the candidates run for them', () => {
    const early = unexplainedWindows(base, memory7gb.claim).map((w) => w.reported.fromS);
    expect(early).toEqual([0, 60]);
    expect(base.windows?.find((w) => w.fromS === 80)?.failed).toBe(base.metrics['window 80-100s failed']);
    expect(wantsCandidates(base, memory7gb.claim)).toBe(true);
  });

  it("a candidate's failures are blamed on its own limit, not on memory: the gateway's table at 1,024", () => {
    const [name, overrides] = Object.entries(memory7gb.claim.candidates ?? {}).find(([, o]) => 'gateway.nofile' in o)!;
    const r = memory7gb.run({ ...d, ...overrides }, '1', 'story', `candidate: ${name}`);
    expect(r.limits[0]?.key).toBe('gateway.nofile');
    expect(r.limits.some((l) => l.limit.includes('GC stretch'))).toBe(false);
    expect(r.windows?.find((w) => w.fromS === 0)?.failed).toBeGreaterThan(0);
  });

  it('a larger container moves the plateau by (limit − overhead) / perConnection', () => {
    const inputs = applySets(d, ['container.memoryMiB=8192', 'load.connections=12000']);
    const r = memory7gb.run(inputs, '1', 'story', 'what-if');
    expect(r.metrics['sessionsPeak']!).toBeLessThanOrEqual(ceiling(inputs));
    expect(r.metrics['sessionsPeak']!).toBeGreaterThan(ceiling(inputs) * 0.99);
    expect(r.metrics['sessionsPeak']!).toBeGreaterThan(base.metrics['sessionsPeak']!);
  });

  it('halving the per-connection cost about doubles the plateau', () => {
    const inputs = applySets(d, [`story.perConnectionKiB=${n('story.perConnectionKiB') / 2}`, 'load.connections=20000', 'load.rampPerSecond=200']);
    const r = memory7gb.run(inputs, '1', 'story', 'what-if');
    const ratio = r.metrics['sessionsPeak']! / base.metrics['sessionsPeak']!;
    expect(ratio).toBeGreaterThan(1.95);
    expect(ratio).toBeLessThan(2.05);
  });

  it("with Go's GC CPU limiter (stretch ≤ 2) handshakes never slow enough: the container OOM-kills the process instead", () => {
    const r = memory7gb.run({ ...d, ...memory7gb.variants['Go GC CPU limiter (stretch ≤ 2)'] }, '1', 'story', 'limiter');
    expect(r.metrics['upgradeTimeouts']).toBe(0);
    expect(r.limits.some((l) => l.limit.includes('OOM'))).toBe(true);
  });
});

describe('memory-7gb (ours)', () => {
  it('with its own per-connection cost the ceiling is far above the load: everyone in, no stretch to speak of', () => {
    const r = memory7gb.run(d, '1', 'ours', 'as given');
    const cap = ourCapacity(d);
    expect(r.metrics['capacity']).toBe(cap);
    expect(r.metrics['sessionsAtEnd']).toBe(n('load.connections'));
    expect(r.metrics['timeouts']).toBe(0);
  });

  it("with the story's 0.7 MB per connection, the overflow gets prompt 503s instead of timeouts", () => {
    const inputs = { ...d, ...memory7gb.variants["ours with the story's 0.7 MB per connection"] };
    const r = memory7gb.run(inputs, '1', 'ours', '0.7 MB');
    const cap = ourCapacity(inputs);
    expect(r.metrics['capacity']).toBe(cap);
    expect(r.metrics['refusals503']).toBe(n('load.connections') - cap);
    expect(r.metrics['refusalLatencyMaxMs']!).toBeLessThan(100);
    expect(r.metrics['timeouts']).toBe(0);
  });
});

describe('memory-7gb determinism', () => {
  it('one seed, same result (both gateways, default inputs)', () => {
    expect(memory7gb.run(d, '3', 'story', 'x')).toEqual(memory7gb.run(d, '3', 'story', 'x'));
    expect(memory7gb.run(d, '3', 'ours', 'x')).toEqual(memory7gb.run(d, '3', 'ours', 'x'));
  });
});
