// JetStream in the path, for real: events published through the gateway or straight into the stream by a
// plain NATS client reach WebSocket subscribers with the stream's sequence as offset and `prev` per channel.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import type { SubscribedMessage } from '../../src/core/protocol.js';
import { probe, is } from '../e2e/support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { eventually, getJson, httpPublish, namespace, plainClient, serveOnNats, type Gateway, type PlainClient } from './support.js';

let nats: NatsServer;
let backend: PlainClient;
let gateway: Gateway | undefined;
let client: OdinClient | undefined;

beforeAll(async () => {
  nats = await startNats();
  backend = await plainClient(nats);
});
afterAll(async () => {
  await backend?.close();
  await nats?.close();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await gateway?.close();
  gateway = undefined;
});

describe('JetStream as the broker of record', () => {
  it('delivers what a plain NATS client and POST /publish put into the stream, with stream offsets and prev', async () => {
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    const trade = `${ns.prefix}.token.ABC.trade`;
    const other = `${ns.prefix}.global.trending`;
    const received: Array<{ data: unknown; offset: number; prev: number | null }> = [];
    client = connect(gateway.wsUrl, { reconnect: { baseMs: 20, capMs: 100 } });
    client.subscribe(trade, { onEvent: (data, meta) => received.push({ data, offset: meta.offset, prev: meta.prev }) });
    await eventually(() => client!.position(trade) !== undefined, 'the subscribe reply');

    const a = await backend.js.publish(trade, JSON.stringify({ price: 1 }));
    const b = await backend.js.publish(other, JSON.stringify({ rank: 1 }));
    const c = await httpPublish(gateway, trade, { price: 2 });
    const d = await backend.js.publish(trade, JSON.stringify({ price: 3 }));
    expect(c.status).toBe(200);
    expect(c.body.epoch).toMatch(new RegExp(`^${ns.stream}@\\d{4}-`));
    expect([a.seq, b.seq, c.body.offset, d.seq]).toEqual([1, 2, 3, 4]);

    await eventually(() => received.length === 3, 'three trade events');
    expect(received).toEqual([
      { data: { price: 1 }, offset: 1, prev: 0 },
      { data: { price: 2 }, offset: 3, prev: 1 },
      { data: { price: 3 }, offset: 4, prev: 3 },
    ]);
    expect(client.position(trade)).toEqual({ epoch: c.body.epoch, offset: 4 });
  });

  it('sends every subscriber the same bytes, and turns a payload that is not JSON into a JSON string', async () => {
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    const channel = `${ns.prefix}.token.XYZ.trade`;
    const first = await probe(gateway);
    const second = await probe(gateway);
    for (const p of [first, second]) p.send({ type: 'subscribe', id: 1, channels: [channel] });
    await Promise.all([first, second].map((p) => p.waitFor(is('subscribed'))));
    await backend.js.publish(channel, 'not json at all');
    await backend.js.publish(channel, JSON.stringify([1, 2]));
    for (const p of [first, second]) await p.waitFor(is('event', (e) => e.offset === 2));
    const frames = (p: typeof first): string[] => p.raw.map(String).filter((f) => f.includes('"type":"event"'));
    expect(frames(first)).toEqual(frames(second));
    expect(frames(first)).toEqual([
      `{"type":"event","ch":"${channel}","offset":1,"prev":0,"data":"not json at all"}`,
      `{"type":"event","ch":"${channel}","offset":2,"prev":1,"data":[1,2]}`,
    ]);
    await first.close();
    await second.close();
  });

  it("resumes a pattern from the stream even when it straddles the stream's subjects (read as one filter per subject)", async () => {
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    const p = ns.prefix;
    for (const channel of [`${p}.token.ABC.trade`, `${p}.token.XYZ.trade`, `${p}.global.ABC.news`, `${p}.token.ABC.trade`])
      await backend.js.publish(channel, '{}');
    const epoch = gateway.gateway.stats().broker.epoch;
    await eventually(() => gateway!.gateway.stats().broker.streamOffset === 4, 'the gateway to read all four');
    const raw = await probe(gateway);
    const straddling = `${p}.*.ABC.>`; // NATS 2.9 refuses it as one consumer filter over ${p}.token.> and ${p}.global.>
    const nowhere = `${p}.*`; // matches nothing the stream can hold
    raw.send({ type: 'subscribe', id: 1, channels: [straddling, nowhere], since: { [straddling]: { epoch, offset: 0 }, [nowhere]: { epoch, offset: 0 } } });
    const reply = (await raw.waitFor(is('subscribed'))) as SubscribedMessage;
    expect(reply.channels[straddling]).toMatchObject({ recovered: true, replayed: 3 });
    expect(reply.channels[nowhere]).toMatchObject({ recovered: true, replayed: 0 });
    await raw.waitFor(is('event', (e) => e.offset === 4));
    expect(raw.ofType('event').map((e) => [e.ch, e.offset, e.prev])).toEqual([
      [`${p}.token.ABC.trade`, 1, null],
      [`${p}.global.ABC.news`, 3, null],
      [`${p}.token.ABC.trade`, 4, 1],
    ]);
    await raw.close();
  });

  it('refuses a channel outside the stream with a 400 that names the stream and its subjects', async () => {
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    const started = Date.now();
    const answer = await httpPublish(gateway, 'elsewhere.channel', { x: 1 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('channel_outside_stream');
    expect(answer.body.message).toBe(`channel "elsewhere.channel" is outside stream ${ns.stream}, which stores ${ns.prefix}.token.>, ${ns.prefix}.global.>`);
  });

  it('is ready once caught up, and /health, /ready and /stats name the broker and its status', async () => {
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    await eventually(async () => (await getJson(`${gateway!.url}/ready`)).status === 200, '/ready 200');
    const ready = await getJson(`${gateway.url}/ready`);
    expect(ready.body).toMatchObject({ ready: true, broker: { kind: 'nats', status: 'live', detail: null, stream: ns.stream } });
    const health = await getJson(`${gateway.url}/health`);
    expect(health.body).toMatchObject({ status: 'ok', broker: { kind: 'nats', status: 'live', servers: nats.url.replace(/\/\/[^@/]*@/, '//') } });
    const stats = await getJson(`${gateway.url}/stats`);
    expect(stats.body.broker).toMatchObject({ kind: 'nats', status: 'live', epoch: expect.stringMatching(new RegExp(`^${ns.stream}@`)) });
  });
});
