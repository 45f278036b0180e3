import { describe, expect, it } from 'vitest';
import { applySets } from '../../sim/scenarios/scenario.js';
import { windowsHub } from '../../sim/scenarios/windows-hub.js';

const small = ['load.connections=300', 'load.rampPerSecond=100', 'fault.restartAtMs=15000', 'run.endMs=45000'];
const story = windowsHub.run(applySets(windowsHub.defaults, small), '1', 'story', 'test');
const ours = windowsHub.run(applySets(windowsHub.defaults, small), '1', 'ours', 'test');

describe('windows-hub', () => {
  it('a tab opening 300 sockets at once: the browser itself refuses all past 255 pending, whichever server', () => {
    for (const r of [story, ours]) {
      expect(r.metrics['tabPeakPending']).toBe(255);
      expect(r.metrics['tabInsufficientResources']).toBe(300 - 255);
    }
  });

  it('the per-user cap answers the rest with 429 before the upgrade; without it they all get in', () => {
    expect(ours.metrics['attempt:http-429']).toBe(255 - 5);
    expect(story.metrics['attempt:http-429']).toBeUndefined();
  });

  it('after a restart, retries without jitter arrive in lockstep; full jitter spreads them', () => {
    // Without jitter every user's first retry lands in the same 100 ms window.
    expect(story.metrics['peakAttemptsPer100Ms']).toBe(300);
    expect(ours.metrics['peakAttemptsPer100Ms']!).toBeLessThan(300 / 2);
    for (const r of [story, ours]) expect(r.outcomes['user:open']).toBe(300);
  });
});
