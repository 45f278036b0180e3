// The gateway's operational surface as properties: heartbeats, broker outages and a changed timeline,
// publish validation, the load brake, subscription limits and the small verbs (ping, unsubscribe,
// binary frames). Each answer is predicted from a few lines of docs/design.md and docs/protocol.md.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../src/adapters/broker-memory.js';
import type { Broker, BrokerSink } from '../src/core/ports.js';
import { subjectMatches } from '../src/core/protocol.js';
import { FakeConnection } from '../test/support/fakes.js';
import { System, realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('heartbeats', () => {
  it('a silent connection is pinged every interval and terminated after a whole timeout; any message counts as alive', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1_000, 5_000),
        fc.constantFrom(200, 900),
        fc.array(fc.constantFrom('pong', 'message', 'silent'), { maxLength: 8 }),
        (heartbeatMs, timeoutMs, answers) => {
          const sys = new System(realCore, { options: { heartbeatMs, heartbeatTimeoutMs: timeoutMs } });
          const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
          const silent = answers.indexOf('silent');
          let now = 0;
          for (const [i, answer] of answers.entries()) {
            sys.advance((i + 1) * heartbeatMs - now); // the (i+1)-th ping is due
            now = (i + 1) * heartbeatMs;
            expect(link.conn.pings).toBe(i + 1);
            if (answer === 'pong') sys.gateway.onPong(link.session);
            if (answer === 'message') sys.send(link, { type: 'ping', id: i });
            sys.advance(timeoutMs);
            now += timeoutMs;
            expect(link.conn.terminated).toBe(answer === 'silent');
            if (answer === 'silent') {
              expect(link.ended?.code).toBe(1006);
              break;
            }
          }
          expect(link.conn.terminated).toBe(silent >= 0);
          expect(link.conn.pings).toBe(silent >= 0 ? silent + 1 : answers.length);
        },
      ),
      runs(100),
    );
  });
});

/** A broker whose status and timeline the test drives (an outage, a stream recreated elsewhere). */
function drivenBroker(): { variant: { wrapBroker(inner: MemoryBroker): Broker }; sink(): BrokerSink; setEpoch(e: string): void } {
  let sink: BrokerSink | null = null;
  let epoch: string | null = null;
  return {
    variant: {
      wrapBroker: (inner) => ({
        epoch: () => epoch ?? inner.epoch(),
        start: (s) => inner.start((sink = s)),
        stop: () => inner.stop(),
        readHistory: (r, done) => inner.readHistory(r, done),
        publish: (c, d, done) => inner.publish(c, d, done),
      }),
    },
    sink: () => sink!,
    setEpoch: (e) => (epoch = e),
  };
}

