import { describe, expect, it } from 'vitest';
import { computeCapacity } from '../../src/core/admission.js';
import { retryHintOf } from '../../src/core/protocol.js';
import { harness } from '../support/core-harness.js';

const KB = 1024;

describe('slow clients: degrade explicitly, never lose silently (I6)', () => {
  const classes = [
    { pattern: 'trade.>', priority: 'critical' as const, conflate: false },
    { pattern: 'price.>', priority: 'normal' as const, conflate: true },
    { pattern: 'chat.>', priority: 'low' as const, conflate: false },
  ];
  const payload = 'x'.repeat(900);

  function slowSetup() {
    const h = harness({ channelClasses: classes, outbound: { queueBytesMax: 20 * KB, socketHighWaterBytes: 4 * KB, slowCloseAfterMs: 5_000 } });
    const slow = h.connect();
    const fast = h.connect();
    for (const c of [slow, fast]) c.send({ type: 'subscribe', id: 1, channels: ['trade.>', 'price.>', 'chat.>'] });
    slow.conn.clear();
    // The slow client's socket is backed up: the gateway must hold frames instead of writing them.
    slow.conn.buffered = 5 * KB;
    return { h, slow, fast };
  }

  it('keeps writing to fast clients while a slow one backs up', () => {
    const { h, slow, fast } = slowSetup();
    for (let i = 0; i < 40; i++) h.publish(['trade.a', 'price.a', 'chat.a'][i % 3]!, payload);
    expect(fast.conn.ofType('event')).toHaveLength(40);
    expect(slow.conn.writes).toHaveLength(0);
  });

  it('conflates, sheds low priority with coalesced gaps, and sends throttle notices once drained', () => {
    const { h, slow } = slowSetup();
    for (let i = 0; i < 30; i++) h.publish(['trade.a', 'price.a', 'chat.a'][i % 3]!, payload);
    slow.conn.buffered = 0;
    h.gateway.onWritable(slow.session);
    h.clock.settle();
    const messages = slow.conn.messages();
    const events = messages.filter((m) => m.type === 'event');
    const gaps = messages.filter((m) => m.type === 'gap');
    const throttles = messages.filter((m) => m.type === 'throttle');
    // Every critical event arrived.
    expect(events.filter((e) => e.ch === 'trade.a')).toHaveLength(10);
    // Nothing vanished: each published offset was either delivered or named by a gap notice.
    const covered = new Set<number>();
    for (const e of events) covered.add(e.offset);
    for (const g of gaps) for (let o = g.from; o <= g.to; o++) covered.add(o);
    for (let o = 1; o <= 30; o++) expect(covered.has(o), `offset ${o}`).toBe(true);
    expect(gaps.some((g) => g.reason === 'conflated' && g.ch === 'price.a')).toBe(true);
    expect(gaps.some((g) => g.reason === 'shed' && g.ch === 'chat.a')).toBe(true);
    // Gaps are coalesced per channel: fewer notices than shed events.
    expect(gaps.length).toBeLessThan(30 - events.length);
    expect(throttles.length).toBeGreaterThan(0);
    expect(throttles[0]).toMatchObject({ level: expect.any(Number), percent: expect.any(Number) });
  });

  it('closes 1008 when critical events cannot be queued and the client does not catch up in time', () => {
    const { h, slow } = slowSetup();
    for (let i = 0; i < 24; i++) h.publish('trade.a', payload);
    expect(slow.conn.closed).toBeNull();
    h.clock.advance(5_001);
    expect(slow.conn.closed).toEqual({ code: 1008, reason: 'slow consumer: resume with since to recover' });
    expect(h.gateway.stats().slowDisconnects).toBe(1);
    // Its backlog is what we give up on: none of it is written ahead of the close (it resumes from history).
    expect(slow.conn.ofType('event')).toHaveLength(0);
  });

  it('accounts queued bytes and throttled sessions in stats and gauges, and forgets them on close', () => {
    const { h, slow } = slowSetup();
    for (let i = 0; i < 15; i++) h.publish('trade.a', payload);
    const during = h.gateway.stats();
    expect(during.outboundQueueBytes).toBe(slow.session.queue.bytes);
    expect(during.outboundQueueBytes).toBeGreaterThan(10 * KB);
    expect(during.throttledSessions.level1 + during.throttledSessions.level2 + during.throttledSessions.level3).toBe(1);
    h.clock.advance(1_000);
    expect(h.telemetry.gauges.get('odin_outbound_queue_bytes')).toBe(during.outboundQueueBytes);
    slow.close();
    const after = h.gateway.stats();
    expect(after.outboundQueueBytes).toBe(0);
    expect(after.throttledSessions).toEqual({ level1: 0, level2: 0, level3: 0 });
  });

  it('does not close a client that drains before the deadline', () => {
    const { h, slow } = slowSetup();
    for (let i = 0; i < 24; i++) h.publish('trade.a', payload);
    h.clock.advance(2_000);
    slow.conn.buffered = 0;
    h.gateway.onWritable(slow.session);
    h.clock.advance(10_000);
    expect(slow.conn.closed).toBeNull();
    expect(slow.conn.ofType('event')).toHaveLength(24);
  });

  it('bounds a stalled session: it is closed before holding twice its queue bound', () => {
    const { h, slow } = slowSetup();
    for (let i = 0; i < 200; i++) h.publish('trade.a', payload);
    expect(slow.conn.closed?.code).toBe(1008);
    expect(slow.session.queue.bytes).toBeLessThanOrEqual(2 * 20 * KB);
  });
});

