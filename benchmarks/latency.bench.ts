// (f) Publish → deliver latency with NATS JetStream as the broker of record, against the embedded broker
// in the same run. Two real servers (startServer, as `odin serve` and `odin serve --nats` run them) in this
// process, a nats-server process for the JetStream one (file storage, as the default stream), and C real
// ws clients per server subscribed to one channel. Events are published at a steady rate through
// Gateway.publish (the path POST /publish takes after parsing), alternating blocks between the two
// servers so drift on this shared machine hits both alike; each receipt's latency is its client's receipt
// time minus the publish call's time, one monotonic clock. The JetStream path adds: the publish request
// to NATS and its storage, the push to the gateway's ordered consumer, and the reader. Loopback only,
// bounded counts, every wait has a deadline.
import { WebSocket } from 'ws';
import { loadConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { startNatsProcess } from '../test/support/nats-fixture.js';
import { check, machine, round, type BenchModule, type BenchReport, type Measured, type RunOptions } from './lib/report.js';

const CHANNEL = 'odin.token.BENCH.trade';

export interface LatencyOptions {
  readonly clients: number;
  /** Events per server. */
  readonly events: number;
  /** Events per block; blocks alternate between the servers. */
  readonly block: number;
  /** Publishes per second (one server at a time). */
  readonly ratePerSec: number;
  readonly padBytes: number;
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
}

type Variant = 'embedded' | 'jetstream';

export interface LatencyResult {
  readonly options: Omit<LatencyOptions, 'log'>;
  /** Latency samples (ns), one per event per client. */
  readonly samples: Readonly<Record<Variant, readonly number[]>>;
  readonly missing: Readonly<Record<Variant, number>>;
}

function config(settings: Record<string, string | number>) {
  const all = { 'server.host': '127.0.0.1', 'server.port': 0, 'log.level': 'silent', ...settings };
  return loadConfig({ flags: Object.entries(all).map(([path, v]) => ({ path, raw: String(v), flag: `--set ${path}` })) }).config;
}

interface Rig {
  readonly server: RunningServer;
  readonly sockets: WebSocket[];
  readonly publishedAt: Map<number, bigint>;
  readonly samples: number[];
}

async function subscribeClients(server: RunningServer, count: number, samples: number[], publishedAt: Map<number, bigint>): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let c = 0; c < count; c++) {
    const ws = new WebSocket(server.wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (raw: Buffer) => {
        const now = process.hrtime.bigint();
        const message = JSON.parse(raw.toString('utf8')) as { type: string; data?: { i: number } };
        if (message.type === 'subscribed') resolve();
        if (message.type !== 'event') return;
        const at = publishedAt.get(message.data!.i);
        if (at !== undefined) samples.push(Number(now - at));
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [CHANNEL] })));
    });
    sockets.push(ws);
  }
  return sockets;
}