describe('broker outages and timelines', () => {
  it('ready only while the feed is live; a new epoch drops history and refuses resumes from the old one', () => {
    const action = fc.constantFrom('down', 'live', 'new-epoch', 'publish', 'publish', 'resume');
    fc.assert(
      fc.property(fc.array(action, { maxLength: 20, size: 'max' }), (actions) => {
        const driven = drivenBroker();
        const sys = new System(driven.variant, { options: { heartbeatMs: 1e9 } });
        const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
        let status = 'live';
        let epoch = sys.memory.epoch();
        let generation = 0;
        let id = 1;
        let statusChanges = 0;
        for (const a of actions) {
          if (a === 'down' || a === 'live') {
            driven.sink().onStatus(a, a === 'down' ? 'connection refused' : undefined);
            if (a !== status) statusChanges++;
            status = a;
          } else if (a === 'new-epoch') {
            epoch = `E${++generation}`;
            driven.setEpoch(epoch);
            driven.sink().onStatus('live');
            if (status !== 'live') statusChanges++;
            status = 'live';
            // The old timeline's rings are gone: nothing is claimed for the new one yet.
            expect(sys.gateway.stats().historyChannels).toBe(0);
          } else if (a === 'publish') {
            sys.publish([{ channel: 'a', data: '1' }]);
          } else {
            const offset = Math.min(sys.gateway.stats().broker.streamOffset, 1);
            sys.send(link, { type: 'subscribe', id: id++, channels: [`r${id}`], since: { [`r${id - 1}`]: { epoch: 'stale', offset } } });
          }
          const stats = sys.gateway.stats();
          expect(sys.gateway.ready()).toBe(status === 'live');
          expect(stats.ready).toBe(status === 'live');
          expect(stats.broker.status).toBe(status);
          expect(stats.broker.epoch).toBe(epoch);
          expect(sys.telemetry.gauges.get('odin_broker_up')).toBe(status === 'live' ? 1 : 0);
        }
        for (const reply of link.conn.ofType('subscribed')) {
          for (const state of Object.values(reply.channels)) expect(state).toMatchObject({ recovered: false, reason: 'epoch_changed', epoch });
        }
        for (const log of sys.telemetry.logs) expect(log.message.length).toBeGreaterThan(5);
        // One log line per change of status (connecting → live at start included), one per new timeline.
        expect(sys.telemetry.logs.filter((l) => /^broker (live|down)$/.test(l.message)).length).toBe(statusChanges + 1);
        expect(sys.telemetry.logs.filter((l) => l.message.includes('timeline changed')).length).toBe(actions.filter((a) => a === 'new-epoch').length);
      }),
      runs(150),
    );
  });
});

describe('publishing over HTTP', () => {
  it('assigns the next offset to a valid channel, refuses invalid names and publishes while draining (HTTP maps them to 400 and 503)', () => {
    const channel = fc.oneof(
      fc.array(fc.constantFrom('a', 'b', 'c1'), { minLength: 1, maxLength: 3 }).map((t) => t.join('.')),
      fc.constantFrom('', 'a..b', 'a.*', 'a.>', '>', 'a b', 'x'.repeat(201), 'é'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(channel, fc.boolean()), { maxLength: 12, size: 'max' }), fc.nat(12), (items, drainAt) => {
        const sys = new System(realCore, { options: { heartbeatMs: 1e9 } });
        let head = 0;
        items.forEach(([ch, _], i) => {
          if (i === drainAt) sys.gateway.drain(() => {});
          let outcome: unknown;
          sys.gateway.publish(ch, '1', (o) => (outcome = o));
          const valid = /^[a-z0-9]+(\.[a-z0-9]+)*$/.test(ch) && ch.length <= 200;
          if (!valid) expect(outcome).toMatchObject({ ok: false, code: 'invalid_channel', message: expect.stringContaining(`channel "${ch.slice(0, 20)}`) });
          else if (i >= drainAt) expect(outcome).toMatchObject({ ok: false, code: 'draining', message: expect.stringMatching(/shutting down/) });
          else expect(outcome).toEqual({ ok: true, epoch: sys.memory.epoch(), offset: ++head });
        });
        expect(sys.gateway.stats().events.published).toBe(head);
      }),
      runs(150),
    );
  });

  it('answers broker_unavailable (HTTP 503) with the broker’s reason when the broker refuses', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), (reason) => {
        const sys = new System({ wrapBroker: (inner) => ({ ...bind(inner), publish: (_c, _d, done) => done({ ok: false, reason }) }) });
        let outcome: unknown;
        sys.gateway.publish('a', '1', (o) => (outcome = o));
        expect(outcome).toEqual({ ok: false, code: 'broker_unavailable', message: reason });
      }),
      runs(30),
    );
  });
});

function bind(inner: MemoryBroker): Broker {
  return {
    epoch: () => inner.epoch(),
    start: (s) => inner.start(s),
    stop: () => inner.stop(),
    readHistory: (r, d) => inner.readHistory(r, d),
    publish: (c, d, done) => inner.publish(c, d, done),
  };
}

