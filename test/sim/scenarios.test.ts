import { describe, expect, it } from 'vitest';
import { scale100k } from '../../sim/scenarios/scale-100k.js';
import { applySets } from '../../sim/scenarios/scenario.js';

// loadgen-ports has its own file: test/sim/loadgen-ports.test.ts (same checks: R − 60·c, the knobs, no churn).
describe('scale-100k (shrunk)', () => {
  it('every user gets every broadcast exactly once', () => {
    const r = scale100k.run(applySets(scale100k.defaults, ['load.connections=2000', 'load.rampPerSecond=1000', 'feed.broadcasts=3']), '1', 'ours', 'test');
    expect(r.outcomes).toEqual({ 'open:3-events': 2000 });
    expect(r.metrics['refusals']).toBe(0);
  });
});
