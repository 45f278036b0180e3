import { describe, expect, it } from 'vitest';
import { applySets } from '../../sim/scenarios/scenario.js';
import { isSlow } from '../../sim/scenarios/feed-plan.js';
import { slowClients } from '../../sim/scenarios/slow-clients.js';

const d = slowClients.defaults;
const n = (k: string) => d[k] as number;
const slowCount = Math.round(n('load.connections') * n('clients.slowFraction'));

describe('slow-clients: helpers', () => {
  it('slow clients are spread over the fleet, exactly round(N × fraction) of them', () => {
    const picked = Array.from({ length: 200 }, (_, i) => isSlow(i, 200, 0.1));
    expect(picked.filter(Boolean)).toHaveLength(20);
    expect(picked.slice(0, 100).filter(Boolean)).toHaveLength(10);
  });
});

describe('slow-clients (story: close on a full 256-message buffer)', () => {
  const base = slowClients.run(d, '1', 'story', 'as given');

  it('fast clients are unaffected: every event, no one closed', () => {
    expect(base.metrics['fastIncomplete']).toBe(0);
    expect(base.outcomes['fast: every event delivered']).toBe(n('load.connections') - slowCount);
  });

  it('every slow client is closed when its buffer fills, and what it missed is named nowhere', () => {
    expect(base.metrics['slowClosedByServer']).toBe(slowCount);
    expect(base.metrics['slowNamedInGaps']).toBe(0);
    expect(base.metrics['slowUnaccounted']!).toBeGreaterThan(0);
    expect(base.limits[0]?.limit).toMatch(/^story\.sendBufferMessages/);
  });

  it('the later plan keeps slow clients connected and confirmations whole, but drops messages unnamed', () => {
    const r = slowClients.run({ ...d, ...slowClients.variants['later plan: throttle 75/50/25 %, confirmations always'] }, '1', 'story', 'plan');
    expect(r.metrics['fastIncomplete']).toBe(0);
    expect(r.metrics['slowClosedByServer']).toBe(0);
    expect(r.metrics['slowCriticalMissed']).toBe(0);
    expect(r.metrics['slowThrottleNotices']!).toBeGreaterThan(0);
    expect(r.metrics['slowUnaccounted']).toBe(r.metrics['gatewayDropped']);
    expect(r.metrics['slowUnaccounted']!).toBeGreaterThan(0);
  });

  it('clients that read as fast as the feed is published are never closed', () => {
    const r = slowClients.run(applySets(d, ['clients.slowReadPerSecond=1000']), '1', 'story', 'what-if');
    expect(r.metrics['slowClosedByServer']).toBe(0);
    expect(r.metrics['slowUnaccounted']).toBe(0);
  });
});

describe('slow-clients (ours: degrade explicitly, never silently)', () => {
  const base = slowClients.run(d, '1', 'ours', 'as given');

  it('fast clients get every event', () => {
    expect(base.metrics['fastIncomplete']).toBe(0);
    expect(base.outcomes['fast: every event delivered']).toBe(n('load.connections') - slowCount);
  });

  it('per slow client: delivered + named in gaps = published; nothing unaccounted', () => {
    expect(base.outcomes['slow: degraded explicitly (delivered + named = published)']).toBe(slowCount);
    expect(base.metrics['slowUnaccounted']).toBe(0);
    expect(base.metrics['slowDelivered']! + base.metrics['slowNamedInGaps']! + base.metrics['slowNamedInResets']!).toBe(base.metrics['slowPublished']);
    expect(base.metrics['slowNamedInGaps']!).toBeGreaterThan(0);
  });

  it('slow clients are told (throttle notices) and critical channels are never shed', () => {
    expect(base.metrics['slowThrottleNotices']!).toBeGreaterThanOrEqual(slowCount);
    expect(base.metrics['slowCriticalNamedInGaps']).toBe(0);
    expect(base.metrics['gatewaySlowDisconnects']).toBe(0);
  });

  it('a slower client gets more gaps, still none silent', () => {
    const r = slowClients.run({ ...d, ...slowClients.variants['slower clients (half the read rate)'] }, '1', 'ours', 'slower');
    expect(r.metrics['slowNamedInGaps']!).toBeGreaterThan(base.metrics['slowNamedInGaps']!);
    expect(r.metrics['slowDelivered']!).toBeLessThan(base.metrics['slowDelivered']!);
    expect(r.metrics['slowUnaccounted']).toBe(0);
    expect(r.metrics['fastIncomplete']).toBe(0);
  });
});

describe('slow-clients determinism', () => {
  // Four whole runs of the scenario: give a busy machine room.
  it('one seed, same result (both gateways, default inputs)', { timeout: 90_000 }, () => {
    expect(slowClients.run(d, '5', 'story', 'x')).toEqual(slowClients.run(d, '5', 'story', 'x'));
    expect(slowClients.run(d, '5', 'ours', 'x')).toEqual(slowClients.run(d, '5', 'ours', 'x'));
  });
});