describe('load brake', () => {
  it('refuses handshakes exactly while delay or utilisation exceeds its bound, logging each switch once', () => {
    const sample = fc.record({ eventLoopDelayMs: fc.constantFrom(0, 99, 100, 101, 500), eventLoopUtilization: fc.constantFrom(0, 0.5, 0.9, 0.91, 1) });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 12, size: 'max' }), (samples) => {
        const sys = new System(realCore, { options: { heartbeatMs: 1e9, loadBrake: { eventLoopDelayMsMax: 100, utilizationMax: 0.9 } } });
        let overloaded = false;
        let switches = 0;
        for (const s of samples) {
          sys.gateway.setLoad(s);
          const now = s.eventLoopDelayMs > 100 || s.eventLoopUtilization > 0.9;
          if (now !== overloaded) switches++;
          overloaded = now;
          expect(sys.gateway.stats().overloaded).toBe(overloaded);
          expect(sys.telemetry.gauges.get('odin_event_loop_delay_seconds')).toBe(s.eventLoopDelayMs / 1000);
          expect(sys.telemetry.gauges.get('odin_event_loop_utilization_ratio')).toBe(s.eventLoopUtilization);
          const answer = sys.gateway.admit({ ip: '10.0.0.1', userId: null });
          expect(answer.ok).toBe(!overloaded);
          if (answer.ok) sys.gateway.abandon(answer.ticket);
          else expect(answer).toMatchObject({ status: 503, reason: 'overloaded' });
        }
        const brakeLogs = sys.telemetry.logs.filter((l) => l.message.startsWith('load brake'));
        expect(brakeLogs.length).toBe(switches);
        for (const [i, l] of brakeLogs.entries()) expect(l.level).toBe(i % 2 === 0 ? 'warn' : 'info');
      }),
      runs(150),
    );
  });
});

describe('subscription limits and small verbs', () => {
  it('refuses a subscribe that would pass the limit, atomically; unsubscribe confirms what it removed; ping pongs', () => {
    const request = fc.record({
      kind: fc.constantFrom('subscribe', 'subscribe', 'unsubscribe', 'ping', 'replay'),
      keys: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'p.x', 'p.>'), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(request, { maxLength: 15, size: 'max' }), (limit, requests) => {
        const sys = new System(realCore, { options: { heartbeatMs: 1e9, subscriptionsMax: limit } });
        const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
        const held = new Set<string>();
        requests.forEach(({ kind, keys }, id) => {
          const before = link.conn.messages().length;
          if (kind === 'replay') {
            const channel = keys[0] === 'p.>' ? 'p.x' : keys[0]!;
            sys.send(link, { type: 'replay', id, channel, from: 0, to: 5 });
            const [answer] = link.conn.messages().slice(before);
            const covered = [...held].some((k) => subjectMatches(k, channel));
            if (covered) expect(answer).toMatchObject({ type: 'replayed', id, count: 0 });
            else expect(answer).toMatchObject({ type: 'error', id, code: 'not_subscribed', message: expect.stringContaining('needs a subscription') });
            return;
          }
          sys.send(link, kind === 'ping' ? { type: 'ping', id } : { type: kind, id, channels: keys });
          const answers = link.conn.messages().slice(before);
          if (kind === 'ping') expect(answers).toEqual([{ type: 'pong', id }]);
          else if (kind === 'unsubscribe') {
            expect(answers).toEqual([{ type: 'unsubscribed', id, channels: keys.filter((k) => held.has(k)) }]);
            for (const k of keys) held.delete(k);
          } else {
            const added = keys.filter((k) => !held.has(k)).length;
            if (held.size + added > limit) {
              expect(answers).toEqual([{ type: 'error', id, code: 'subscription_limit', message: expect.stringContaining(`at most ${limit}`) }]);
            } else {
              expect(answers).toMatchObject([{ type: 'subscribed', id }]);
              for (const k of keys) held.add(k);
            }
          }
          expect(sys.gateway.stats().subscriptions).toBe(held.size);
          expect(new Set(link.session.subscriptions.keys())).toEqual(held);
        });
        link.conn.clear();
        // Only what is held receives events, once per connection even where subscriptions overlap (p.x, p.>).
        sys.publish(['a', 'b', 'c', 'd', 'p.x', 'p.y'].map((channel) => ({ channel, data: '0' })));
        const got = link.conn.ofType('event').map((e) => e.ch);
        expect(got).toEqual(['a', 'b', 'c', 'd', 'p.x', 'p.y'].filter((c) => [...held].some((k) => subjectMatches(k, c))));
      }),
      runs(150),
    );
  });

  it('answers a binary frame with binary_unsupported and close 1003', () => {
    const sys = new System(realCore);
    const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
    sys.gateway.onBinaryMessage(link.session);
    sys.settle();
    expect(link.conn.ofType('error')).toMatchObject([{ code: 'binary_unsupported', message: expect.stringContaining('JSON text') }]);
    expect(link.ended).toEqual({ code: 1003, reason: 'binary frames are not supported' });
    sys.send(link, { type: 'ping', id: 1 });
    expect(link.conn.ofType('pong')).toEqual([]);
  });
});

