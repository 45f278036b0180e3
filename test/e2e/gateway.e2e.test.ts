// The gateway end to end: real server on loopback, real `ws` clients, publishing over HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../src/core/protocol.js';
import type { RunningServer } from '../../src/server/server.js';
import { is, probe, publish, serve, type Probe } from './support.js';

let server: RunningServer | undefined;
const probes: Probe[] = [];
async function client(query = ''): Promise<Probe> {
  const p = await probe(server!, query);
  probes.push(p);
  return p;
}
afterEach(async () => {
  for (const p of probes.splice(0)) p.ws.terminate();
  await server?.close();
  server = undefined;
});

describe('end to end: subscribe, publish, resume', () => {
  it('delivers an HTTP publish to a subscriber with offset and prev', async () => {
    server = await serve();
    const c = await client();
    c.send({ type: 'subscribe', id: 1, channels: ['odin.token.ABC.trade'] });
    const reply = await c.waitFor(is('subscribed'));
    expect(reply.channels['odin.token.ABC.trade']).toMatchObject({ offset: 0 });
    const first = await publish(server, 'odin.token.ABC.trade', { price: 42 });
    const second = await publish(server, 'odin.token.ABC.trade', { price: 43 });
    expect(first).toMatchObject({ status: 200, body: { offset: 1, epoch: reply.channels['odin.token.ABC.trade']!.epoch } });
    const e2 = await c.waitFor(is('event', (e) => e.offset === second.body.offset));
    expect(c.ofType('event')).toEqual([
      { type: 'event', ch: 'odin.token.ABC.trade', offset: 1, prev: 0, data: { price: 42 } },
      { type: 'event', ch: 'odin.token.ABC.trade', offset: 2, prev: 1, data: { price: 43 } },
    ]);
    expect(e2.prev).toBe(first.body.offset);
  });

  it('after a disconnect, resumes with exactly the 3 missed events, then live ones, with no duplicate at the seam', async () => {
    server = await serve();
    const a = await client();
    a.send({ type: 'subscribe', id: 1, channels: ['room.1'] });
    await a.waitFor(is('subscribed'));
    await publish(server, 'room.1', 'before');
    const seen = await a.waitFor(is('event'));
    await a.close();
    for (const n of [1, 2, 3]) await publish(server, 'room.1', `missed-${n}`);
    const epoch = a.ofType('subscribed')[0]!.channels['room.1']!.epoch;
    const b = await client();
    b.send({ type: 'subscribe', id: 1, channels: ['room.1'], since: { 'room.1': { epoch, offset: seen.offset } } });
    const reply = await b.waitFor(is('subscribed'));
    expect(reply.channels['room.1']).toMatchObject({ recovered: true, replayed: 3 });
    // Publish concurrently with the replay being read, then once more after it.
    const live = await publish(server, 'room.1', 'live-1');
    await b.waitFor(is('event', (e) => e.offset === live.body.offset));
    const data = b.ofType('event').map((e) => e.data);
    expect(data).toEqual(['missed-1', 'missed-2', 'missed-3', 'live-1']);
    const events: EventMessage[] = b.ofType('event');
    expect(events[0]!.prev).toBe(seen.offset);
    for (let i = 1; i < events.length; i++) expect(events[i]!.prev).toBe(events[i - 1]!.offset);
  });

  it('loses nothing for a client that subscribed, saw no event yet, and reconnected', async () => {
    server = await serve();
    await publish(server, 'other', 'noise');
    const a = await client();
    a.send({ type: 'subscribe', id: 1, channels: ['quiet.channel'] });
    const position = (await a.waitFor(is('subscribed'))).channels['quiet.channel']!;
    await a.close();
    await publish(server, 'quiet.channel', 'the first event');
    const b = await client();
    b.send({ type: 'subscribe', id: 1, channels: ['quiet.channel'], since: { 'quiet.channel': { epoch: position.epoch, offset: position.offset } } });
    const event = await b.waitFor(is('event'));
    expect(event.data).toBe('the first event');
  });

  it('answers recovered:false with a reason when history is gone, and goes on live', async () => {
    server = await serve({ 'history.eventsMax': 2, 'broker.eventsMax': 3 });
    const a = await client();
    a.send({ type: 'subscribe', id: 1, channels: ['c'] });
    await a.waitFor(is('subscribed'));
    await publish(server, 'c', 0);
    const seen = await a.waitFor(is('event'));
    const epoch = a.ofType('subscribed')[0]!.channels.c!.epoch;
    await a.close();
    for (let i = 1; i <= 6; i++) await publish(server, 'c', i);
    const b = await client();
    b.send({ type: 'subscribe', id: 1, channels: ['c'], since: { c: { epoch, offset: seen.offset } } });
    const reply = await b.waitFor(is('subscribed'));
    expect(reply.channels.c).toMatchObject({ recovered: false, reason: 'history_expired', offset: 7 });
    await publish(server, 'c', 'after');
    expect((await b.waitFor(is('event'))).data).toBe('after');
    expect(b.ofType('event')).toHaveLength(1);
  });

  it('sends every subscriber byte-identical frames for one publish (I5)', async () => {
    server = await serve();
    const clients = await Promise.all([client(), client(), client(), client()]);
    const patterns = ['t.a.b', 't.>', 't.*.b', 't.a.b'];
    clients.forEach((c, i) => c.send({ type: 'subscribe', id: 1, channels: [patterns[i]] }));
    await Promise.all(clients.map((c) => c.waitFor(is('subscribed'))));
    const { body } = await publish(server, 't.a.b', { emoji: '🚀', n: [1, 2, 3] });
    await Promise.all(clients.map((c) => c.waitFor(is('event', (e) => e.offset === body.offset))));
    const frames = clients.map((c) => c.raw.at(-1)!);
    for (const frame of frames) expect(frame.equals(frames[0]!)).toBe(true);
  });
});

describe('end to end: bad input gets its code, and the server keeps serving', () => {
  it('answers each malformed request with its error code on a live connection', async () => {
    server = await serve({ 'gateway.channelsPerRequestMax': 3 });
    const c = await client();
    const cases: [string, string][] = [
      ['{"type":"subscribe",', 'invalid_json'],
      ['{"type":"teleport","id":1}', 'unknown_type'],
      ['{"type":"subscribe","id":2}', 'missing_field'],
      ['{"type":"subscribe","id":3,"channels":["bad channel"]}', 'invalid_channel'],
      ['{"type":"subscribe","id":4,"channels":["a","b","c","d"]}', 'too_many_channels'],
    ];
    for (const [i, [text, code]] of cases.entries()) {
      c.ws.send(text);
      const error = await c.waitFor(is('error'), 1 + i);
      expect(error.code).toBe(code);
    }
    c.send({ type: 'ping', id: 77 });
    await c.waitFor(is('pong', (p) => p.id === 77));
    expect(c.closed).toBeNull();
  });

  it('closes a frame over maxPayload with 1009 and keeps serving other clients', async () => {
    server = await serve({ 'gateway.messageBytesMax': 1024 });
    const big = await client();
    const other = await client();
    other.send({ type: 'subscribe', id: 1, channels: ['x'] });
    await other.waitFor(is('subscribed'));
    big.ws.send(JSON.stringify({ type: 'ping', id: 1, pad: 'y'.repeat(4096) }));
    expect((await big.waitForClose()).code).toBe(1009);
    await publish(server, 'x', 'still here');
    expect((await other.waitFor(is('event'))).data).toBe('still here');
  });

  it('rejects an invalid publish with 400 and a precise code', async () => {
    server = await serve();
    const bad = await publish(server, 'not valid', 1);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_channel');
  });
});
