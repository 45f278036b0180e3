// NATS goes away under load and comes back: WebSocket clients stay connected, /ready says no (and why)
// meanwhile, the gateway resumes the stream from its last sequence, and every event the stream holds
// reaches every subscriber exactly once, in order. Also: the epoch survives the NATS restart.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { eventually, getJson, httpPublish, namespace, plainClient, serveOnNats, sleep, streamContents, type Gateway, type PlainClient } from './support.js';

let nats: NatsServer | undefined;
let backend: PlainClient | undefined;
let gateway: Gateway | undefined;
const clients: OdinClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway?.close();
  await backend?.close();
  await nats?.close();
  gateway = backend = nats = undefined;
});

interface Recorder {
  readonly offsets: number[];
  readonly trouble: unknown[];
  readonly client: OdinClient;
}

function subscriber(url: string, name: string): Recorder {
  const offsets: number[] = [];
  const trouble: unknown[] = [];
  const client = connect(url, { reconnect: { baseMs: 20, capMs: 200 } });
  clients.push(client);
  client.subscribe(name, {
    onEvent: (_data, meta) => offsets.push(meta.offset),
    onGap: (_c, gap) => trouble.push(gap),
    onReset: (_c, reason) => trouble.push(reason),
  });
  return { offsets, trouble, client };
}

describe('a NATS outage under load', () => {
  it('keeps clients connected, reports not ready with the reason, and loses nothing once NATS is back', async () => {
    nats = await startNats({ controllable: true });
    backend = await plainClient(nats);
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    const a = `${ns.prefix}.token.AAA.trade`;
    const b = `${ns.prefix}.token.BBB.trade`;
    const exact = subscriber(gateway.wsUrl, a);
    const pattern = subscriber(gateway.wsUrl, `${ns.prefix}.token.>`);
    await eventually(() => exact.client.position(a) !== undefined && pattern.client.position(`${ns.prefix}.token.>`) !== undefined, 'both subscriptions');
    const epoch = gateway.gateway.stats().broker.epoch;

    // Load: a backend publishing straight into the stream every few milliseconds, through the outage.
    let publishing = true;
    let acked = 0;
    const acks: number[] = [];
    const load = (async () => {
      for (let i = 0; publishing; i++) {
        try {
          const ack = await backend.js.publish(i % 2 === 0 ? a : b, JSON.stringify({ i }), { timeout: 500 });
          acks.push(ack.seq);
          acked++;
        } catch {
          await sleep(20); // NATS is down: the backend retries, as backends do
        }
        await sleep(3);
      }
    })();
    await eventually(() => acked >= 100, '100 events before the outage');

    await nats.stop();
    const stoppedAt = Date.now();
    await eventually(async () => (await getJson(`${gateway!.url}/ready`)).status === 503, '/ready 503 during the outage');
    const notReady = await getJson(`${gateway.url}/ready`);
    expect(notReady.body).toMatchObject({
      ready: false,
      broker: { kind: 'nats', status: 'down', detail: expect.stringMatching(/connection to NATS lost|cannot read stream/) },
    });
    const refused = await httpPublish(gateway, a, { during: 'outage' });
    expect([refused.status, refused.body.error]).toEqual([503, 'broker_unavailable']);
    await sleep(3_000 - (Date.now() - stoppedAt)); // several seconds without NATS
    const ackedDuringOutage = acked;
    await nats.start();
    await eventually(async () => (await getJson(`${gateway!.url}/ready`)).status === 200, '/ready 200 after NATS is back', 10_000);
    await eventually(() => acked >= ackedDuringOutage + 100, '100 more events after the outage', 10_000);
    publishing = false;
    await load;

    const stored = await streamContents(backend, ns.stream);
    const onA = stored.filter((m) => m.subject === a).map((m) => m.seq);
    const onToken = stored.map((m) => m.seq);
    expect(acks.every((seq) => onToken.includes(seq))).toBe(true);
    await eventually(() => exact.offsets.length >= onA.length && pattern.offsets.length >= onToken.length, 'every stored event at both subscribers', 10_000);
    expect(exact.offsets).toEqual(onA);
    expect(pattern.offsets).toEqual(onToken);
    for (const r of [exact, pattern]) {
      expect(r.trouble).toEqual([]);
      expect(r.client.counters.reconnects).toBe(0); // the WebSocket stayed up through the outage
      expect(r.client.counters.duplicatesDropped).toBe(0);
    }
    expect(gateway.gateway.stats().broker.epoch).toBe(epoch); // a NATS restart is not a new timeline
    if (process.env.ODIN_DEBUG_LOGS) console.log(gateway.logs.map((l) => `${l.time} ${l.level} ${l.msg} ${JSON.stringify(l.detail ?? '')}`).join('\n'));
    const logged = gateway.logs.map((l) => l.msg);
    expect(logged).toContain('broker down');
    expect(logged).toContain('broker live');
  });
});
