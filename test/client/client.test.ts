import { describe, expect, it } from 'vitest';
import { RESUMES_PER_REQUEST } from '../../src/client/client.js';
import { BATCH_SUBPROTOCOL, SUBPROTOCOL } from '../../src/core/protocol.js';
import { answerSubscribe, connected, event, harness, nextSocket, recorder } from './helpers.js';

const A = 'odin.token.ABC.trade';
const B = 'odin.token.XYZ.trade';

describe('subscribe and deliver', () => {
  it('subscribes after welcome, in one request per turn, and delivers events with their position', () => {
    const h = harness();
    const a = recorder();
    const b = recorder();
    h.client.subscribe(A, a.handlers);
    h.client.subscribe(B, b.handlers);
    h.client.connect();
    const socket = h.net.last;
    expect(socket.protocols).toEqual([BATCH_SUBPROTOCOL, SUBPROTOCOL]);
    h.clock.settle();
    expect(socket.sent).toEqual([]); // nothing before welcome
    socket.accept();
    expect(socket.ofType('subscribe')).toEqual([{ type: 'subscribe', id: expect.any(Number), channels: [A, B] }]);
    answerSubscribe(socket, 'E1', 40);
    socket.receive(event(A, 41, 0, { price: 1 }));
    socket.receive(event(B, 42, 0));
    socket.receive(event(A, 43, 41, { price: 2 }));
    expect(a.events).toEqual([
      { channel: A, offset: 41, data: { price: 1 } },
      { channel: A, offset: 43, data: { price: 2 } },
    ]);
    expect(b.offsets()).toEqual([42]);
    expect(h.client.position(A)).toEqual({ epoch: 'E1', offset: 43 });
    expect(h.states).toEqual(['connecting', 'open']);
    expect(h.client.counters.eventsDelivered).toBe(3);
  });

  it('reads a batched frame as its messages, in order, and skips only a bad line of it', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 40);
    const lines = [event(A, 41, 0), event(A, 42, 41), { type: 'event', ch: A }, event(A, 43, 42)].map((m) => JSON.stringify(m));
    socket.receiveText(lines.join('\n'));
    expect(a.offsets()).toEqual([41, 42, 43]);
    expect(h.client.position(A)).toEqual({ epoch: 'E1', offset: 43 });
    expect(h.client.counters.eventsDelivered).toBe(3);
  });

  it('keeps channel names that are JavaScript prototype keys as plain names, in replies and in resumes', () => {
    const h = harness();
    const names = ['__proto__', 'constructor'];
    const got = names.map(() => recorder());
    names.forEach((name, i) => h.client.subscribe(name, got[i]!.handlers));
    h.client.connect();
    const socket = h.net.last;
    socket.accept();
    answerSubscribe(socket, 'E1', 7);
    socket.receive(event('__proto__', 8, 0));
    socket.receive(event('constructor', 9, 0));
    expect(got.map((g) => g.offsets())).toEqual([[8], [9]]);
    expect(h.client.position('constructor')).toEqual({ epoch: 'E1', offset: 9 });
    socket.end({ code: 1006, reason: '' });
    const again = nextSocket(h);
    again.accept();
    const resume = again.lastOfType('subscribe') as { since: Record<string, unknown> };
    expect(Object.keys(resume.since).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(resume.since, '__proto__')?.value).toEqual({ epoch: 'E1', offset: 8 });
  });

  it('batches subscribe() calls of one turn once open, and splits by channelsPerRequestMax', () => {
    const h = harness();
    h.client.connect();
    const socket = h.net.last;
    socket.accept(25_000, 2);
    const names = ['a.1', 'a.2', 'a.3'];
    for (const name of names) h.client.subscribe(name, recorder().handlers);
    expect(socket.ofType('subscribe')).toHaveLength(0);
    h.clock.settle();
    expect(socket.ofType('subscribe').map((m) => m.channels)).toEqual([['a.1', 'a.2'], ['a.3']]);
  });

  it('resumes in requests of at most RESUMES_PER_REQUEST channels (one replay budget each), subscribes fresh ones together', () => {
    const h = harness();
    const names = Array.from({ length: 25 }, (_, i) => `r.${i}`);
    for (const name of names) h.client.subscribe(name, recorder().handlers);
    const socket = connected(h, 'E1', 3);
    h.client.subscribe('fresh.a', recorder().handlers);
    h.client.subscribe('fresh.b', recorder().handlers);
    socket.end({ code: 1006, reason: '' });
    const again = nextSocket(h);
    again.accept();
    const requests = again.ofType('subscribe') as { channels: string[]; since?: Record<string, unknown> }[];
    const resumes = requests.filter((r) => r.since !== undefined);
    expect(resumes.map((r) => r.channels.length)).toEqual([RESUMES_PER_REQUEST, RESUMES_PER_REQUEST, 25 - 2 * RESUMES_PER_REQUEST]);
    expect(resumes.flatMap((r) => r.channels).sort()).toEqual([...names].sort());
    // Never answered: nothing to resume from, so they go in one plain request.
    expect(requests.filter((r) => r.since === undefined).map((r) => r.channels)).toEqual([['fresh.a', 'fresh.b']]);
  });

  it('drops duplicates silently and counts them', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 10);
    socket.receive(event(A, 11, 10));
    socket.receive(event(A, 11, 10));
    socket.receive(event(A, 9, null));
    socket.receive(event(A, 12, 11));
    expect(a.offsets()).toEqual([11, 12]);
    expect(h.client.counters.duplicatesDropped).toBe(2);
  });

  it('ignores events of channels it is not subscribed to', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h);
    socket.receive(event(B, 5, 0));
    expect(a.events).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it('unsubscribe tells the server once the last subscription of a name goes, and stops delivery', () => {
    const h = harness();
    const first = recorder();
    const second = recorder();
    const s1 = h.client.subscribe(A, first.handlers);
    const s2 = h.client.subscribe(A, second.handlers);
    const socket = connected(h);
    expect(socket.ofType('subscribe')).toHaveLength(1); // one name, one request
    socket.receive(event(A, 1, 0));
    s1.unsubscribe();
    expect(socket.ofType('unsubscribe')).toHaveLength(0);
    socket.receive(event(A, 2, 1));
    s2.unsubscribe();
    expect(socket.lastOfType('unsubscribe')).toMatchObject({ channels: [A] });
    socket.receive(event(A, 3, 2));
    expect(first.offsets()).toEqual([1]);
    expect(second.offsets()).toEqual([1, 2]);
    expect(s1.active).toBe(false);
    expect(h.client.position(A)).toBeUndefined();
  });

  it('an unsubscribe before the subscribe left sends nothing', () => {
    const h = harness();
    h.client.connect();
    const socket = h.net.last;
    socket.accept();
    h.client.subscribe(A, recorder().handlers).unsubscribe();
    h.clock.settle();
    expect(socket.sent.filter((m) => m.type !== 'ping')).toEqual([]);
  });
});

