// Faults the lab's explorer and broker-outage scenario found, pinned at the core: a feed that skipped
// expired offsets, and a broker that came back with a new epoch. Neither may be silent (I3; docs/design.md, "History and recovery").
import { describe, expect, it } from 'vitest';
import { Gateway } from '../../src/core/gateway.js';
import { gatewayOptions } from '../../src/core/options.js';
import { retryHintOf } from '../../src/core/protocol.js';
import { openClient } from '../support/core-harness.js';
import { RecordingTelemetry } from '../support/fakes.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { seededRandom } from '../support/seeded-random.js';
import { ScriptedBroker } from '../support/scripted-broker.js';

function setup() {
  const clock = new SimClock();
  const broker = new ScriptedBroker();
  const gateway = new Gateway({ clock, random: seededRandom(3), broker, telemetry: new RecordingTelemetry() }, gatewayOptions());
  gateway.start();
  const connect = () => openClient(gateway, clock, { ip: 'a', userId: null });
  return { clock, broker, gateway, connect };
}

describe('a feed that lost events (broker outage longer than retention)', () => {
  it('does not answer a replay across the lost range from the ring: it asks the broker, and says when it cannot', () => {
    const { clock, broker, connect } = setup();
    const c = connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    broker.emit('ch', 1, 0);
    broker.emit('ch', 2, 1);
    // Offsets 3..9 expired while the gateway was cut off; the feed resumes at 10, whose prev is 7.
    broker.emit('ch', 10, 7);
    clock.settle();
    const last = c.conn.ofType('event').at(-1)!;
    expect(last).toMatchObject({ offset: 10, prev: 7 });
    // The client sees prev 7 beyond its last offset 2 and asks for (2, 7].
    c.send({ type: 'replay', id: 2, channel: 'ch', from: 2, to: 7 });
    expect(broker.requests.map((r) => [r.subject, r.afterOffset])).toEqual([['ch', 2]]);
    expect(c.conn.ofType('error')).toMatchObject([{ id: 2, code: 'history_unavailable' }]);
  });

  it('does not resume a channel that had no event since the loss as if nothing happened', () => {
    const { clock, broker, connect } = setup();
    broker.emit('quiet', 1, 0);
    broker.emit('busy', 2, 0);
    broker.emit('busy', 9, 5); // 3..8 lost: 'quiet' may have had events there
    clock.settle();
    const c = connect();
    c.send({
      type: 'subscribe',
      id: 1,
      channels: ['quiet', 'never-seen'],
      since: { quiet: { epoch: 'E1', offset: 1 }, 'never-seen': { epoch: 'E1', offset: 2 } },
    });
    const states = c.conn.ofType('subscribed')[0]!.channels;
    expect(states.quiet).toMatchObject({ recovered: false, reason: 'history_expired' });
    expect(states['never-seen']).toMatchObject({ recovered: false, reason: 'history_expired' });
  });

  it('still resumes from the ring after the lost range', () => {
    const { clock, broker, connect } = setup();
    broker.emit('ch', 1, 0);
    broker.emit('ch', 9, 4);
    broker.emit('ch', 10, 9);
    clock.settle();
    const c = connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: 'E1', offset: 9 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: true, replayed: 1 });
    expect(broker.requests).toEqual([]);
  });
});

describe('a broker that came back with a new epoch', () => {
  it('closes every session 1012 with a jittered hint instead of mixing timelines, and resets history', () => {
    const { clock, broker, gateway, connect } = setup();
    const clients = [connect(), connect(), connect()];
    for (const c of clients) c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    broker.emit('ch', 1, 0);
    broker.emit('ch', 2, 1);
    clock.settle();
    broker.currentEpoch = 'E2';
    broker.sink!.onStatus('live');
    broker.emit('ch', 1, 0); // the new stream starts over
    clock.settle();
    for (const c of clients) {
      expect(c.conn.closed?.code).toBe(1012);
      expect(retryHintOf(c.conn.closed!.reason)).not.toBeNull();
      // Nothing from the new timeline reached a session of the old one.
      expect(c.conn.ofType('event').map((e) => e.offset)).toEqual([1, 2]);
    }
    for (const c of clients) gateway.onClosed(c.session, 1012);
    const again = connect();
    again.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: 'E1', offset: 2 } } });
    expect(again.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ epoch: 'E2', offset: 1, recovered: false, reason: 'epoch_changed' });
  });

  it('notices the new epoch even when the first new event arrives before the status', () => {
    const { clock, broker, connect } = setup();
    const c = connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    broker.emit('ch', 5, 0);
    broker.currentEpoch = 'E2';
    broker.emit('ch', 1, 0);
    clock.settle();
    expect(c.conn.closed?.code).toBe(1012);
    expect(c.conn.ofType('event').map((e) => e.offset)).toEqual([5]);
  });
});

describe('a gateway behind the stream (restarted, still catching up)', () => {
  it('resumes a client whose position it has not read yet from the broker, without duplicates when the feed catches up', () => {
    const { clock, broker, connect } = setup();
    broker.emit('ch', 1, 0);
    clock.settle();
    // The broker's stream is at 5; this gateway has read only offset 1.
    broker.history = (request) => ({ ok: true, events: [{ channel: 'ch', offset: 5, prev: 4, data: '5' }].filter((e) => e.offset > request.afterOffset) });
    const c = connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: 'E1', offset: 4 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: true, replayed: 1 });
    expect(broker.requests).toMatchObject([{ subject: 'ch', afterOffset: 4 }]);
    // The feed catches up: 2..5 arrive live; 5 was already replayed, 6 is new.
    for (const [offset, prev] of [
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
      [6, 5],
    ] as const)
      broker.emit('ch', offset, prev);
    clock.settle();
    expect(c.conn.ofType('event').map((e) => e.offset)).toEqual([5, 6]);
  });

  it('still says epoch_changed when the broker confirms the position is beyond its head', () => {
    const { clock, broker, connect } = setup();
    broker.emit('ch', 1, 0);
    clock.settle();
    broker.history = () => ({ ok: false, reason: 'beyond_head' });
    const c = connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: 'E1', offset: 40 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: false, reason: 'epoch_changed' });
  });
});
