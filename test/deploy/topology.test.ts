// The compose topology (deploy/compose.yaml) without containers, all on 127.0.0.1: Debian's HAProxy
// in front of two gateway processes (`odin serve`, compiled) checked on /ready, and three nats-server
// processes in a cluster holding the stream with three replicas. A client connected through HAProxy
// survives a rolling restart of the gateway it is on (drain 1001, reconnect through the balancer to the
// other, resume) and the death of the stream's leader node (SIGKILL) while a backend publishes straight
// into JetStream: it receives every event the stream holds, once, in order (offsets are stream
// sequences: what it saw equals the stream), with no gap, no reset, no duplicate.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type OdinClient } from '../../src/client/index.js';
import { freePort, startNatsCluster, type NatsCluster } from '../support/nats-fixture.js';
import { eventually, namespace, plainClient, sleep, streamContents, type PlainClient } from '../nats/support.js';
import { repoRoot } from './podman.js';

const BIN = join(repoRoot, 'bin/odin.mjs');

interface Proc {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer): void => void (out = (out + chunk.toString()).slice(-64 * 1024));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** One gateway process on a fixed port, as a supervisor (or Kubernetes) would run it. */
class GatewayProcess {
  proc: Proc | null = null;
  log = '';
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}
  async start(): Promise<void> {
    this.proc = spawnLogged(process.execPath, [BIN, 'serve'], { ...this.env, WS_HOST: '127.0.0.1', WS_PORT: String(this.port) });
    await eventually(async () => (await fetch(`http://127.0.0.1:${this.port}/ready`).catch(() => null))?.status === 200, `${this.name} ready`, 30_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; its output:\n${this.output()}`);
      },
    );
  }
  /** SIGTERM and wait: the drain closes clients 1001 and the process exits 0. */
  async stop(): Promise<number | null> {
    const proc = this.proc!;
    proc.child.kill('SIGTERM');
    const code = await proc.exited;
    this.log += proc.output();
    this.proc = null;
    return code;
  }
  async connections(): Promise<number> {
    const stats = (await (await fetch(`http://127.0.0.1:${this.port}/stats`)).json()) as { connections: { current: number } };
    return stats.connections.current;
  }
  output(): string {
    return this.log + (this.proc?.output() ?? '');
  }
  kill(): void {
    this.proc?.child.kill('SIGKILL');
  }
}

function haproxyConfig(port: number, gateways: readonly GatewayProcess[]): string {
  // The compose file's haproxy.cfg, on loopback ports, with faster checks (the test has no minutes).
  return [
    'global',
    '  maxconn 1000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 3',
    'frontend ws',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance leastconn',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    ...gateways.map((g) => `  server ${g.name} 127.0.0.1:${g.port} check inter 300ms fall 1 rise 2`),
    '',
  ].join('\n');
}

let cluster: NatsCluster | undefined;
let backend: PlainClient | undefined;
let haproxy: Proc | undefined;
let client: OdinClient | undefined;
let dir: string | undefined;
const gateways: GatewayProcess[] = [];

afterEach(async () => {
  client?.close();
  haproxy?.child.kill('SIGKILL');
  for (const g of gateways.splice(0)) g.kill();
  await backend?.close();
  await cluster?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  cluster = backend = haproxy = client = dir = undefined;
});