describe('resume positions from elsewhere, and the drain deadline', () => {
  it('a since from another timeline or beyond the head is recovered:false epoch_changed; within it, recovered', () => {
    fc.assert(
      fc.property(fc.nat(6), fc.integer({ min: -3, max: 3 }), fc.boolean(), (published, delta, sameEpoch) => {
        const sys = new System(realCore, { options: { heartbeatMs: 1e9 } });
        for (let i = 0; i < published; i++) sys.publish([{ channel: 'a', data: String(i) }]);
        const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
        const offset = Math.max(0, published + delta);
        const epoch = sameEpoch ? sys.memory.epoch() : 'elsewhere';
        sys.send(link, { type: 'subscribe', id: 1, channels: ['a'], since: { a: { epoch, offset } } });
        const state = link.conn.ofType('subscribed')[0]!.channels.a!;
        if (!sameEpoch || offset > published)
          expect(state).toEqual({ epoch: sys.memory.epoch(), offset: published, recovered: false, reason: 'epoch_changed' });
        else expect(state).toEqual({ epoch: sys.memory.epoch(), offset: published, recovered: true, replayed: published - offset });
        expect(link.conn.ofType('event').map((e) => e.offset)).toEqual(
          state.recovered ? Array.from({ length: published - offset }, (_, i) => offset + i + 1) : [],
        );
      }),
      runs(100),
    );
  });

  it('terminates connections still open at the drain deadline, then reports the drain done', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 100, max: 5_000 }), (n, timeoutMs) => {
        const sys = new System(realCore, { options: { heartbeatMs: 1e9, drainTimeoutMs: timeoutMs } });
        // Opened by hand: the host never reports these closes (a peer that never completes the handshake).
        const conns = Array.from({ length: n }, (_, i) => {
          const admission = sys.gateway.admit({ ip: `10.0.0.${i}`, userId: null });
          if (!admission.ok) throw new Error('refused');
          const conn = new FakeConnection();
          sys.gateway.open(conn, admission.ticket);
          return conn;
        });
        let done = 0;
        sys.gateway.drain(() => done++);
        sys.settle();
        for (const c of conns) expect(c.closed?.code).toBe(1001);
        sys.clock.advance(timeoutMs - 1);
        expect(done).toBe(0);
        expect(conns.some((c) => c.terminated)).toBe(false);
        sys.clock.advance(1);
        expect(done).toBe(1);
        for (const c of conns) expect(c.terminated).toBe(true);
      }),
      runs(30),
    );
  });

  it('open() refuses a ticket that is not reserved (an assertion, not a second connection)', () => {
    const sys = new System(realCore);
    const admission = sys.gateway.admit({ ip: '10.0.0.1', userId: null });
    if (!admission.ok) throw new Error('refused');
    sys.gateway.abandon(admission.ticket);
    expect(() => sys.gateway.open(new FakeConnection(), admission.ticket)).toThrowError(
      expect.objectContaining({ name: 'InvariantError', message: 'open() with a ticket in state released' }),
    );
    expect(sys.gateway.stats().connections.current).toBe(0);
  });
});
