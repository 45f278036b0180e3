// Several gateway instances on one stream: the same events become the same frames on every instance
// (offset, prev, bytes), and a client that leaves one instance resumes on another with exactly what it
// missed — no sticky sessions needed behind a load balancer.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import { is, probe, type Probe } from '../e2e/support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually, httpPublish, namespace, plainClient, serveOnNats, type Gateway, type PlainClient } from './support.js';

let nats: NatsServer;
let backend: PlainClient;
const gateways: Gateway[] = [];
const probes: Probe[] = [];
let balancer: TcpProxy | undefined;
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
  await Promise.all(probes.splice(0).map((p) => p.close()));
  await balancer?.close();
  balancer = undefined;
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function gatewayOn(ns: ReturnType<typeof namespace>, settings: Record<string, string | number> = {}): Promise<Gateway> {
  const g = await serveOnNats(nats, ns, { 'gateway.drainRetryJitterMs': 50, ...settings });
  gateways.push(g);
  return g;
}

async function subscribed(g: Gateway, channels: string[]): Promise<Probe> {
  const p = await probe(g);
  probes.push(p);
  p.send({ type: 'subscribe', id: 1, channels });
  await p.waitFor(is('subscribed'));
  return p;
}

const eventFrames = (p: Probe): string[] => p.raw.map(String).filter((frame) => frame.startsWith('{"type":"event"'));

describe('two gateway instances on one stream', () => {
  it('send byte-identical event frames (offset, prev) for the same events, whoever published them', async () => {
    const ns = namespace();
    const trade = `${ns.prefix}.token.ABC.trade`;
    const price = `${ns.prefix}.token.ABC.price`;
    const first = await gatewayOn(ns);
    // Events before the second instance exists: it reads them from the stream and must agree on prev.
    await backend.js.publish(trade, '{"n":1}');
    await backend.js.publish(price, '{"n":2}');
    const second = await gatewayOn(ns);
    expect(second.gateway.stats().broker.epoch).toBe(first.gateway.stats().broker.epoch);
    await eventually(() => first.gateway.ready() && second.gateway.ready(), 'both instances live');
    const onFirst = await subscribed(first, [trade, `${ns.prefix}.token.*.price`]);
    const onSecond = await subscribed(second, [trade, `${ns.prefix}.token.*.price`]);

    await httpPublish(first, trade, { n: 3 });
    await httpPublish(second, price, { n: 4 });
    await backend.js.publish(trade, '{"n":5}');
    await httpPublish(second, trade, { n: 6 });
    for (const p of [onFirst, onSecond]) await p.waitFor(is('event', (e) => e.offset === 6));
    expect(eventFrames(onFirst)).toEqual(eventFrames(onSecond));
    expect(eventFrames(onFirst)).toEqual([
      `{"type":"event","ch":"${trade}","offset":3,"prev":1,"data":{"n":3}}`,
      `{"type":"event","ch":"${price}","offset":4,"prev":2,"data":{"n":4}}`,
      `{"type":"event","ch":"${trade}","offset":5,"prev":3,"data":{"n":5}}`,
      `{"type":"event","ch":"${trade}","offset":6,"prev":5,"data":{"n":6}}`,
    ]);
  });

  it('resume a client that leaves one instance on the other with exactly what it missed', async () => {
    const ns = namespace();
    const channel = `${ns.prefix}.token.ABC.trade`;
    const first = await gatewayOn(ns);
    const second = await gatewayOn(ns);
    balancer = await startTcpProxy(first.port);
    const received: number[] = [];
    const trouble: unknown[] = [];
    client = connect(`ws://127.0.0.1:${balancer.port}/ws`, { reconnect: { baseMs: 20, capMs: 100 } });
    client.subscribe(channel, { onEvent: (_d, meta) => received.push(meta.offset), onGap: (_c, g) => trouble.push(g), onReset: (_c, r) => trouble.push(r) });
    await eventually(() => client!.position(channel) !== undefined, 'the subscribe reply');
    for (let i = 1; i <= 5; i++) await backend.js.publish(channel, JSON.stringify(i));
    await eventually(() => received.length === 5, 'five events on the first instance');

    // The first instance is taken out of the pool and drained; the client comes back through the balancer.
    balancer.retarget(second.port);
    const drained = first.close();
    gateways.splice(gateways.indexOf(first), 1);
    for (let i = 6; i <= 8; i++) await backend.js.publish(channel, JSON.stringify(i));
    await drained;
    await eventually(() => received.length === 8, 'the missed events, from the second instance', 10_000);
    await backend.js.publish(channel, JSON.stringify(9));
    await eventually(() => received.length === 9, 'a live event on the second instance');

    expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trouble).toEqual([]);
    expect(client.counters.reconnects).toBe(1);
    expect(client.counters.duplicatesDropped).toBe(0);
    expect(second.gateway.sessionCount()).toBe(1);
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(/odin_resumes_total\{outcome="recovered",source="(ring|broker)"\} 1/);
  });
});
