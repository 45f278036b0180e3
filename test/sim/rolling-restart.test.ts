import { describe, expect, it } from 'vitest';
import { rollingRestart } from '../../sim/scenarios/rolling-restart.js';
import { applySets } from '../../sim/scenarios/scenario.js';

describe('rolling-restart (shrunk: 400 clients)', () => {
  const r = rollingRestart.run(
    applySets(rollingRestart.defaults, [
      'load.connections=400',
      'load.sourceAddresses=4',
      'load.rampPerSecond=100',
      'fault.drainAtMs=10000',
      'run.endMs=40000',
      'feed.publishPerSecond=20',
    ]),
    '1',
    'ours',
    'test',
  );

  it('every client of the drained instance gets a 1001 close and comes back; everyone is open at the end', () => {
    expect(r.metrics['attempt@a:close-1001']).toBe(r.metrics['sessionsOnAAtDrain']);
    expect(r.metrics['sessionsOnAAtDrain']).toBeGreaterThan(0);
    expect(r.outcomes).toEqual({ 'client:open': 400 });
    expect(r.metrics['sessionsAEnd']! + r.metrics['sessionsBEnd']!).toBe(400);
  });

  it('I1–I3 hold across the restart: no duplicate, no reordering, nothing lost silently', () => {
    expect(r.metrics['delivered']).toBeGreaterThan(0);
    expect(r.metrics['duplicates']).toBe(0);
    expect(r.metrics['outOfOrder']).toBe(0);
    expect(r.metrics['silentlyLost']).toBe(0);
  });
});
