// Fan-out (src/core/fan-out.ts) as operators and clients see it: what the broker's status changes log and
// report, what is counted per event, and what a subscription does with live events that arrive while its
// replay is still being read (held, then sent after it — or, past replayEventsMax, named by a gap).
import { describe, expect, it } from 'vitest';
import { Gateway } from '../../src/core/gateway.js';
import { M } from '../../src/core/metrics.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import type { HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { openClient } from '../support/core-harness.js';
import { RecordingTelemetry } from '../support/fakes.js';
import { ScriptedBroker } from '../support/scripted-broker.js';
import { seededRandom } from '../support/seeded-random.js';

/** A broker whose history reads answer only when the test says so (a slow read, during which events arrive). */
class SlowHistoryBroker extends ScriptedBroker {
  readonly pending: { request: HistoryRequest; done: (result: HistoryResult) => void }[] = [];

  override readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.requests.push(request);
    this.pending.push({ request, done });
  }
}

function setup(options: GatewayOptionsInput = {}) {
  const clock = new SimClock();
  const broker = new SlowHistoryBroker();
  const telemetry = new RecordingTelemetry();
  const gateway = new Gateway({ clock, random: seededRandom(5), broker, telemetry }, gatewayOptions(options));
  gateway.start();
  const connect = () => openClient(gateway, clock, { ip: 'a', userId: null });
  return { clock, broker, gateway, telemetry, connect };
}

describe('broker status', () => {
  it('logs each change once, a loss as a warning, and reports the feed as up only while live', () => {
    const { broker, telemetry } = setup();
    const sink = broker.sink!;
    expect(telemetry.gauges.get(M.brokerUp)).toBe(1);
    sink.onStatus('down', 'connection refused');
    sink.onStatus('down', 'connection refused');
    expect(telemetry.gauges.get(M.brokerUp)).toBe(0);
    sink.onStatus('connecting');
    expect(telemetry.gauges.get(M.brokerUp)).toBe(0);
    sink.onStatus('live');
    expect(telemetry.gauges.get(M.brokerUp)).toBe(1);
    expect(telemetry.logs.filter((l) => l.message.startsWith('broker '))).toEqual([
      { level: 'info', message: 'broker live' },
      { level: 'warn', message: 'broker down' },
      { level: 'info', message: 'broker connecting' },
      { level: 'info', message: 'broker live' },
    ]);
  });

  it('restarts the sessions when the feed comes back live on a new timeline, before any event of it', () => {
    const { broker, telemetry, connect } = setup();
    const c = connect();
    broker.currentEpoch = 'E2';
    broker.sink!.onStatus('down');
    expect(c.conn.closed).toBeNull();
    broker.sink!.onStatus('live');
    expect(c.conn.closed?.code).toBe(1012);
    expect(c.conn.closed?.reason).toMatch(/^event stream restarted \(new epoch\): resubscribe; retry-after-ms=\d+$/);
    expect(telemetry.logs.filter((l) => l.message.includes('timeline changed'))).toEqual([
      { level: 'warn', message: 'broker history timeline changed; dropping history and restarting sessions' },
    ]);
  });
});

describe('counting', () => {
  it('counts each event of the stream once, however many subscribers it reaches', () => {
    const { clock, broker, gateway, connect } = setup();
    const clients = [connect(), connect(), connect()];
    for (const c of clients) c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    broker.emit('a', 1, 0);
    broker.emit('b', 2, 0);
    clock.settle();
    expect(gateway.stats().events.published).toBe(2);
    expect(gateway.stats().events.delivered).toBe(3 * 2 + 3); // welcome and subscribed each, then one event each
  });
});

describe('events held while a replay is read', () => {
  it('sends the held events after the replay, each once, skipping what the replay covered', () => {
    const { clock, broker, connect } = setup();
    broker.emit('a', 1, 0);
    clock.settle();
    const c = connect();
    // Behind the gateway's head: only the broker can answer, and it takes its time.
    c.send({ type: 'subscribe', id: 1, channels: ['a'], since: { a: { epoch: 'E1', offset: 3 } } });
    broker.emit('a', 4, 1);
    broker.emit('a', 5, 4);
    clock.settle();
    expect(c.conn.ofType('event')).toEqual([]);
    broker.pending[0]!.done({ ok: true, events: [{ channel: 'a', offset: 4, prev: 3, data: '4' }] });
    clock.settle();
    expect(c.conn.ofType('event').map((e) => e.offset)).toEqual([4, 5]);
  });

  it('holds up to replayEventsMax events; one more is a too_many gap from the first held one', () => {
    for (const [arriving, overflowed] of [
      [3, false],
      [4, true],
    ] as const) {
      const { clock, broker, connect } = setup({ replayEventsMax: 3 });
      const c = connect();
      c.send({ type: 'subscribe', id: 1, channels: ['a.*'], since: { 'a.*': { epoch: 'E1', offset: 0 } } });
      for (let i = 1; i <= arriving; i++) broker.emit(i % 2 === 0 ? 'a.even' : 'a.odd', i, null);
      clock.settle();
      broker.pending[0]!.done({ ok: true, events: [] });
      clock.settle();
      if (overflowed) {
        expect(c.conn.ofType('event')).toEqual([]);
        expect(c.conn.ofType('gap')).toEqual([
          { type: 'gap', ch: 'a.odd', from: 1, to: 4, reason: 'too_many' },
          { type: 'gap', ch: 'a.even', from: 2, to: 4, reason: 'too_many' },
        ]);
      } else {
        expect(c.conn.ofType('event').map((e) => e.offset)).toEqual([1, 2, 3]);
        expect(c.conn.ofType('gap')).toEqual([]);
      }
    }
  });
});
