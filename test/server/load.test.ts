// The load sampler that feeds the gateway's load brake: an idle loop reads near zero, a blocked loop
// shows its delay — including a stall that starts right after a sample boundary.
import { describe, expect, it } from 'vitest';
import type { LoadSample } from '../../src/core/gateway.js';
import { startLoadMonitor } from '../../src/server/load.js';

function nextSample(samples: LoadSample[], count: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (samples.length >= count) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
}

describe('startLoadMonitor', () => {
  it('reports delay and utilisation, and sees a blocked event loop', async () => {
    const samples: LoadSample[] = [];
    const monitor = startLoadMonitor(200, (sample) => samples.push(sample));
    try {
      await nextSample(samples, 1);
      expect(samples[0]!.eventLoopDelayMs).toBeGreaterThanOrEqual(0);
      expect(samples[0]!.eventLoopDelayMs).toBeLessThan(100);
      expect(samples[0]!.eventLoopUtilization).toBeGreaterThanOrEqual(0);
      expect(samples[0]!.eventLoopUtilization).toBeLessThanOrEqual(1);
      const until = Date.now() + 150;
      while (Date.now() < until) {
        // block the loop
      }
      await nextSample(samples, 2);
      expect(samples[1]!.eventLoopDelayMs).toBeGreaterThan(100);
      expect(samples[1]!.eventLoopUtilization).toBeGreaterThan(0.3);
    } finally {
      monitor.stop();
    }
  });
});
