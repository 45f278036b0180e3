// The system clock: monotonic and wall time, cancellable timers that do not hold the process open, and
// defer() batching that keeps call order.
import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/adapters/clock-system.js';
import { SystemRandom } from '../../src/adapters/random-system.js';

describe('SystemClock', () => {
  it('tells monotonic and wall time', () => {
    const clock = new SystemClock();
    const a = clock.nowMs();
    expect(clock.nowMs()).toBeGreaterThanOrEqual(a);
    expect(Math.abs(clock.wallMs() - Date.now())).toBeLessThan(50);
  });

  it('tells whole milliseconds, so the timestamps sessions keep stay small integers', () => {
    const clock = new SystemClock();
    const t = clock.nowMs();
    expect(Number.isInteger(t)).toBe(true);
    expect(Math.abs(t - performance.now())).toBeLessThan(1 + 50);
  });

  it('fires timers once and cancels them', async () => {
    const clock = new SystemClock();
    const fired: string[] = [];
    clock.setTimer(5, () => fired.push('a'));
    clock.setTimer(5, () => fired.push('b')).cancel();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual(['a']);
  });

  it('runs deferred work after the current turn, in order, and keeps the batch when one throws', async () => {
    const clock = new SystemClock();
    const order: string[] = [];
    clock.defer(() => order.push('1'));
    clock.defer(() => order.push('2'));
    order.push('sync');
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['sync', '1', '2']);

    const errors: unknown[] = [];
    const onUncaught = (error: unknown): void => void errors.push(error);
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      clock.defer(() => {
        throw new Error('boom');
      });
      clock.defer(() => order.push('after'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const listener of listeners) process.on('uncaughtException', listener);
    }
    expect(errors).toHaveLength(1);
    expect(order.at(-1)).toBe('after');
  });
});

describe('SystemRandom', () => {
  it('draws from [0, 1)', () => {
    const random = new SystemRandom();
    for (let i = 0; i < 100; i++) {
      const x = random.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
