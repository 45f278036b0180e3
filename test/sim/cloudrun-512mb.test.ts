import { describe, expect, it } from 'vitest';
import { cloudrun512mb, storySlots } from '../../sim/scenarios/cloudrun-512mb.js';
import { applySets, type Inputs } from '../../sim/scenarios/scenario.js';

const d = cloudrun512mb.defaults;
const n = (k: string, inputs: Inputs = d) => inputs[k] as number;
const withSets = (...sets: string[]) => applySets(d, sets);
/** The story's accounting, written out independently of the scenario's code. */
const accounting = (inputs: Inputs) =>
  Math.floor(((n('container.memoryMiB', inputs) - n('story.overheadMiB', inputs)) * 1024) / n('story.perConnectionKiB', inputs));

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

describe('cloudrun-512mb (story: slot semaphore from its own accounting)', () => {
  const base = cloudrun512mb.run(d, '1', 'story', 'as given');

  it('derives the cap from the accounting and admits exactly that many', () => {
    expect(storySlots(d)).toBe(accounting(d));
    expect(base.metrics['slots']).toBe(accounting(d));
    expect(base.outcomes['connected']).toBe(accounting(d));
    expect(base.outcomes['http-503@upgrading']).toBe(n('load.connections') - accounting(d));
  });

  it('every 503 comes after the semaphore wait, not before', () => {
    expect(base.metrics['refusalWaitMinMs']!).toBeGreaterThanOrEqual(n('story.slotWaitMs'));
    expect(base.metrics['refusalWaitMaxMs']!).toBeLessThan(n('story.slotWaitMs') + 100);
    expect(base.limits[0]?.limit).toMatch(/^container\.memoryMiB/);
  });

  it('cap + 1 connections → exactly one refusal', () => {
    const r = cloudrun512mb.run({ ...d, ...cloudrun512mb.variants['cap + 1 connections'] }, '1', 'story', 'cap + 1');
    expect(r.outcomes).toEqual({ connected: accounting(d), 'http-503@upgrading': 1 });
  });

  it('a larger memory limit admits proportionally more: (limit − overhead) / perConnection', () => {
    const inputs = withSets('container.memoryMiB=1024', 'load.aboveCap=1');
    const r = cloudrun512mb.run(inputs, '1', 'story', 'what-if');
    expect(r.outcomes['connected']).toBe(accounting(inputs));
    // (1024 − 128) / (512 − 128) of the base cap, to within the floor.
    expect(Math.abs(r.outcomes['connected']! - (accounting(d) * (1024 - 128)) / (512 - 128))).toBeLessThan(2);
  });

  it('halving the per-connection cost about doubles the cap', () => {
    const inputs = withSets(`story.perConnectionKiB=${n('story.perConnectionKiB') / 2}`, 'load.aboveCap=1');
    const r = cloudrun512mb.run(inputs, '1', 'story', 'what-if');
    expect(Math.abs(r.outcomes['connected']! - 2 * accounting(d))).toBeLessThanOrEqual(1);
    expect(r.outcomes['http-503@upgrading']).toBe(1);
  });

  it('the earlier 50 KiB accounting admits more and is flagged as below a full send channel', () => {
    const v = { ...d, ...cloudrun512mb.variants['earlier accounting (50 KiB, no replay buffer)'] };
    const r = cloudrun512mb.run(v, '1', 'story', 'earlier');
    expect(r.outcomes['connected']).toBe(accounting(v));
    expect(r.metrics['memoryIfChannelsFullMiB']!).toBeGreaterThan(n('container.memoryMiB'));
    expect(r.diagnosis.some((s) => s.startsWith('Unsafe accounting'))).toBe(true);
  });
});

describe('cloudrun-512mb (ours: capacity from our own accounting, prompt 503s)', () => {
  const ours = cloudrun512mb.run(d, '1', 'ours', 'as given');
  const ourCap = ourCapacity(d);

  it('admits (limit × ratio − baseline − history stores) / perConnection and refuses the rest promptly', () => {
    expect(ours.metrics['capacity']).toBe(ourCap);
    expect(ours.outcomes['connected (at end of run)']).toBe(ourCap);
    expect(ours.metrics['refusals503']).toBe(n('load.connections') - ourCap);
    expect(ours.metrics['refusalLatencyMaxMs']!).toBeLessThan(100);
    expect(ours.metrics['timeouts']).toBe(0);
    expect(ours.metrics['memoryPeakMiB']!).toBeLessThan(n('container.memoryMiB'));
  });

  it('cap + 1 against our own capacity → exactly one 503', () => {
    const r = cloudrun512mb.run({ ...d, ...cloudrun512mb.variants['cap + 1 connections'] }, '1', 'ours', 'cap + 1');
    expect(r.metrics['refusals503']).toBe(1);
    expect(r.metrics['sessionsAtEnd']).toBe(ourCap);
  });
});

describe('cloudrun-512mb determinism', () => {
  it('one seed, same result (both gateways, default inputs)', () => {
    expect(cloudrun512mb.run(d, '7', 'story', 'x')).toEqual(cloudrun512mb.run(d, '7', 'story', 'x'));
    expect(cloudrun512mb.run(d, '7', 'ours', 'x')).toEqual(cloudrun512mb.run(d, '7', 'ours', 'x'));
  });
});
