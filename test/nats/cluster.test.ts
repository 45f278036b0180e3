// A three-node NATS cluster (three nats-server processes routed on loopback, JetStream on each) holding
// the stream with three replicas. Killing the stream's leader under load loses nothing: every event the
// stream holds reaches the subscribers of both gateways exactly once, in order, and both keep serving.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import { startNatsCluster, type NatsCluster } from '../support/nats-fixture.js';
import { eventually, getJson, namespace, plainClient, serveOnNats, sleep, streamContents, type Gateway, type PlainClient } from './support.js';

let cluster: NatsCluster | undefined;
let backend: PlainClient | undefined;
const gateways: Gateway[] = [];
const clients: OdinClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await backend?.close();
  await cluster?.close();
  cluster = backend = undefined;
});

// NATS 2.9 needs 6–12 s on this 2-core box to elect a new stream leader and place new consumers after a kill
// (measured with the CPU busy; 20 s and more seen while the whole suite runs), hence the long deadlines.
describe('a three-node NATS cluster with a replicated stream', () => {
  it('loses nothing when the stream leader is killed under load, and both gateways keep serving', async () => {
    cluster = await startNatsCluster(3);
    const target = { servers: cluster.servers, auth: {} };
    const ns = namespace();
    for (const servers of [cluster.servers, [...cluster.servers].reverse()]) {
      gateways.push(await serveOnNats({ servers, auth: {} }, ns, { 'nats.replicas': 3 }));
    }
    backend = await plainClient(target);
    const channel = `${ns.prefix}.token.ABC.trade`;
    const seen = gateways.map(() => [] as number[]);
    const trouble: unknown[] = [];
    gateways.forEach((g, i) => {
      const c = connect(g.wsUrl, { reconnect: { baseMs: 20, capMs: 200 } });
      clients.push(c);
      c.subscribe(channel, { onEvent: (_d, meta) => seen[i]!.push(meta.offset), onGap: (_c, gap) => trouble.push(gap), onReset: (_c, r) => trouble.push(r) });
    });
    await eventually(() => clients.every((c) => c.position(channel) !== undefined), 'both subscriptions');
    expect((await backend.jsm.streams.info(ns.stream)).config.num_replicas).toBe(3);

    let publishing = true;
    let acked = 0;
    const acks: number[] = [];
    const load = (async () => {
      for (let i = 0; publishing; i++) {
        try {
          acks.push((await backend.js.publish(channel, JSON.stringify({ i }), { timeout: 1_000 })).seq);
          acked++;
        } catch {
          await sleep(20); // no leader for a moment: the backend retries
        }
        await sleep(3);
      }
    })();
    await eventually(() => acked >= 100, '100 events before the kill');

    const leader = (await backend.jsm.streams.info(ns.stream)).cluster?.leader;
    const victim = cluster.nodes[Number(/odin-node-(\d)/.exec(leader ?? '')?.[1])];
    expect(victim, `stream leader ${leader}`).toBeDefined();
    await victim!.kill();
    const killedAt = acked;
    await eventually(() => acked >= killedAt + 200, '200 more events after the kill', 30_000);
    publishing = false;
    await load;

    for (const g of gateways) {
      await eventually(async () => (await getJson(`${g.url}/ready`)).status === 200, 'each gateway ready', 30_000).catch((error: Error) => {
        throw new Error(`${error.message}; its log:\n${g.logs.map((l) => `${l.time} ${l.msg} ${JSON.stringify(l.detail ?? '')}`).join('\n')}`);
      });
    }
    const stored = (await streamContents(backend, ns.stream)).map((m) => m.seq);
    expect(acks.every((seq) => stored.includes(seq))).toBe(true);
    await eventually(() => seen.every((s) => s.length >= stored.length), 'every stored event at both subscribers', 15_000);
    for (const s of seen) expect(s).toEqual(stored);
    expect(trouble).toEqual([]);
    for (const c of clients) expect(c.counters.reconnects).toBe(0);
  }, 60_000);
});
