import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffDelayMs } from '../../src/client/backoff.js';
import { judgeClose } from '../../src/client/close-policy.js';
import { runs } from '../../properties/support/runs.js';
import { connected, harness, nextSocket, ScriptedRandom, type Harness } from './helpers.js';

/** Drops the current socket unopened and returns the delay until the client tried again. */
function failAndMeasure(h: Harness, info: { code: number; reason: string; httpStatus?: number; retryAfterMs?: number }): number {
  const socket = h.net.last;
  const start = h.clock.nowMs();
  socket.end(info);
  nextSocket(h);
  return h.clock.nowMs() - start;
}

describe('backoff', () => {
  it('delays lie in [hint, hint + min(cap, base * 2^attempt)) for any draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: null }),
        (attempt, baseMs, extraMs, draw, hintMs) => {
          const window = { baseMs, capMs: baseMs + extraMs };
          const delay = backoffDelayMs(attempt, window, { next: () => draw }, hintMs);
          const ceiling = Math.min(window.capMs, baseMs * 2 ** attempt);
          expect(backoffCeilingMs(attempt, window)).toBe(ceiling);
          expect(delay).toBeGreaterThanOrEqual(hintMs ?? 0);
          expect(delay).toBeLessThan((hintMs ?? 0) + ceiling + 1e-9);
        },
      ),
      runs(100),
    );
  });

  it('the client draws each delay over the full doubling window, capped', () => {
    // A draw just under 1 shows the top of each window: 500, 1000, 2000, 4000, then the 5000 cap.
    const h = harness({ random: new ScriptedRandom([], 0.999), reconnect: { baseMs: 500, capMs: 5_000 } });
    h.client.connect();
    const delays = [1, 2, 3, 4, 5, 6].map(() => failAndMeasure(h, { code: 1006, reason: '' }));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('full jitter: a low draw reconnects almost at once even after many failures', () => {
    const h = harness({ random: new ScriptedRandom([0.5, 0.5, 0.5, 0.001]) });
    h.client.connect();
    const delays = [1, 2, 3, 4].map(() => failAndMeasure(h, { code: 1006, reason: '' }));
    expect(delays.slice(0, 3)).toEqual([250, 500, 1_000]);
    expect(delays[3]).toBeLessThanOrEqual(10); // 0.001 * 4000 = 4 ms, observed at 10 ms granularity
  });

  it('honours retry-after-ms in a close reason as a floor, with jitter on top', () => {
    const h = harness({ random: new ScriptedRandom([], 0) });
    connected(h);
    const delay = failAndMeasure(h, { code: 1001, reason: 'draining; retry-after-ms=5000' });
    expect(delay).toBe(5_000);
  });

  it('honours the Retry-After of a refused upgrade (503)', () => {
    const h = harness({ random: new ScriptedRandom([], 0.5) });
    h.client.connect();
    const delay = failAndMeasure(h, { code: 1006, reason: '', httpStatus: 503, retryAfterMs: 7_000 });
    expect(delay).toBeGreaterThanOrEqual(7_000 + 250);
    expect(delay).toBeLessThan(7_000 + 250 + 10);
  });

  it('resets the attempt count once a connection stayed up for stableMs', () => {
    const h = harness({ random: new ScriptedRandom([], 0.999), reconnect: { stableMs: 5_000 } });
    h.client.connect();
    expect(failAndMeasure(h, { code: 1006, reason: '' })).toBe(500);
    expect(failAndMeasure(h, { code: 1006, reason: '' })).toBe(1_000);
    h.net.last.accept();
    h.clock.advance(4_000);
    expect(failAndMeasure(h, { code: 1006, reason: '' })).toBe(2_000); // up, but not long enough
    h.net.last.accept();
    h.clock.advance(5_000);
    expect(failAndMeasure(h, { code: 1006, reason: '' })).toBe(500);
  });

  it('gives up after maxAttempts consecutive failures', () => {
    const h = harness({ reconnect: { maxAttempts: 2 } });
    h.client.connect();
    h.net.last.end({ code: 1006, reason: '' });
    nextSocket(h).end({ code: 1006, reason: '' });
    nextSocket(h).end({ code: 1006, reason: '' });
    h.clock.advance(120_000);
    expect(h.net.sockets).toHaveLength(3);
    expect(h.client.state).toBe('closed');
    expect(h.errors).toEqual([expect.objectContaining({ origin: 'client', code: 'gave_up' })]);
  });
});