function publish(server: RunningServer, data: string): Promise<void> {
  return new Promise((resolve, reject) => server.gateway.publish(CHANNEL, data, (outcome) => (outcome.ok ? resolve() : reject(new Error(outcome.message)))));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runLatency(options: LatencyOptions): Promise<LatencyResult> {
  const nats = await startNatsProcess('latency bench');
  const rigs = {} as Record<Variant, Rig>;
  try {
    const servers: Record<Variant, RunningServer> = {
      embedded: await startServer(config({})),
      jetstream: await startServer(config({ 'nats.servers': nats.url, 'nats.stream': 'ODIN_BENCH', 'nats.subjects': 'odin.token.>' })),
    };
    for (const variant of ['embedded', 'jetstream'] as const) {
      const publishedAt = new Map<number, bigint>();
      const samples: number[] = [];
      rigs[variant] = {
        server: servers[variant],
        publishedAt,
        samples,
        sockets: await subscribeClients(servers[variant], options.clients, samples, publishedAt),
      };
    }
    const pad = 'x'.repeat(options.padBytes);
    const intervalMs = 1_000 / options.ratePerSec;
    const sent: Record<Variant, number> = { embedded: 0, jetstream: 0 };
    for (let b = 0; sent.embedded < options.events || sent.jetstream < options.events; b++) {
      const variant: Variant = b % 2 === 0 ? 'embedded' : 'jetstream';
      const rig = rigs[variant];
      for (let k = 0; k < options.block && sent[variant] < options.events; k++) {
        const i = sent[variant]++;
        rig.publishedAt.set(i, process.hrtime.bigint());
        await publish(rig.server, JSON.stringify({ i, pad }));
        await sleep(intervalMs);
      }
      options.log?.(`block ${b} (${variant}) done: ${sent.embedded} + ${sent.jetstream} events`);
    }
    const expected = options.events * options.clients;
    const deadline = Date.now() + options.timeoutMs;
    while ((rigs.embedded.samples.length < expected || rigs.jetstream.samples.length < expected) && Date.now() < deadline) await sleep(10);
    const { log: _log, ...plain } = options;
    return {
      options: plain,
      samples: { embedded: rigs.embedded.samples, jetstream: rigs.jetstream.samples },
      missing: { embedded: expected - rigs.embedded.samples.length, jetstream: expected - rigs.jetstream.samples.length },
    };
  } finally {
    for (const rig of Object.values(rigs)) for (const ws of rig.sockets) ws.terminate();
    await Promise.all(Object.values(rigs).map((rig) => rig.server.close()));
    await nats.close();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function measured(name: string, samples: readonly number[]): Measured {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    name,
    p50Ns: percentile(sorted, 50),
    avgNs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    minNs: sorted[0]!,
    p99Ns: percentile(sorted, 99),
    maxNs: sorted.at(-1)!,
    samples: sorted.length,
  };
}

const ms = (ns: number): string => `${round(ns / 1e6, 3)} ms`;
const delta = (ns: number): string => `${ns < 0 ? '−' : '+'}${ms(Math.abs(ns))}`;

export const bench: BenchModule = {
  name: 'latency',
  title: 'Publish → deliver latency: JetStream as the broker vs the embedded broker',
  async run({ quick, print }: RunOptions): Promise<BenchReport> {
    const started = Date.now();
    const options: LatencyOptions = quick
      ? { clients: 5, events: 100, block: 25, ratePerSec: 200, padBytes: 100, timeoutMs: 10_000 }
      : { clients: 50, events: 2_000, block: 100, ratePerSec: 200, padBytes: 100, timeoutMs: 30_000 };
    const result = await runLatency(options);
    check(result.missing.embedded === 0 && result.missing.jetstream === 0, `every event reaches every client (missing ${JSON.stringify(result.missing)})`);
    const embedded = measured('embedded broker', result.samples.embedded);
    const jetstream = measured('JetStream (nats-server 2.9, file storage)', result.samples.jetstream);
    const summary = [
      `p50: JetStream ${ms(jetstream.p50Ns)} vs embedded ${ms(embedded.p50Ns)} (${delta(jetstream.p50Ns - embedded.p50Ns)})`,
      `p99: JetStream ${ms(jetstream.p99Ns)} vs embedded ${ms(embedded.p99Ns)} (${delta(jetstream.p99Ns - embedded.p99Ns)})`,
      `${options.clients} clients per server, ${options.events} events each at ${options.ratePerSec}/s, ${embedded.samples + jetstream.samples} receipts`,
    ];
    for (const line of summary) print(line);
    return {
      name: 'latency',
      title: this.title,
      baselineIs: 'startServer with the embedded in-process broker: publish assigns the offset and fans out in the same call.',
      oursIs:
        'startServer with --nats: publish goes to JetStream (stored, acknowledged) and comes back through the ordered stream consumer before the fan-out.',
      machine: machine(),
      comparisons: [
        {
          label: 'publish → deliver',
          baseline: embedded,
          ours: jetstream,
          speedup: embedded.p50Ns / jetstream.p50Ns,
          itemsPerIteration: 1,
          itemName: 'receipt',
        },
      ],
      extra: { summary, options },
      notes: [
        'servers, clients and the publisher share this process; nats-server is a separate process on loopback',
        'latency = client receipt time − Gateway.publish call time, per client per event (process.hrtime)',
        'blocks alternate between the two servers so load drift hits both',
      ],
      durationMs: Date.now() - started,
    };
  },
};
