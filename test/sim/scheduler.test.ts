import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../sim/engine/scheduler.js';
import { Prng } from '../../sim/engine/prng.js';
import { SimClock, SIM_EPOCH_MS } from '../../sim/adapters/clock-sim.js';

const log = (out: string[]) => (s: string) => out.push(s);

describe('Scheduler', () => {
  it('runs events in time order, FIFO among equal times', () => {
    const s = new Scheduler();
    const out: string[] = [];
    const push = log(out);
    s.at(5, push, 'c1');
    s.at(1, push, 'a');
    s.at(5, push, 'c2');
    s.at(3, push, 'b');
    s.at(5, push, 'c3');
    expect(s.runUntilIdle(100)).toEqual({ reason: 'idle', events: 5 });
    expect(out).toEqual(['a', 'b', 'c1', 'c2', 'c3']);
    expect(s.nowMs).toBe(5);
  });

  it('keeps FIFO order among many equal-time events (heap is not stable by itself)', () => {
    const s = new Scheduler();
    const out: number[] = [];
    const rng = new Prng(7);
    const expected: Array<[number, number]> = [];
    for (let i = 0; i < 2000; i++) {
      const t = rng.int(0, 9);
      expected.push([t, i]);
      s.at(t, (x: number) => out.push(x), i);
    }
    s.runUntilIdle(10_000);
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(out).toEqual(expected.map((e) => e[1]));
  });

  it('cancel skips the event; cancelling twice or after firing is a no-op', () => {
    const s = new Scheduler();
    const out: string[] = [];
    const e1 = s.at(1, log(out), 'x');
    const e2 = s.at(2, log(out), 'y');
    expect(s.cancel(e1)).toBe(true);
    expect(s.cancel(e1)).toBe(false);
    expect(s.pending).toBe(1);
    s.runUntilIdle(10);
    expect(out).toEqual(['y']);
    expect(s.cancel(e2)).toBe(false);
    expect(s.pending).toBe(0);
  });

  it('compacts a heap full of cancelled events without changing order', () => {
    const s = new Scheduler();
    const out: number[] = [];
    const evs = [];
    for (let i = 0; i < 5000; i++) evs.push(s.at(i % 50, (x: number) => out.push(x), i));
    for (let i = 0; i < 5000; i++) if (i % 10 !== 0) s.cancel(evs[i]!);
    expect(s.pending).toBe(500);
    s.runUntilIdle(10_000);
    const want = Array.from({ length: 500 }, (_, k) => k * 10).sort((a, b) => (a % 50) - (b % 50) || a - b);
    expect(out).toEqual(want);
  });

  it('matches a sorted reference under random schedules, cancels and events scheduled while running', () => {
    for (const seed of [1, 2, 3]) {
      const s = new Scheduler();
      const rng = new Prng(seed);
      const ran: Array<[number, number]> = [];
      const ref: Array<[number, number, number]> = []; // time, insertion order, id
      const evs = new Map<number, ReturnType<Scheduler['at']>>();
      let ids = 0;
      let order = 0;
      const add = (t: number): void => {
        const id = ids++;
        evs.set(id, s.at(t, fire, id));
        ref.push([t, order++, id]);
      };
      const fire = (id: number): void => {
        ran.push([s.nowMs, id]);
        if (ids < 30_000 && rng.chance(0.5)) add(s.nowMs + rng.int(0, 3));
      };
      for (let i = 0; i < 20_000; i++) add(rng.int(0, 500));
      const cancelled = new Set<number>();
      for (let i = 0; i < 6_000; i++) {
        const id = rng.int(0, 19_999);
        if (s.cancel(evs.get(id)!)) cancelled.add(id);
      }
      s.runUntilIdle(100_000);
      // Reference: every non-cancelled event in (time, insertion) order. Events added while running were
      // inserted after all earlier-inserted ones, so insertion order is the tie-break here too.
      const want = ref.filter((r) => !cancelled.has(r[2])).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(ran.map((r) => r[1])).toEqual(want.map((r) => r[2]));
      expect(s.pending).toBe(0);
    }
  });

  it('runUntil stops at the time bound and advances the clock to it', () => {
    const s = new Scheduler();
    const out: string[] = [];
    s.at(10, log(out), 'a');
    s.at(20, log(out), 'b');
    expect(s.runUntil(15)).toEqual({ reason: 'time', events: 1 });
    expect(s.nowMs).toBe(15);
    expect(out).toEqual(['a']);
    expect(() => s.at(14, log(out), 'past')).toThrow(RangeError);
  });

  it('bounds a run by event count (a self-rescheduling livelock ends as "limit")', () => {
    const s = new Scheduler();
    const again = (): void => void s.after(0, again, undefined);
    s.after(0, again, undefined);
    expect(s.runUntilIdle(1000)).toEqual({ reason: 'limit', events: 1000 });
    expect(s.nowMs).toBe(0);
  });

  it('same seed → identical trace; different seed → different trace', () => {
    function trace(seed: number): string {
      const s = new Scheduler();
      const rng = new Prng(seed);
      const out: string[] = [];
      const tick = (id: number): void => {
        out.push(`${s.nowMs.toFixed(3)}:${id}`);
        if (out.length < 500) s.after(rng.exponential(10), tick, rng.int(0, 99));
      };
      for (let i = 0; i < 5; i++) s.after(rng.uniform(0, 5), tick, i);
      s.runUntilIdle(10_000);
      return out.join(',');
    }
    expect(trace(1)).toBe(trace(1));
    expect(trace(1)).not.toBe(trace(2));
  });
});