describe('close policy', () => {
  it('retries what may pass and stops on what will not', () => {
    expect(judgeClose({ code: 1008, reason: 'slow consumer' })).toEqual({ retry: true, hintMs: null });
    expect(judgeClose({ code: 1013, reason: 'overloaded; retry-after-ms=1200' })).toEqual({ retry: true, hintMs: 1_200 });
    expect(judgeClose({ code: 1006, reason: '', httpStatus: 429, retryAfterMs: 3_000 })).toEqual({ retry: true, hintMs: 3_000 });
    expect(judgeClose({ code: 1008, reason: 'unauthorized: token expired' })).toMatchObject({ retry: false, code: 'auth_rejected' });
    expect(judgeClose({ code: 1006, reason: '', httpStatus: 401 })).toMatchObject({ retry: false, code: 'auth_rejected' });
    expect(judgeClose({ code: 1006, reason: '', httpStatus: 404 })).toMatchObject({ retry: false, code: 'refused' });
  });

  it('the client stops and reports on an auth close, and reconnects on a slow-consumer close', () => {
    const slow = harness();
    connected(slow).end({ code: 1008, reason: 'slow consumer' });
    expect(slow.client.state).toBe('reconnecting');
    nextSocket(slow);
    expect(slow.net.sockets).toHaveLength(2);

    const denied = harness();
    connected(denied).end({ code: 1008, reason: 'authentication failed' });
    denied.clock.advance(120_000);
    expect(denied.client.state).toBe('closed');
    expect(denied.net.sockets).toHaveLength(1);
    expect(denied.errors).toEqual([expect.objectContaining({ code: 'auth_rejected' })]);
  });
});

describe('heartbeat and timeouts', () => {
  it('pings every heartbeatMs and stays up while anything arrives', () => {
    const h = harness();
    h.client.connect();
    const socket = h.net.last;
    socket.accept(1_000);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1_000);
      const ping = socket.lastOfType('ping');
      socket.receive({ type: 'pong', id: ping.id });
    }
    expect(socket.ofType('ping')).toHaveLength(5);
    expect(socket.closedByClient).toBeNull();
    expect(h.client.state).toBe('open');
  });

  it('2 × heartbeatMs of silence closes the socket and reconnects', () => {
    const h = harness();
    h.client.connect();
    const socket = h.net.last;
    socket.accept(1_000);
    h.clock.advance(1_999);
    expect(socket.closedByClient).toBeNull();
    h.clock.advance(1);
    expect(socket.closedByClient).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    expect(h.client.state).toBe('reconnecting');
    expect(nextSocket(h)).not.toBe(socket);
  });

  it('a socket that never brings a welcome is abandoned after connectTimeoutMs', () => {
    const h = harness({ connectTimeoutMs: 3_000 });
    h.client.connect();
    const socket = h.net.last;
    h.clock.advance(3_000);
    expect(socket.closedByClient?.code).toBe(4001);
    expect(h.client.state).toBe('reconnecting');
  });

  it('app close → close 1000, state closed, no reconnect, and late socket events are ignored', () => {
    const h = harness();
    const socket = connected(h);
    h.client.close();
    expect(socket.closedByClient).toEqual({ code: 1000, reason: 'client closed' });
    socket.end({ code: 1000, reason: 'client closed' });
    h.clock.advance(600_000);
    expect(h.net.sockets).toHaveLength(1);
    expect(h.client.state).toBe('closed');
    expect(h.states).toEqual(['connecting', 'open', 'closed']);
    expect(h.clock.pending).toBe(0);
  });

  it('close() during a backoff wait cancels the reconnect', () => {
    const h = harness();
    connected(h).end({ code: 1006, reason: '' });
    h.client.close();
    h.clock.advance(600_000);
    expect(h.net.sockets).toHaveLength(1);
  });
});
