// What the stream no longer holds is never replayed as if it were complete. A client that was away past
// the stream's retention is told recovered:false (history_expired); a gateway cut off from NATS for longer
// than the retention resumes from what exists, and its live clients get a gap with its reason rather than
// the next event as if nothing had been missed. Retention is 1 s here (the smallest nats.maxAgeMs).
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type GapInfo, type OdinClient } from '../../src/client/index.js';
import type { SubscribedMessage } from '../../src/core/protocol.js';
import { is, probe } from '../e2e/support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually, getJson, namespace, plainClient, serveOnNats, sleep, type Gateway, type PlainClient } from './support.js';

let nats: NatsServer | undefined;
let proxy: TcpProxy | undefined;
let backend: PlainClient | undefined;
let gateway: Gateway | undefined;
let client: OdinClient | undefined;

afterEach(async () => {
  client?.close();
  await gateway?.close();
  await proxy?.close();
  await backend?.close();
  await nats?.close();
  client = gateway = proxy = backend = nats = undefined;
});

/** Waits until the stream has dropped everything up to `seq` (its first retained sequence is past it). */
async function expiredThrough(plain: PlainClient, stream: string, seq: number): Promise<void> {
  await eventually(async () => (await plain.jsm.streams.info(stream)).state.first_seq > seq, `the stream to expire through ${seq}`, 5_000);
}

describe('retention expiry', () => {
  it('answers a client that was away past the retention with recovered:false (history_expired)', async () => {
    nats = await startNats();
    backend = await plainClient(nats);
    const ns = namespace();
    // The ring forgets quickly too, so the resume has to ask the stream.
    gateway = await serveOnNats(nats, ns, { 'nats.maxAgeMs': 1_000, 'history.ageMs': 200 });
    const channel = `${ns.prefix}.token.ABC.trade`;
    const away = await probe(gateway);
    away.send({ type: 'subscribe', id: 1, channels: [channel] });
    const first = (await away.waitFor(is('subscribed'))) as SubscribedMessage;
    const epoch = first.channels[channel]!.epoch;
    for (let i = 1; i <= 3; i++) await backend.js.publish(channel, JSON.stringify(i));
    await away.waitFor(is('event', (e) => e.offset === 3));
    await away.close();

    for (let i = 4; i <= 6; i++) await backend.js.publish(channel, JSON.stringify(i)); // missed while away
    await expiredThrough(backend, ns.stream, 6);
    await sleep(1_100); // the gateway's housekeeping drops the ring's aged records

    const back = await probe(gateway);
    back.send({ type: 'subscribe', id: 1, channels: [channel], since: { [channel]: { epoch, offset: 3 } } });
    const reply = (await back.waitFor(is('subscribed'))) as SubscribedMessage;
    expect(reply.channels[channel]).toMatchObject({ epoch, recovered: false, reason: 'history_expired' });
    expect(back.ofType('event')).toEqual([]);
    await back.close();
  });

  it('gives live clients a gap with its reason when the gateway was cut off from NATS past the retention', async () => {
    nats = await startNats();
    backend = await plainClient(nats);
    proxy = await startTcpProxy(Number(new URL(nats.url).port));
    const ns = namespace();
    gateway = await serveOnNats({ url: proxy.url, auth: nats.auth }, ns, { 'nats.maxAgeMs': 1_000 });
    const channel = `${ns.prefix}.token.ABC.trade`;
    const delivered: number[] = [];
    const gaps: GapInfo[] = [];
    const resets: string[] = [];
    client = connect(gateway.wsUrl, { reconnect: { baseMs: 20, capMs: 100 } });
    client.subscribe(channel, { onEvent: (_d, meta) => delivered.push(meta.offset), onGap: (_c, gap) => gaps.push(gap), onReset: (_c, r) => resets.push(r) });
    await eventually(() => client!.position(channel) !== undefined, 'the subscribe reply');
    for (let i = 1; i <= 3; i++) await backend.js.publish(channel, JSON.stringify(i));
    await eventually(() => delivered.length === 3, 'three events');

    await proxy.cut(); // the gateway alone loses NATS; publishers do not
    await eventually(async () => (await getJson(`${gateway!.url}/ready`)).status === 503, '/ready 503 while cut off');
    for (let i = 4; i <= 6; i++) await backend.js.publish(channel, JSON.stringify(i));
    await expiredThrough(backend, ns.stream, 6); // 4..6 expire before the gateway can read them
    await backend.js.publish(channel, JSON.stringify(7));
    await proxy.restore();
    await eventually(async () => (await getJson(`${gateway!.url}/ready`)).status === 200, '/ready 200 once reconnected', 10_000);

    await eventually(() => delivered.length === 4, 'the event after the expired range', 10_000);
    expect(delivered).toEqual([1, 2, 3, 7]);
    expect(gaps).toEqual([{ from: 4, to: 6, reason: 'history_unavailable' }]);
    expect(resets).toEqual([]);
    expect(client.counters.reconnects).toBe(0);
  });
});
