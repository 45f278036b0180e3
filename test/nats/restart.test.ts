// A gateway restart on JetStream is not a new timeline: the epoch is the stream's, so clients resume with
// recovered:true and get exactly what they missed — from the warmed rings, or from the stream itself.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import type { SubscribedMessage } from '../../src/core/protocol.js';
import { is, probe } from '../e2e/support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { eventually, namespace, plainClient, serveOnNats, type Gateway, type PlainClient } from './support.js';

let nats: NatsServer;
let backend: PlainClient;
const gateways: Gateway[] = [];
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
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function gatewayOn(ns: ReturnType<typeof namespace>, settings: Record<string, string | number> = {}): Promise<Gateway> {
  const g = await serveOnNats(nats, ns, { 'gateway.drainRetryJitterMs': 50, ...settings });
  gateways.push(g);
  return g;
}

describe('a gateway restart on JetStream', () => {
  for (const [label, warmup, source] of [
    ['rings warmed from the stream', 100_000, 'ring'],
    ['only the newest event read: history from the stream', 1, 'broker'],
  ] as const) {
    it(`resumes the client with recovered:true, nothing lost or duplicated (${label})`, async () => {
      const ns = namespace();
      const channel = `${ns.prefix}.token.ABC.trade`;
      const first = await gatewayOn(ns, { 'nats.warmupEventsMax': warmup });
      const received: number[] = [];
      const trouble: unknown[] = [];
      client = connect(first.wsUrl, { reconnect: { baseMs: 20, capMs: 100 } });
      client.subscribe(channel, {
        onEvent: (_data, meta) => received.push(meta.offset),
        onGap: (_c, gap) => trouble.push(gap),
        onReset: (_c, reason) => trouble.push(reason),
      });
      await eventually(() => client!.position(channel) !== undefined, 'the subscribe reply');
      for (let i = 1; i <= 5; i++) await backend.js.publish(channel, JSON.stringify(i));
      await eventually(() => received.length === 5, 'five events');
      const epoch = first.gateway.stats().broker.epoch;
      const port = first.port;

      await first.close();
      gateways.splice(gateways.indexOf(first), 1);
      for (let i = 6; i <= 8; i++) await backend.js.publish(channel, JSON.stringify(i)); // while no gateway runs
      const second = await gatewayOn(ns, { 'server.port': port, 'nats.warmupEventsMax': warmup });
      expect(second.gateway.stats().broker.epoch).toBe(epoch);

      // What a resuming client is told, on the wire.
      await eventually(() => second.gateway.ready(), 'the second gateway to catch up');
      const raw = await probe(second);
      raw.send({ type: 'subscribe', id: 1, channels: [channel], since: { [channel]: { epoch, offset: 5 } } });
      const reply = await raw.waitFor(is('subscribed'));
      expect(reply.channels[channel]).toEqual({ epoch, offset: 8, recovered: true, replayed: 3 });
      await raw.waitFor(is('event', (e) => e.offset === 8));
      expect(raw.ofType('event').map((e) => e.offset)).toEqual([6, 7, 8]);
      await raw.close();
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`odin_resumes_total\\{outcome="recovered",source="${source}"\\} [1-9]`));

      await eventually(() => received.length === 8, 'the events missed during the restart', 10_000);
      await backend.js.publish(channel, JSON.stringify(9));
      await eventually(() => received.length === 9, 'a live event after the resume');
      expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(trouble).toEqual([]);
      expect(client.counters.reconnects).toBeGreaterThanOrEqual(1);
      expect(client.counters.duplicatesDropped).toBe(0);
      expect(client.position(channel)).toEqual({ epoch, offset: 9 });
    });
  }

  it('treats a stream deleted and created again as a new epoch: clients are told epoch_changed and start over', async () => {
    const ns = namespace();
    const channel = `${ns.prefix}.token.ABC.trade`;
    const gateway = await gatewayOn(ns);
    const received: Array<[string, number]> = [];
    const resets: string[] = [];
    client = connect(gateway.wsUrl, { reconnect: { baseMs: 20, capMs: 100 } });
    client.subscribe(channel, {
      onEvent: (_d, meta) => received.push([client!.position(channel)!.epoch, meta.offset]),
      onReset: (_c, reason) => resets.push(reason),
    });
    await eventually(() => client!.position(channel) !== undefined, 'the subscribe reply');
    const before = gateway.gateway.stats().broker.epoch;
    for (let i = 1; i <= 3; i++) await backend.js.publish(channel, JSON.stringify(i));
    await eventually(() => received.length === 3, 'three events');

    await backend.jsm.streams.delete(ns.stream);
    // The gateway notices its feed stopped, finds the stream gone and creates it again: a new timeline.
    await eventually(() => gateway.gateway.stats().broker.epoch !== before && gateway.gateway.ready(), 'the new epoch, live', 10_000);
    const after = gateway.gateway.stats().broker.epoch;
    expect(after).toMatch(new RegExp(`^${ns.stream}@`));
    await eventually(() => resets.length === 1 && client!.position(channel)?.epoch === after, 'the client to start over in the new epoch', 10_000);
    expect(resets).toEqual(['epoch_changed']);
    await backend.js.publish(channel, JSON.stringify(4));
    await eventually(() => received.length === 4, 'the first event of the new epoch');
    expect(received).toEqual([
      [before, 1],
      [before, 2],
      [before, 3],
      [after, 1],
    ]);
  });

  it('reads a long stream at start (flow control on the way) and is ready once caught up, its rings warm', async () => {
    const ns = namespace();
    const events = 10_000;
    const channels = 100;
    const pad = 'x'.repeat(4_000); // 40 MB in all: past the server's flow-control window
    const first = await gatewayOn(ns); // creates the stream; the second gateway reads what is published after
    gateways.splice(gateways.indexOf(first), 1);
    await first.close();
    for (let i = 0; i < events; i++) {
      backend.nc.publish(`${ns.prefix}.token.C${i % channels}.trade`, JSON.stringify({ i, pad }));
      if (i % 500 === 0) await backend.nc.flush(); // do not outrun the server's limit for a slow consumer
    }
    await backend.nc.flush();
    await eventually(async () => (await backend.jsm.streams.info(ns.stream)).state.messages === events, 'the stream to hold every event');
    const started = Date.now();
    // Reading 40 MB keeps the event loop busy; on a loaded machine the load brake would then refuse the
    // probe's handshake with 503 for a second or two (as it should). This test is about the read.
    const second = await gatewayOn(ns, { 'history.eventsMax': 1_000, 'loadBrake.eventLoopDelayMsMax': 60_000, 'loadBrake.utilizationMax': 1 });
    await eventually(() => second.gateway.ready(), 'the gateway to catch up', 15_000);
    const tookMs = Date.now() - started;
    expect(second.gateway.stats().broker.streamOffset).toBe(events);
    expect(second.gateway.stats().events.published).toBe(events);
    // A client 50 events behind on one channel is answered from the warmed ring.
    const channel = `${ns.prefix}.token.C7.trade`;
    const raw = await probe(second);
    raw.send({
      type: 'subscribe',
      id: 1,
      channels: [channel],
      since: { [channel]: { epoch: second.gateway.stats().broker.epoch, offset: events - 50 * channels } },
    });
    const reply = (await raw.waitFor(is('subscribed'))) as SubscribedMessage;
    expect(reply.channels[channel]).toMatchObject({ recovered: true, replayed: 50 });
    await raw.close();
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(/odin_resumes_total\{outcome="recovered",source="ring"\} 1/);
    process.stdout.write(`[restart.test] ${events} events read at start in ${tookMs} ms\n`);
  });
});
