// `serve --workers 2` as a process: both workers serve the port, with the embedded broker in the primary
// reached over IPC; clients on either worker get the same events with the same offsets; /stats and
// /metrics count both; a killed worker is logged and replaced and its clients resume exactly on the
// cluster; SIGTERM drains every worker.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, client as connect, events, positionOf, startCluster, until, type Client, type ClusterProcess } from './cluster-support.js';

const CHANNEL = 'odin.token.CLUSTER.trade';
const client = (wsUrl: string, subscribe: Record<string, unknown> = { channels: [CHANNEL] }): Promise<Client> => connect(wsUrl, subscribe);

let cluster: ClusterProcess;
let logs: Array<Record<string, unknown>> = [];
let url = '';
let wsUrl = '';

const stats = () => cluster.stats();
const publish = async (i: number): Promise<{ epoch: string; offset: number }> =>
  (await (
    await fetch(`${url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: CHANNEL, data: { i } }) })
  ).json()) as { epoch: string; offset: number };

beforeAll(async () => {
  cluster = await startCluster(['--workers', '2', '--set', 'gateway.drainTimeoutMs=3000']);
  ({ logs, url, wsUrl } = cluster);
}, 40_000);

afterAll(async () => {
  await cluster?.kill();
});

describe('serve --workers 2', { timeout: 60_000 }, () => {
  const clients: Client[] = [];

  it('spreads clients over both workers, which deliver the same events with the same offsets and epoch', async () => {
    for (let i = 0; i < 4; i++) clients.push(await client(wsUrl));
    const s = await stats();
    expect(s.cluster.perWorker).toHaveLength(2);
    // The primary hands each connection to the worker with the most room: two each.
    expect(s.cluster.perWorker.map((w) => w.connections)).toEqual([2, 2]);
    expect(s.connections.current).toBe(4);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await publish(i));
    await until(() => clients.every((c) => events(c).length === 5), 'five events at every client');
    const epochs = new Set(clients.map((c) => positionOf(c, CHANNEL).epoch));
    expect([...epochs]).toEqual([answers[0]!.epoch]);
    const offsets = clients.map((c) => events(c).map((e) => [e.offset, e.prev, e.data]));
    for (const o of offsets) expect(o).toEqual(offsets[0]);
    expect(offsets[0]!.map((o) => o[0])).toEqual(answers.map((a) => a.offset));
  });

  it('counts both workers in /stats and /metrics', async () => {
    const s = await stats();
    expect(s.cluster.workers).toBe(2);
    expect(s.cluster.missing).toEqual([]);
    expect(s.cluster.perWorker.reduce((sum, w) => sum + w.connections, 0)).toBe(4);
    expect(s.connections.capacity).toBe(s.cluster.perWorker[0]!.capacity + s.cluster.perWorker[1]!.capacity);
    // Every worker read the same five events: the cluster published five, not ten.
    expect(s.events.published).toBe(5);
    // Deliveries happened on both workers: the cluster's count is theirs added up.
    expect(s.events.delivered).toBe(s.cluster.perWorker.reduce((sum, w) => sum + w.delivered, 0));
    expect(s.events.delivered).toBeGreaterThanOrEqual(20);
    expect(s.cluster.perWorker.every((w) => w.delivered >= 5)).toBe(true);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^odin_connections 4$/m);
    expect(text).toMatch(/^odin_cluster_workers 2$/m);
  });

  it('logs a killed worker, replaces it, and its clients resume exactly on the cluster', async () => {
    const before = await stats();
    const victim = before.cluster.perWorker[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const logged = await until(
      () => logs.find((l) => String(l.msg).startsWith(`worker 0 (pid ${victim.pid}) exited unexpectedly (signal SIGKILL)`)),
      'the crash in the log',
    );
    expect(logged.level).toBe(50); // error
    const dropped = await until(() => {
      const gone = clients.filter((c) => c.closed !== null);
      return gone.length > 0 && gone;
    }, 'the victim’s clients to see the close');
    expect(dropped.length).toBe(victim.connections);
    const after = await until(async () => {
      const s = await stats();
      return s.cluster.perWorker.length === 2 && s.cluster.perWorker[0]!.pid !== victim.pid && s.cluster.restarts === 1 && s;
    }, 'a replacement in slot 0');
    expect(after.cluster.missing).toEqual([]);
    // Published while the dropped clients were away; they come back with where they were.
    await publish(5);
    await publish(6);
    for (const c of dropped) {
      const last = events(c).at(-1)!;
      const back = await client(wsUrl, { channels: [CHANNEL], since: { [CHANNEL]: { epoch: positionOf(c, CHANNEL).epoch, offset: last.offset } } });
      expect(positionOf(back, CHANNEL)).toMatchObject({ recovered: true, replayed: 2 });
      await until(() => events(back).length === 2, 'the two missed events');
      expect(events(back).map((e) => (e.data as { i: number }).i)).toEqual([5, 6]);
      clients.push(back);
    }
  });

  it('drains every worker on SIGTERM: clients are told to come back (1001), the primary exits 0', async () => {
    const open = clients.filter((c) => c.closed === null);
    expect(open.length).toBeGreaterThanOrEqual(4);
    cluster.child.kill('SIGTERM');
    expect(await cluster.exited).toBe(0);
    await until(() => open.every((c) => c.closed !== null), 'every client closed');
    expect(new Set(open.map((c) => c.closed))).toEqual(new Set([1001]));
    expect(logs.some((l) => l.msg === 'all workers stopped')).toBe(true);
  });
});

describe('serve --workers 2 that cannot start', () => {
  it('exits 1 with a one-line reason before starting any worker (a taken port: the primary listens)', { timeout: 30_000 }, async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = spawn(process.execPath, [BIN, 'serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      run.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const code = await new Promise<number | null>((resolve) => run.on('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(stderr).toMatch(/^odin serve: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)\n$/);
      expect(stdout).not.toMatch(/starting 2 workers/);
    } finally {
      blocker.close();
    }
  });
});