describe('inbound rate limit (I8)', () => {
  it('answers messages over the bucket with rate_limited, then closes 1008 on repeated abuse', () => {
    const h = harness({ inbound: { messageBurst: 5, messagesPerSecond: 1, violationsMax: 3 } });
    const c = h.connect();
    for (let i = 0; i < 8; i++) c.send({ type: 'ping', id: i });
    expect(c.conn.ofType('pong')).toHaveLength(5);
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
    expect(c.conn.closed).toBeNull();
    c.send({ type: 'ping', id: 99 });
    expect(c.conn.closed?.code).toBe(1008);
  });

  it('forgives violations after a quiet window, so only sustained abuse is closed', () => {
    const h = harness({ inbound: { messageBurst: 1, messagesPerSecond: 1, violationsMax: 2, violationWindowMs: 10_000 } });
    const c = h.connect();
    for (let round = 0; round < 5; round++) {
      c.send({ type: 'ping', id: 1 });
      c.send({ type: 'ping', id: 2 }); // over the bucket: one violation per round
      h.clock.advance(11_000);
    }
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(Array(5).fill('rate_limited'));
    expect(c.conn.closed).toBeNull();
  });

  it('refills at the configured rate', () => {
    const h = harness({ inbound: { messageBurst: 2, messagesPerSecond: 2, violationsMax: 100 } });
    const c = h.connect();
    for (let i = 0; i < 2; i++) c.send({ type: 'ping', id: i });
    h.clock.advance(1_000);
    for (let i = 0; i < 3; i++) c.send({ type: 'ping', id: 10 + i });
    expect(c.conn.ofType('pong')).toHaveLength(4);
  });

  it('keeps the limit across idle heartbeat intervals (the limiter of a quiet session is remade, never reset early)', () => {
    const h = harness({ heartbeatMs: 1_000, heartbeatTimeoutMs: 300, inbound: { messageBurst: 3, messagesPerSecond: 1, violationsMax: 100 } });
    const c = h.connect();
    for (let i = 0; i < 4; i++) c.send({ type: 'ping', id: i });
    expect(c.conn.ofType('pong')).toHaveLength(3);
    // A heartbeat check passes one second later, with one token back: not full, so it must still count.
    h.clock.advance(1_000);
    c.send({ type: 'ping', id: 10 });
    c.send({ type: 'ping', id: 11 });
    expect(c.conn.ofType('pong')).toHaveLength(4);
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(['rate_limited', 'rate_limited']);
    // Long idle (several intervals, answering pings): a full burst again, and not one message more.
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1_000);
      c.session.heard = true;
    }
    for (let i = 0; i < 4; i++) c.send({ type: 'ping', id: 20 + i });
    expect(c.conn.ofType('pong')).toHaveLength(7);
    expect(c.conn.ofType('error')).toHaveLength(3);
  });
});