describe('gap repair over the wire', () => {
  it('prev beyond the last offset → replay request; replayed and held events arrive in order', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 41);
    socket.receive(event(A, 58, 57));
    const replay = socket.lastOfType('replay');
    expect(replay).toMatchObject({ channel: A, from: 41, to: 57 });
    socket.receive(event(A, 60, 58)); // live, held
    socket.receive(event(A, 45, 41)); // replayed
    socket.receive(event(A, 57, 45));
    expect(a.offsets()).toEqual([]);
    socket.receive({ type: 'replayed', id: replay.id, channel: A, from: 41, to: 57, count: 2 });
    expect(a.offsets()).toEqual([45, 57, 58, 60]);
    expect(h.client.counters).toMatchObject({ gapsDetected: 1, replaysRequested: 1, replaysFailed: 0 });
  });

  it('a shed gap notice → replay of (last, to]', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 50);
    socket.receive({ type: 'gap', ch: A, from: 52, to: 55, reason: 'shed' });
    const replay = socket.lastOfType('replay');
    expect(replay).toMatchObject({ channel: A, from: 50, to: 55 });
    socket.receive(event(A, 53, 50));
    socket.receive(event(A, 56, 53));
    socket.receive({ type: 'replayed', id: replay.id, channel: A, from: 50, to: 55, count: 1 });
    expect(a.offsets()).toEqual([53, 56]);
    expect(a.gaps).toEqual([]);
  });

  it('a conflated gap notice is reported, not replayed', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 40);
    socket.receive({ type: 'gap', ch: A, from: 41, to: 57, reason: 'conflated' });
    socket.receive(event(A, 58, 57));
    expect(socket.ofType('replay')).toEqual([]);
    expect(a.gaps).toEqual([{ channel: A, from: 41, to: 57, reason: 'conflated' }]);
    expect(a.offsets()).toEqual([58]);
  });

  it('a failed replay → onGap with the range, then the held events', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 41);
    socket.receive(event(A, 58, 57));
    socket.receive(event(A, 59, 58));
    const replay = socket.lastOfType('replay');
    socket.receive({ type: 'error', id: replay.id, code: 'history_unavailable', message: 'expired' });
    expect(a.gaps).toEqual([{ channel: A, from: 42, to: 57, reason: 'history_unavailable' }]);
    expect(a.offsets()).toEqual([58, 59]);
    expect(h.errors).toEqual([]); // the loss goes to onGap, not onError
    expect(h.client.counters).toMatchObject({ replaysFailed: 1, gapsReported: 1 });
  });

  it('an unanswered replay times out into onGap, and a late answer changes nothing', () => {
    const h = harness({ replayTimeoutMs: 1_000 });
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 10);
    socket.receive(event(A, 20, 15));
    const replay = socket.lastOfType('replay');
    h.clock.advance(999);
    expect(a.gaps).toEqual([]);
    h.clock.advance(1);
    expect(a.gaps).toEqual([{ channel: A, from: 11, to: 15, reason: 'replay_timeout' }]);
    expect(a.offsets()).toEqual([20]);
    socket.receive(event(A, 15, 10));
    socket.receive({ type: 'replayed', id: replay.id, channel: A, from: 10, to: 15, count: 1 });
    expect(a.offsets()).toEqual([20]);
  });

  it('a pattern subscription gives unseen channels the reply position as baseline', () => {
    const h = harness();
    const all = recorder();
    h.client.subscribe('odin.global.>', all.handlers);
    const socket = connected(h, 'E1', 1_000);
    socket.receive(event('odin.global.trending', 1_005, 990)); // its previous event predates the subscription
    socket.receive(event('odin.global.news', 1_010, 1_003)); // 1003 came after: it was lost
    expect(all.offsets()).toEqual([1_005]);
    expect(socket.lastOfType('replay')).toMatchObject({ channel: 'odin.global.news', from: 1_000, to: 1_003 });
    expect(h.client.position('odin.global.>')).toEqual({ epoch: 'E1', offset: 1_010 });
  });
});

