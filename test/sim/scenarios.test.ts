import { describe, expect, it } from 'vitest';
import { loadgenPorts } from '../../sim/scenarios/loadgen-ports.js';
import { scale100k } from '../../sim/scenarios/scale-100k.js';
import { applySets } from '../../sim/scenarios/scenario.js';

describe('loadgen-ports', () => {
  // A small port range so the mechanism shows in a short run: R = 2,000 ports, 10 closes/s, TIME_WAIT 60 s.
  const small = ['users=1800', 'connectsPerSec=100', 'portLo=40000', 'portHi=41999', 'closesPerSec=10', 'durationMs=150000'];
  const run = (extra: string[]) => loadgenPorts.run(applySets(loadgenPorts.defaults, [...small, ...extra]), '1', 'story', 'test');

  it('the concurrent ceiling comes out at R − 60·c', () => {
    const r = run([]);
    expect(r.metrics['predictedCeiling']).toBe(2000 - 60 * 10);
    expect(Math.abs(r.metrics['connectedAtEnd']! - (2000 - 60 * 10))).toBeLessThanOrEqual(10);
    expect(r.outcomes['EADDRNOTAVAIL']).toBeGreaterThan(0);
  });

  it('tcp_tw_reuse=1, a second source address or a wider range lift it; tcp_fin_timeout does not', () => {
    // ≥ 1,799: one churned user may be mid-reconnect at the final instant.
    for (const knob of ['tcpTwReuse=1', 'sourceAddresses=2', 'portHi=43999']) {
      const r = run([knob]);
      expect(r.metrics['connectedAtEnd'], knob).toBeGreaterThanOrEqual(1799);
      expect(r.outcomes['EADDRNOTAVAIL'], knob).toBeUndefined();
    }
    const fin = run(['finTimeoutMs=15000']);
    expect(fin.metrics['connectedAtEnd']).toBe(run([]).metrics['connectedAtEnd']);
  });

  it('without churn nothing runs out below the port range', () => {
    const r = run(['closesPerSec=0']);
    expect(r.metrics['connectedAtEnd']).toBe(1800);
    expect(r.limits).toHaveLength(0);
  });
});

describe('scale-100k (shrunk)', () => {
  it('every user gets every broadcast exactly once', () => {
    const r = scale100k.run(applySets(scale100k.defaults, ['users=2000', 'rampMs=2000', 'broadcasts=3']), '1', 'ours', 'test');
    expect(r.outcomes).toEqual({ 'open:3-events': 2000 });
    expect(r.metrics['refusals']).toBe(0);
  });
});
