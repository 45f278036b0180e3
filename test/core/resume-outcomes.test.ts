// What resumes and replays report (src/core/resume.ts; docs/operations.md, "Metrics"): each resume and
// replay is counted by outcome and source — the numbers an operator reads to see whether the rings are
// big enough — and refusals say exactly what was asked for.
import { describe, expect, it } from 'vitest';
import { M } from '../../src/core/metrics.js';
import { harness, type Harness } from '../support/core-harness.js';

/** The history reads the gateway asks of the broker from now on (each still answered). */
function brokerReads(h: Harness): unknown[] {
  const reads: unknown[] = [];
  const readHistory = h.broker.readHistory.bind(h.broker);
  h.broker.readHistory = (request, done) => {
    reads.push(request);
    readHistory(request, done);
  };
  return reads;
}

const counted = (h: ReturnType<typeof harness>, name: string) =>
  Object.fromEntries([...h.telemetry.counts].filter(([key]) => key.startsWith(`${name}{`)).map(([key, n]) => [key.slice(name.length), n]));

describe('resumes', () => {
  it('counts a resume by outcome and source, and a plain subscribe not at all', () => {
    const h = harness({ replayEventsMax: 2 });
    for (let i = 0; i < 3; i++) h.publish('ch', i);
    const epoch = h.broker.epoch();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['plain'] });
    expect(counted(h, M.resumes)).toEqual({});
    c.send({ type: 'subscribe', id: 2, channels: ['ch'], since: { ch: { epoch, offset: 1 } } });
    c.send({ type: 'subscribe', id: 3, channels: ['a'], since: { a: { epoch: 'another', offset: 1 } } });
    c.send({ type: 'subscribe', id: 4, channels: ['b'], since: { b: { epoch, offset: 0 } } });
    h.publish('b', 1);
    h.publish('b', 2);
    h.publish('b', 3);
    const late = h.connect();
    late.send({ type: 'subscribe', id: 5, channels: ['b'], since: { b: { epoch, offset: 0 } } });
    expect(counted(h, M.resumes)).toEqual({
      '{"outcome":"recovered","source":"ring"}': 2,
      '{"outcome":"epoch_changed","source":"check"}': 1,
      '{"outcome":"too_many","source":"ring"}': 1,
    });
  });

  it('resumes a client at the head from the ring, without asking the broker', () => {
    const h = harness();
    h.publish('ch', 1);
    const reads = brokerReads(h);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'], since: { ch: { epoch: h.broker.epoch(), offset: 1 } } });
    expect(c.conn.ofType('subscribed')[0]!.channels.ch).toMatchObject({ recovered: true, replayed: 0 });
    expect(reads).toEqual([]);
  });

  it('names the count a refused subscribe would have reached', () => {
    const h = harness({ subscriptionsMax: 3 });
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['a', 'b'] });
    c.send({ type: 'subscribe', id: 2, channels: ['b', 'c', 'd'] });
    expect(c.conn.ofType('error')).toEqual([
      { type: 'error', id: 2, code: 'subscription_limit', message: 'this request would hold 4 subscriptions; at most 3 are allowed' },
    ]);
  });
});

describe('replays', () => {
  it('counts each replay by where it was answered from, or why not', () => {
    const h = harness({ replayEventsMax: 2, history: { eventsMax: 2 } });
    for (let i = 1; i <= 5; i++) h.publish('ch', i);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    c.send({ type: 'replay', id: 2, channel: 'ch', from: 5, to: 9 }); // at the head: nothing to send
    c.send({ type: 'replay', id: 3, channel: 'ch', from: 3, to: 5 });
    c.send({ type: 'replay', id: 4, channel: 'ch', from: 1, to: 3 });
    c.send({ type: 'replay', id: 5, channel: 'ch', from: 0, to: 5 });
    expect(c.conn.ofType('replayed').map((r) => [r.id, r.count])).toEqual([
      [2, 0],
      [3, 2],
      [4, 2],
    ]);
    expect(counted(h, M.replays)).toEqual({
      '{"outcome":"empty"}': 1,
      '{"outcome":"ring"}': 1,
      '{"outcome":"broker"}': 1,
      '{"outcome":"too_large"}': 1,
    });
    expect(c.conn.ofType('error')).toEqual([
      { type: 'error', id: 5, code: 'replay_too_large', message: 'more than 2 events or 1048576 bytes in (0, 5]; ask for a smaller range' },
    ]);
  });

  it('refuses from the ring alone a range the ring holds but that is longer than the bound', () => {
    const h = harness({ replayEventsMax: 2 });
    for (let i = 1; i <= 4; i++) h.publish('ch', i);
    const reads = brokerReads(h);
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    c.send({ type: 'replay', id: 2, channel: 'ch', from: 0, to: 4 });
    expect(c.conn.ofType('error').map((e) => e.code)).toEqual(['replay_too_large']);
    expect(reads).toEqual([]);
  });

  it('counts nothing for a broker answer that arrives after the client left', () => {
    const h = harness({ history: { eventsMax: 1 } });
    for (let i = 1; i <= 3; i++) h.publish('ch', i);
    let answer: (() => void) | null = null;
    const readHistory = h.broker.readHistory.bind(h.broker);
    h.broker.readHistory = (request, done) => (answer = () => readHistory(request, done));
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['ch'] });
    c.send({ type: 'replay', id: 2, channel: 'ch', from: 0, to: 3 });
    c.close();
    answer!();
    h.clock.settle();
    expect(counted(h, M.replays)).toEqual({});
  });
});