describe('resume', () => {
  it('resubscribes with since per channel, including one that saw no event (since = reply baseline)', () => {
    const h = harness();
    const a = recorder();
    const b = recorder();
    h.client.subscribe(A, a.handlers);
    h.client.subscribe(B, b.handlers);
    const first = connected(h, 'E1', 40);
    first.receive(event(A, 41, 0));
    first.receive(event(A, 45, 41));
    first.end({ code: 1006, reason: '' });
    expect(h.client.state).toBe('reconnecting');
    const second = nextSocket(h);
    second.accept();
    expect(second.lastOfType('subscribe')).toMatchObject({
      channels: [A, B],
      since: { [A]: { epoch: 'E1', offset: 45 }, [B]: { epoch: 'E1', offset: 40 } },
    });
    answerSubscribe(second, 'E1', 60);
    second.receive(event(A, 45, 41)); // the server's replay overlaps what we have
    second.receive(event(A, 50, 45));
    second.receive(event(B, 55, 0));
    expect(a.offsets()).toEqual([41, 45, 50]);
    expect(b.offsets()).toEqual([55]);
    expect(h.client.counters.reconnects).toBe(1);
  });

  it('a shed gap whose repair a drop cut short is resumed from the last delivered offset, and its offsets come in order', () => {
    // The gap named 52..55 (never delivered): the resume asks from 51, the server replays the gap's offsets
    // again (they are owed, not duplicates), and nothing is reported lost.
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const first = connected(h, 'E1', 50);
    first.receive(event(A, 51, 50));
    first.receive({ type: 'gap', ch: A, from: 52, to: 55, reason: 'shed' });
    expect(first.lastOfType('replay')).toMatchObject({ channel: A, from: 51, to: 55 });
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    expect(second.lastOfType('subscribe')).toMatchObject({ since: { [A]: { epoch: 'E1', offset: 51 } } });
    answerSubscribe(second, 'E1', 56);
    second.receive(event(A, 53, 51));
    second.receive(event(A, 55, 53));
    second.receive(event(A, 56, 55));
    expect(a.offsets()).toEqual([51, 53, 55, 56]);
    expect(a.gaps).toEqual([]);
  });

  it('a pattern resumes from its high-water, lowered to a channel whose repair was cut short', () => {
    const h = harness();
    h.client.subscribe('odin.global.>', recorder().handlers);
    const first = connected(h, 'E1', 100);
    first.receive(event('odin.global.a', 110, 90));
    first.receive(event('odin.global.b', 120, 105)); // gap: replay (100, 105] in flight
    first.receive(event('odin.global.a', 130, 110));
    first.end({ code: 1001, reason: 'going away' });
    const second = nextSocket(h);
    second.accept();
    expect(second.lastOfType('subscribe')).toMatchObject({ since: { 'odin.global.>': { epoch: 'E1', offset: 100 } } });
  });

  it('a channel first seen after a pattern resume still reveals, by prev, an event lost before the drop', () => {
    const h = harness();
    const all = recorder();
    h.client.subscribe('p.>', all.handlers);
    const first = connected(h, 'E1', 0);
    first.receive(event('p.a', 1, 0));
    // p.b@2 never arrives
    first.receive(event('p.a', 3, 1));
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    expect(second.lastOfType('subscribe')).toMatchObject({ since: { 'p.>': { epoch: 'E1', offset: 3 } } });
    answerSubscribe(second, 'E1', 3);
    second.receive(event('p.b', 4, 2));
    expect(second.lastOfType('replay')).toMatchObject({ channel: 'p.b', from: 0, to: 2 });
  });

  it('recovered:false → onReset with the reason, and delivery continues from the new baseline', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const first = connected(h, 'E1', 10);
    first.receive(event(A, 11, 10));
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    answerSubscribe(second, 'E2', 500, { [A]: { epoch: 'E2', offset: 500, recovered: false, reason: 'epoch_changed' } });
    expect(a.resets).toEqual([{ channel: A, reason: 'epoch_changed' }]);
    expect(h.client.position(A)).toEqual({ epoch: 'E2', offset: 500 });
    second.receive(event(A, 501, 480)); // prev below the new baseline: no gap
    expect(a.offsets()).toEqual([11, 501]);
    expect(second.ofType('replay')).toEqual([]);
    expect(h.client.counters.resets).toBe(1);
  });

  it('recovered:true in another epoch is treated as a reset, never spliced', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const first = connected(h, 'E1', 10);
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    answerSubscribe(second, 'E2', 7, { [A]: { epoch: 'E2', offset: 7, recovered: true } });
    expect(a.resets).toEqual([{ channel: A, reason: 'epoch_changed' }]);
  });

  it('a failed pattern resume resets the channels only it covers', () => {
    const h = harness();
    const all = recorder();
    h.client.subscribe('odin.global.>', all.handlers);
    const first = connected(h, 'E1', 100);
    first.receive(event('odin.global.a', 110, 90));
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    answerSubscribe(second, 'E1', 5_000, { 'odin.global.>': { epoch: 'E1', offset: 5_000, recovered: false, reason: 'too_many' } });
    expect(all.resets).toEqual([{ channel: 'odin.global.>', reason: 'too_many' }]);
    second.receive(event('odin.global.a', 5_010, 4_000)); // 4000 predates the new baseline: no replay
    expect(second.ofType('replay')).toEqual([]);
    expect(all.offsets()).toEqual([110, 5_010]);
  });
});