describe('an internal fault', () => {
  it('ends only the session it happened in, with an internal error and close 1011', () => {
    const h = harness();
    const victim = h.connect();
    const bystander = h.connect();
    bystander.send({ type: 'subscribe', id: 1, channels: ['a'] });
    // Simulate a core bug on one session's path: its subscription table throws when read.
    Object.defineProperty(victim.session, 'subscriptions', {
      get: () => {
        throw new Error('boom');
      },
    });
    victim.send({ type: 'subscribe', id: 1, channels: ['a'] });
    expect(victim.conn.ofType('error').map((e) => e.code)).toEqual(['internal']);
    expect(victim.conn.closed?.code).toBe(1011);
    expect(h.telemetry.logs.some((l) => l.level === 'error')).toBe(true);
    h.publish('a', 1);
    expect(bystander.conn.ofType('event')).toHaveLength(1);
  });
});

describe('heartbeats', () => {
  it('pings every interval and terminates a connection whose pong is overdue', () => {
    const h = harness({ heartbeatMs: 1_000, heartbeatTimeoutMs: 300 });
    const alive = h.connect();
    const dead = h.connect();
    for (let t = 0; t < 5; t++) {
      h.clock.advance(1_000);
      h.gateway.onPong(alive.session);
    }
    expect(alive.conn.pings).toBe(5);
    expect(alive.conn.terminated).toBe(false);
    expect(dead.conn.pings).toBe(1);
    expect(dead.conn.terminated).toBe(true);
  });

  it('does not ping a client that keeps talking, and pings it once it falls silent', () => {
    const h = harness({ heartbeatMs: 1_000, heartbeatTimeoutMs: 300 });
    const chatty = h.connect();
    for (let t = 0; t < 5; t++) {
      h.clock.advance(500);
      chatty.send({ type: 'ping', id: t + 1 });
      h.clock.advance(500);
    }
    expect(chatty.conn.pings).toBe(0);
    // Last message at 4,500 ms: the check at 5,000 ms still counts it; 6,000 pings; 6,300 gives up.
    h.clock.advance(999);
    expect(chatty.conn.pings).toBe(0);
    h.clock.advance(1);
    expect(chatty.conn.pings).toBe(1);
    h.clock.advance(299);
    expect(chatty.conn.terminated).toBe(false);
    h.clock.advance(1);
    expect(chatty.conn.terminated).toBe(true);
  });
});

describe('heartbeat wheel', () => {
  it('keeps one timer for every session, however many are open, and forgets a closed session', () => {
    const h = harness({ heartbeatMs: 1_000, heartbeatTimeoutMs: 300 });
    h.clock.settle();
    const idle = h.clock.pending; // housekeeping, and nothing else yet
    const clients = Array.from({ length: 50 }, () => h.connect());
    expect(h.clock.pending).toBe(idle + 1);
    clients[7]!.close();
    h.clock.advance(1_000);
    expect(clients[7]!.conn.pings).toBe(0);
    expect(clients.filter((c) => c.conn.pings === 1)).toHaveLength(49);
    // Sessions that opened at different instants are checked each at its own interval.
    h.clock.advance(150);
    const late = h.connect();
    h.clock.advance(999);
    expect(late.conn.pings).toBe(0);
    h.clock.advance(1);
    expect(late.conn.pings).toBe(1);
    expect(h.clock.pending).toBe(idle + 1);
  });
});

