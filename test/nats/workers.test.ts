// `serve --workers 2 --nats`: each worker reads the JetStream stream on its own; events published straight
// into NATS reach clients on both workers with the same offsets, and /stats counts both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, events, positionOf, startCluster, until, type Client, type ClusterProcess } from '../server/cluster-support.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { namespace, plainClient, type PlainClient } from './support.js';

let nats: NatsServer;
let backend: PlainClient;
let cluster: ClusterProcess | undefined;

beforeAll(async () => {
  nats = await startNats();
  backend = await plainClient(nats);
});
afterAll(async () => {
  await cluster?.kill();
  await backend?.close();
  await nats?.close();
});

describe('serve --workers 2 on NATS JetStream', () => {
  it('every worker consumes the stream: same events, same offsets, on both', { timeout: 60_000 }, async () => {
    const ns = namespace();
    const auth = nats.auth.user !== undefined ? ['--set', `nats.user=${nats.auth.user}`, '--set', `nats.password=${nats.auth.password ?? ''}`] : [];
    cluster = await startCluster(['--workers', '2', '--nats', nats.url, '--set', `nats.stream=${ns.stream}`, '--set', `nats.subjects=${ns.subjects}`, ...auth]);
    const channel = `${ns.prefix}.token.W.trade`;
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) clients.push(await client(cluster.wsUrl, { channels: [channel] }));
    const s = await cluster.stats();
    expect(s.cluster.perWorker.map((w) => w.connections).sort()).toEqual([2, 2]);
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await backend.js.publish(channel, JSON.stringify({ i })));
    await until(() => clients.every((c) => events(c).length === 3), 'three events at every client');
    for (const c of clients) expect(events(c).map((e) => e.offset)).toEqual(acks.map((a) => a.seq));
    expect(new Set(clients.map((c) => positionOf(c, channel).epoch)).size).toBe(1);
    // No broker in the primary: each worker says NATS is its broker.
    const health = (await (await fetch(`${cluster.url}/health`)).json()) as { broker: { kind: string } };
    expect(health.broker.kind).toBe('nats');
  });
});