describe('HAProxy + two gateways + a three-node NATS cluster, no containers', () => {
  it('a client through the balancer loses nothing across a gateway restart and a NATS node kill', async () => {
    const started = Date.now();
    const phase = (what: string): void => void process.stdout.write(`[topology] ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}\n`);
    cluster = await startNatsCluster(3);
    const ns = namespace();
    const env = {
      WS_NATS_SERVERS: cluster.servers.join(','),
      WS_NATS_STREAM: ns.stream,
      WS_NATS_SUBJECTS: ns.subjects,
      WS_NATS_REPLICAS: '3',
      WS_NATS_HEARTBEAT_MS: '500',
      WS_GATEWAY_DRAIN_RETRY_JITTER_MS: '300',
      WS_GATEWAY_DRAIN_TIMEOUT_MS: '5000',
      WS_LOG_LEVEL: 'info',
    };
    gateways.push(new GatewayProcess('gw1', await freePort(), env), new GatewayProcess('gw2', await freePort(), env));
    for (const g of gateways) await g.start(); // one after the other: the first creates the stream
    dir = mkdtempSync(join(tmpdir(), 'odin-haproxy-'));
    const lbPort = await freePort();
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(lbPort, gateways));
    haproxy = spawnLogged('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]);
    await eventually(async () => (await fetch(`http://127.0.0.1:${lbPort}/ready`).catch(() => null))?.status === 200, `HAProxy on ${lbPort}`, 10_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; haproxy said:\n${haproxy!.output()}`);
      },
    );
    phase('cluster, gateways and HAProxy up');

    backend = await plainClient({ servers: cluster.servers, auth: {} });
    expect((await backend.jsm.streams.info(ns.stream)).config.num_replicas).toBe(3);
    const channel = `${ns.prefix}.token.ABC.trade`;
    const seen: number[] = [];
    const trouble: unknown[] = [];
    client = connect(`ws://127.0.0.1:${lbPort}/ws`, { reconnect: { baseMs: 50, capMs: 500 } });
    client.subscribe(channel, { onEvent: (_d, meta) => seen.push(meta.offset), onGap: (_c, gap) => trouble.push(gap), onReset: (_c, r) => trouble.push(r) });
    await eventually(() => client!.position(channel) !== undefined, 'the subscription through HAProxy', 10_000);

    // A backend publishing straight into JetStream the whole time, retrying while there is no leader.
    let publishing = true;
    let acked = 0;
    const acks: number[] = [];
    const load = (async () => {
      for (let i = 0; publishing; i++) {
        try {
          acks.push((await backend!.js.publish(channel, JSON.stringify({ i }), { timeout: 1_000 })).seq);
          acked++;
        } catch {
          await sleep(50);
        }
        await sleep(5);
      }
    })();
    await eventually(() => acked >= 50, '50 events before the restart', 10_000);

    // 1. Rolling restart of the gateway holding the client.
    const counts = await Promise.all(gateways.map((g) => g.connections()));
    const holder = gateways[counts.indexOf(1)];
    expect(holder, `connections per gateway: ${counts.join(', ')}`).toBeDefined();
    expect(await holder!.stop()).toBe(0);
    expect(holder!.output()).toContain('drained; stopped (connections closed: 1, terminated: 0)');
    phase(`${holder!.name} drained and stopped`);
    const other = gateways.find((g) => g !== holder)!;
    await eventually(async () => (await other.connections()) === 1, `the client on ${other.name}`, 15_000);
    await holder!.start();
    phase(`client moved to ${other.name}; ${holder!.name} back`);
    const beforeKill = acked;
    await eventually(() => acked >= beforeKill + 50, '50 events after the restart', 10_000);

    // 2. The stream leader's node dies.
    const leader = (await backend.jsm.streams.info(ns.stream)).cluster?.leader;
    const victim = cluster.nodes[Number(/odin-node-(\d)/.exec(leader ?? '')?.[1])];
    expect(victim, `stream leader ${leader}`).toBeDefined();
    await victim!.kill();
    phase(`killed NATS node ${leader}`);
    const killedAt = acked;
    await eventually(() => acked >= killedAt + 100, '100 events after the kill', 45_000);
    publishing = false;
    await load;
    phase('publishing stopped');

    const stored = (await streamContents(backend, ns.stream)).map((m) => m.seq);
    // Every acknowledged publish is stored (a publish whose ack was lost in the election may be stored
    // too: the stream, not the ack count, is what the client must match).
    expect(acks.filter((seq) => !stored.includes(seq))).toEqual([]);
    await eventually(() => seen.length >= stored.length, `every stored event at the client (${stored.length})`, 45_000).catch((error: Error) => {
      throw new Error(`${error.message}: saw ${seen.length}; gateways said:\n${gateways.map((g) => `--- ${g.name}\n${g.output().slice(-3000)}`).join('\n')}`);
    });
    expect(seen).toEqual(stored);
    expect(trouble).toEqual([]);
    expect(client.counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(client.counters.duplicatesDropped).toBe(0);
    expect(client.counters.resets).toBe(0);
    phase(`done: ${stored.length} events, ${client.counters.reconnects} reconnect(s)`);
  }, 120_000);
});