describe('drain (I9)', () => {
  it('refuses new handshakes, closes every client 1001 with a jittered hint, and finishes when all are gone', () => {
    const h = harness({ drainRetryJitterMs: 5_000 });
    const clients = Array.from({ length: 5 }, () => h.connect());
    clients[0]!.send({ type: 'subscribe', id: 1, channels: ['a'] });
    let done: unknown = false;
    h.gateway.drain((outcome) => (done = outcome));
    expect(h.gateway.ready()).toBe(false);
    const refused = h.gateway.admit({ ip: '1.2.3.4', userId: null });
    expect(refused).toMatchObject({ ok: false, status: 503, reason: 'draining' });
    const hints = clients.map((c) => {
      expect(c.conn.closed?.code).toBe(1001);
      return retryHintOf(c.conn.closed!.reason)!;
    });
    for (const hint of hints) {
      expect(hint).toBeGreaterThanOrEqual(0);
      expect(hint).toBeLessThan(5_000);
    }
    expect(new Set(hints).size).toBeGreaterThan(1);
    expect(done).toBe(false);
    for (const c of clients) c.close(1001);
    expect(done).toEqual({ closed: 5, terminated: 0 });
  });

  it('terminates stragglers at the drain timeout and says how many', () => {
    const h = harness({ drainTimeoutMs: 2_000 });
    const [polite, straggler, other] = [h.connect(), h.connect(), h.connect()];
    let done: unknown = null;
    h.gateway.drain((outcome) => (done = outcome));
    polite.close(1001);
    h.clock.advance(1_999);
    expect(done).toBeNull();
    h.clock.advance(1);
    expect([polite, straggler, other].map((c) => c.conn.terminated)).toEqual([false, true, true]);
    expect(done).toEqual({ closed: 1, terminated: 2 });
  });
});