describe('SimClock', () => {
  it('timers fire on virtual time and can be cancelled; wall time is epoch + now', () => {
    const s = new Scheduler();
    const c = new SimClock(s);
    const out: string[] = [];
    c.setTimer(100, () => out.push(`t100@${c.nowMs()}`));
    const t = c.setTimer(50, () => out.push('cancelled'));
    t.cancel();
    s.runUntilIdle(10);
    expect(out).toEqual(['t100@100']);
    expect(c.wallMs()).toBe(SIM_EPOCH_MS + 100);
  });

  it('defer runs at the same instant after work already queued for it', () => {
    const s = new Scheduler();
    const c = new SimClock(s);
    const out: string[] = [];
    const at: number[] = [];
    c.setTimer(5, () => {
      out.push('first');
      at.push(c.nowMs());
      c.defer(() => {
        out.push('deferred');
        at.push(c.nowMs());
      });
    });
    c.setTimer(5, () => out.push('second'));
    s.runUntilIdle(10);
    expect(out).toEqual(['first', 'second', 'deferred']);
    expect(at).toEqual([5, 5]);
  });
});

describe('SimClock as the one test clock (its own scheduler, time moved by advance)', () => {
  it('follows the lab timer rules: a zero delay is 1 ms, as in Node; settle runs deferred work, not timers', () => {
    const c = new SimClock();
    const out: string[] = [];
    c.setTimer(0, () => out.push(`zero@${c.nowMs()}`));
    c.defer(() => out.push(`deferred@${c.nowMs()}`));
    c.settle();
    expect(out).toEqual(['deferred@0']);
    c.advance(0.5);
    expect(out).toEqual(['deferred@0']);
    c.advance(0.5);
    expect(out).toEqual(['deferred@0', 'zero@1']);
    expect(c.nowMs()).toBe(1);
    expect(c.pending).toBe(0);
  });

  it('advance runs everything due on the way in time order and stops a timer loop with an error', () => {
    const c = new SimClock();
    const out: number[] = [];
    c.setTimer(30, () => out.push(c.nowMs()));
    c.setTimer(10, () => c.setTimer(5, () => out.push(c.nowMs())));
    c.advance(100);
    expect(out).toEqual([15, 30]);
    expect(c.nowMs()).toBe(100);
    const loop = (): void => c.defer(loop);
    c.defer(loop);
    expect(() => c.settle()).toThrow(/timer loop/);
  });
});