describe('admission (I7)', () => {
  it('admits exactly capacity connections and refuses the rest with 503 and Retry-After', () => {
    const h = harness({ admission: { connectionsMax: 50, retryAfterS: 7, handshakeBurst: 1_000 } });
    const results = Array.from({ length: 60 }, (_, i) => h.gateway.admit({ ip: `10.1.0.${i}`, userId: null }));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(10);
    for (const r of refused) expect(r).toMatchObject({ status: 503, reason: 'capacity', retryAfterS: 7 });
  });

  it('gives a slot back when an upgrade is abandoned or a connection closes', () => {
    const h = harness({ admission: { connectionsMax: 1 } });
    const first = h.gateway.admit({ ip: 'a', userId: null });
    if (!first.ok) throw new Error('expected a slot');
    expect(h.gateway.admit({ ip: 'b', userId: null }).ok).toBe(false);
    h.gateway.abandon(first.ticket);
    const c = h.connect({ ip: 'c' });
    expect(h.gateway.admit({ ip: 'd', userId: null }).ok).toBe(false);
    c.close();
    expect(h.gateway.admit({ ip: 'e', userId: null }).ok).toBe(true);
  });

  it('caps connections per user (429) and per IP (429)', () => {
    const h = harness({ admission: { perUserMax: 5, perIpMax: 8 } });
    const byUser = Array.from({ length: 6 }, () => h.gateway.admit({ ip: 'u', userId: 'alice' }));
    expect(byUser.slice(0, 5).every((r) => r.ok)).toBe(true);
    expect(byUser[5]).toMatchObject({ ok: false, status: 429, reason: 'per_user' });
    const byIp = Array.from({ length: 4 }, () => h.gateway.admit({ ip: 'u', userId: null }));
    expect(byIp.slice(0, 3).every((r) => r.ok)).toBe(true);
    expect(byIp[3]).toMatchObject({ ok: false, status: 429, reason: 'per_ip' });
  });

  it('limits the handshake rate per IP with a token bucket (429)', () => {
    const h = harness({ admission: { handshakeBurst: 10, handshakesPerSecond: 5 } });
    const burst = Array.from({ length: 12 }, () => h.gateway.admit({ ip: 'x', userId: null }));
    expect(burst.filter((r) => r.ok)).toHaveLength(10);
    expect(burst[11]).toMatchObject({ ok: false, status: 429, reason: 'handshake_rate' });
    expect(h.gateway.admit({ ip: 'y', userId: null }).ok).toBe(true);
    h.clock.advance(1_000);
    expect(Array.from({ length: 6 }, () => h.gateway.admit({ ip: 'x', userId: null })).filter((r) => r.ok)).toHaveLength(5);
  });

  it('spreads refused handshakes over future slots, and clients that obey Retry-After find a token', () => {
    const h = harness({ admission: { handshakeBurst: 10, handshakesPerSecond: 5 } });
    const first = Array.from({ length: 60 }, () => h.gateway.admit({ ip: 'box', userId: null }));
    const refused = first.filter((r) => !r.ok) as Extract<(typeof first)[number], { ok: false }>[];
    expect(refused).toHaveLength(50);
    // Not everyone told "1 s": the hints cover the 10 s it takes to refill 50 tokens at 5/s.
    const hints = refused.map((r) => r.retryAfterS);
    expect(Math.min(...hints)).toBe(1);
    expect(Math.max(...hints)).toBe(10);
    // Each whole second, about one second's worth of refill comes back.
    const perSecond = new Map<number, number>();
    for (const s of hints) perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    for (const count of perSecond.values()) expect(count).toBeLessThanOrEqual(5);
    // Everyone who comes back when told is admitted.
    let t = 0;
    for (const s of [...perSecond.keys()].sort((a, b) => a - b)) {
      h.clock.advance(s * 1000 - t);
      t = s * 1000;
      for (let i = 0; i < perSecond.get(s)!; i++) expect(h.gateway.admit({ ip: 'box', userId: null }).ok).toBe(true);
    }
  });

  it('refuses handshakes under the load brake and serves existing connections', () => {
    const h = harness({ loadBrake: { eventLoopDelayMsMax: 100, utilizationMax: 0.9 } });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    h.gateway.setLoad({ eventLoopDelayMs: 250, eventLoopUtilization: 0.5 });
    expect(h.gateway.admit({ ip: 'z', userId: null })).toMatchObject({ ok: false, status: 503, reason: 'overloaded' });
    h.publish('a', 1);
    expect(c.conn.ofType('event')).toHaveLength(1);
    h.gateway.setLoad({ eventLoopDelayMs: 5, eventLoopUtilization: 0.2 });
    expect(h.gateway.admit({ ip: 'z', userId: null }).ok).toBe(true);
  });

  it('derives capacity from the smallest of config, memory and descriptors, and names the binding term', () => {
    const MiB = 1024 * 1024;
    const base = { configuredMax: 100_000, baselineBytes: 128 * MiB, retainedBytes: 0, perConnectionBytes: 180 * KB, fdReserve: 64 };
    expect(computeCapacity({ ...base, memoryBudgetBytes: 512 * MiB, fdLimit: 1_048_576 })).toMatchObject({
      connectionsMax: Math.floor((384 * MiB) / (180 * KB)),
      boundBy: 'memory',
    });
    expect(computeCapacity({ ...base, memoryBudgetBytes: null, fdLimit: 1_024 })).toMatchObject({ connectionsMax: 960, boundBy: 'descriptors' });
    expect(computeCapacity({ ...base, memoryBudgetBytes: null, fdLimit: null })).toMatchObject({ connectionsMax: 100_000, boundBy: 'config' });
    // Doubling the memory budget above the baseline doubles the memory term.
    const one = computeCapacity({ ...base, memoryBudgetBytes: 1128 * MiB, fdLimit: null }).terms.memory!;
    const two = computeCapacity({ ...base, memoryBudgetBytes: 2128 * MiB, fdLimit: null }).terms.memory!;
    expect(two / one).toBeCloseTo(2, 2);
    // Memory history may fill is not memory for connections.
    const retained = computeCapacity({ ...base, retainedBytes: 180 * KB * 1000, memoryBudgetBytes: 512 * MiB, fdLimit: null }).terms.memory!;
    expect(retained).toBe(Math.floor((384 * MiB) / (180 * KB)) - 1000);
  });
});
