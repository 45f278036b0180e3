// (e) End-to-end fan-out: our real server (startServer, embedded broker, preframed writes) vs a naive ws
// hub (benchmarks/fanout/naive-hub.ts), each in its own process, with N real ws clients in a third
// process subscribed to one channel. A round publishes M events inside the server process and ends when
// every client has received all M; we record the wall time (publish start → last receipt, one monotonic
// clock across processes) and the server's CPU time (process.cpuUsage in the server, user + system).
// Rounds alternate between the two servers so drift on this shared machine hits both alike; medians and
// ratios are reported. Loopback only, bounded counts, every wait has a deadline, children are stopped.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHANNEL, type FromClients, type FromServer, type ServerVariant, type ToClients, type ToServer } from './fanout/messages.js';
import { check, machine, median, round, type BenchModule, type BenchReport, type Comparison, type Measured, type RunOptions } from './lib/report.js';

export interface Scenario {
  readonly label: string;
  /** Events per round. */
  readonly events: number;
  /** Events published per turn of the server's event loop. */
  readonly batch: number;
}

export interface FanoutOptions {
  readonly clients: number;
  readonly scenarios: readonly Scenario[];
  readonly rounds: number;
  readonly warmupRounds: number;
  /** Extra bytes in each event's payload. */
  readonly padBytes: number;
  /** Parse and check every event in the clients (slower; for tests). */
  readonly verify: boolean;
  readonly roundTimeoutMs: number;
  /** odin's outbound write path (config server.writeMode); preframed is the default. */
  readonly odinWriteMode?: 'preframed' | 'send';
  readonly log?: (line: string) => void;
}

export interface RoundResult {
  readonly scenario: string;
  readonly variant: ServerVariant;
  readonly round: number;
  readonly elapsedNs: number;
  readonly cpuUs: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly deliveries: number;
  readonly bytes: number;
}

export interface VariantSummary {
  readonly rounds: number;
  readonly elapsedMsP50: number;
  readonly deliveriesPerSecP50: number;
  readonly serverCpuMsP50: number;
  readonly serverCpuNsPerDeliveryP50: number;
  /** Server CPU / wall time: 1.0 = one core busy for the whole round. */
  readonly serverCoreShareP50: number;
}

export interface FanoutResult {
  readonly clients: number;
  readonly rounds: readonly RoundResult[];
  readonly summary: Readonly<
    Record<
      string,
      {
        readonly odin: VariantSummary;
        readonly naive: VariantSummary;
        readonly throughputRatio: number;
        readonly cpuRatio: number;
        readonly events: number;
        readonly batch: number;
      }
    >
  >;
  readonly connectMs: Readonly<Record<ServerVariant, number>>;
  /** Server memory per subscribed connection (after a full GC; kernel socket buffers not included). */
  readonly memory: Readonly<Record<ServerVariant, MemoryPerConnection>>;
}

export interface MemoryPerConnection {
  readonly rssBytesPerConnection: number;
  readonly heapBytesPerConnection: number;
  readonly externalBytesPerConnection: number;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** A forked TypeScript child with awaitable messages. */
class Child<In, Out extends { type: string }> {
  private readonly inbox: Out[] = [];
  private waiter: { match: (m: Out) => boolean; resolve: (m: Out) => void; reject: (e: Error) => void } | null = null;
  private exited: Error | null = null;
  readonly process: ChildProcess;

  constructor(
    readonly name: string,
    file: string,
    args: readonly string[],
    execArgv: readonly string[] = [],
  ) {
    this.process = fork(here(file), args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (message: Out) => {
      if (message.type === 'failed') {
        this.fail(new Error(`${name}: ${(message as unknown as { message: string }).message}`));
        return;
      }
      if (this.waiter !== null && this.waiter.match(message)) {
        const waiter = this.waiter;
        this.waiter = null;
        waiter.resolve(message);
      } else this.inbox.push(message);
    });
    this.process.on('exit', (code, signal) => this.fail(new Error(`${name} exited (code ${code}, signal ${signal})`)));
  }

  send(message: In): void {
    this.process.send(message as object);
  }

  next<T extends Out>(match: (m: Out) => m is T, timeoutMs: number, what: string): Promise<T> {
    const queued = this.inbox.findIndex(match);
    if (queued >= 0) return Promise.resolve(this.inbox.splice(queued, 1)[0] as T);
    if (this.exited !== null) return Promise.reject(this.exited);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Asks the child to stop, and kills it if it has not exited in time. */
  async stop(stopMessage: In): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    try {
      this.send(stopMessage);
    } catch {
      // The IPC channel is already gone; the kill below ends it.
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private fail(error: Error): void {
    this.exited ??= error;
    if (this.waiter !== null) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.reject(error);
    }
  }
}

type ServerChild = Child<ToServer, FromServer>;
type ClientsChild = Child<ToClients, FromClients>;

const is =
  <T extends string>(type: T) =>
  <M extends { type: string }>(m: M): m is Extract<M, { type: T }> =>
    m.type === type;

async function playRound(
  server: ServerChild,
  clients: ClientsChild,
  variant: ServerVariant,
  scenario: Scenario,
  roundNo: number,
  options: FanoutOptions,
): Promise<RoundResult> {
  const expect = scenario.events;
  clients.send({ cmd: 'arm', set: variant, round: roundNo, expect });
  await clients.next((m): m is Extract<FromClients, { type: 'armed' }> => m.type === 'armed' && m.set === variant && m.round === roundNo, 5_000, 'armed');
  server.send({ cmd: 'publish', round: roundNo, events: scenario.events, batch: scenario.batch, padBytes: options.padBytes });
  const published = await server.next(
    (m): m is Extract<FromServer, { type: 'published' }> => m.type === 'published' && m.round === roundNo,
    options.roundTimeoutMs,
    'published',
  );
  let done: Extract<FromClients, { type: 'done' }>;
  try {
    done = await clients.next(
      (m): m is Extract<FromClients, { type: 'done' }> => m.type === 'done' && m.set === variant && m.round === roundNo,
      options.roundTimeoutMs,
      `all ${expect} events at every client`,
    );
  } catch (error) {
    clients.send({ cmd: 'status', set: variant });
    const status = await clients.next(is('status'), 5_000, 'status').catch(() => ({ text: 'no status' }));
    throw new Error(`${variant} round ${roundNo}: ${(error as Error).message}; ${status.text}`);
  }
  server.send({ cmd: 'measure', round: roundNo });
  const measured = await server.next((m): m is Extract<FromServer, { type: 'measured' }> => m.type === 'measured' && m.round === roundNo, 5_000, 'measured');
  check(done.errors.length === 0, `${variant} round ${roundNo}: ${done.errors.join(' | ')}`);
  check(done.events === expect * options.clients, `${variant} round ${roundNo}: ${done.events} events delivered, expected ${expect * options.clients}`);
  return {
    scenario: scenario.label,
    variant,
    round: roundNo,
    elapsedNs: Number(BigInt(done.lastNs) - BigInt(published.t0Ns)),
    cpuUs: measured.cpuUserUs + measured.cpuSystemUs,
    cpuUserUs: measured.cpuUserUs,
    cpuSystemUs: measured.cpuSystemUs,
    deliveries: done.events,
    bytes: done.bytes,
  };
}

function summarise(rounds: readonly RoundResult[]): VariantSummary {
  const elapsed = rounds.map((r) => r.elapsedNs);
  const perSec = rounds.map((r) => r.deliveries / (r.elapsedNs / 1e9));
  const cpu = rounds.map((r) => r.cpuUs);
  return {
    rounds: rounds.length,
    elapsedMsP50: round(median(elapsed) / 1e6, 2),
    deliveriesPerSecP50: Math.round(median(perSec)),
    serverCpuMsP50: round(median(cpu) / 1e3, 2),
    serverCpuNsPerDeliveryP50: round(median(rounds.map((r) => (r.cpuUs * 1e3) / r.deliveries)), 1),
    serverCoreShareP50: round(median(rounds.map((r) => (r.cpuUs * 1e3) / r.elapsedNs)), 2),
  };
}

export async function runFanout(options: FanoutOptions): Promise<FanoutResult> {
  const log = options.log ?? (() => undefined);
  const servers: Record<ServerVariant, ServerChild> = {
    odin: new Child('odin server', './fanout/server-child.ts', ['odin', options.odinWriteMode ?? 'preframed'], ['--expose-gc']),
    naive: new Child('naive server', './fanout/server-child.ts', ['naive'], ['--expose-gc']),
  };
  const clients: ClientsChild = new Child('clients', './fanout/client-child.ts', []);
  try {
    const connectMs = { odin: 0, naive: 0 };
    const memory: Record<ServerVariant, MemoryPerConnection> = {
      odin: { rssBytesPerConnection: 0, heapBytesPerConnection: 0, externalBytesPerConnection: 0 },
      naive: { rssBytesPerConnection: 0, heapBytesPerConnection: 0, externalBytesPerConnection: 0 },
    };
    const memoryOf = async (variant: ServerVariant, tag: string): Promise<Extract<FromServer, { type: 'memory' }>> => {
      servers[variant].send({ cmd: 'memory', tag });
      return servers[variant].next((m): m is Extract<FromServer, { type: 'memory' }> => m.type === 'memory' && m.tag === tag, 10_000, 'memory');
    };
    for (const variant of ['odin', 'naive'] as const) {
      const listening = await servers[variant].next(is('listening'), 20_000, 'listening');
      const before = await memoryOf(variant, 'before');
      clients.send({ cmd: 'connect', set: variant, url: listening.url, clients: options.clients, channel: CHANNEL, verify: options.verify });
      const connected = await clients.next(
        (m): m is Extract<FromClients, { type: 'connected' }> => m.type === 'connected' && m.set === variant,
        60_000,
        `${options.clients} subscribed clients`,
      );
      check(connected.clients === options.clients, `${variant}: ${connected.clients} clients connected`);
      connectMs[variant] = connected.ms;
      const after = await memoryOf(variant, 'after');
      memory[variant] = {
        rssBytesPerConnection: Math.round((after.rssBytes - before.rssBytes) / options.clients),
        heapBytesPerConnection: Math.round((after.heapUsedBytes - before.heapUsedBytes) / options.clients),
        externalBytesPerConnection: Math.round((after.externalBytes - before.externalBytes) / options.clients),
      };
      log(`fanout: ${options.clients} clients subscribed to ${variant} in ${connected.ms} ms`);
    }
    const results: RoundResult[] = [];
    let roundNo = 0;
    for (const scenario of options.scenarios) {
      for (let r = 0; r < options.warmupRounds + options.rounds; r++) {
        // Alternate who goes first, so neither always runs right after the other's garbage.
        const order: ServerVariant[] = r % 2 === 0 ? ['odin', 'naive'] : ['naive', 'odin'];
        for (const variant of order) {
          const result = await playRound(servers[variant], clients, variant, scenario, roundNo++, options);
          if (r >= options.warmupRounds) results.push(result);
          log(
            `fanout ${scenario.label} ${variant}${r < options.warmupRounds ? ' (warm-up)' : ''}: ${(result.elapsedNs / 1e6).toFixed(1)} ms, ` +
              `${Math.round(result.deliveries / (result.elapsedNs / 1e9))} deliveries/s, server CPU ${(result.cpuUs / 1e3).toFixed(1)} ms`,
          );
        }
      }
    }
    const summary: Record<string, FanoutResult['summary'][string]> = {};
    for (const scenario of options.scenarios) {
      const odin = summarise(results.filter((r) => r.scenario === scenario.label && r.variant === 'odin'));
      const naive = summarise(results.filter((r) => r.scenario === scenario.label && r.variant === 'naive'));
      summary[scenario.label] = {
        odin,
        naive,
        events: scenario.events,
        batch: scenario.batch,
        throughputRatio: round(odin.deliveriesPerSecP50 / naive.deliveriesPerSecP50, 2),
        cpuRatio: round(naive.serverCpuNsPerDeliveryP50 / odin.serverCpuNsPerDeliveryP50, 2),
      };
    }
    return { clients: options.clients, rounds: results, summary, connectMs, memory };
  } finally {
    await Promise.all([servers.odin.stop({ cmd: 'stop' }), servers.naive.stop({ cmd: 'stop' }), clients.stop({ cmd: 'stop' })]);
  }
}

function measuredOf(name: string, values: readonly number[]): Measured {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    name,
    p50Ns: round(median(sorted), 1),
    avgNs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 1),
    minNs: sorted[0]!,
    p99Ns: sorted.at(-1)!,
    maxNs: sorted.at(-1)!,
    samples: sorted.length,
  };
}

export const defaultFanoutOptions: FanoutOptions = {
  clients: 500,
  scenarios: [
    { label: 'steady (1 event/turn)', events: 200, batch: 1 },
    { label: 'burst (20 events/turn)', events: 200, batch: 20 },
  ],
  rounds: 7,
  warmupRounds: 1,
  padBytes: 64,
  verify: false,
  roundTimeoutMs: 30_000,
};

export const bench: BenchModule = {
  name: 'fanout',
  title: 'End-to-end fan-out: odin server vs naive ws hub (separate processes, real sockets)',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const fanoutOptions: FanoutOptions = options.quick
      ? { ...defaultFanoutOptions, clients: 20, rounds: 2, scenarios: defaultFanoutOptions.scenarios.map((s) => ({ ...s, events: 20 })), log: options.print }
      : { ...defaultFanoutOptions, log: options.print };
    const result = await runFanout(fanoutOptions);
    const comparisons: Comparison[] = [];
    for (const scenario of fanoutOptions.scenarios) {
      const rounds = (v: ServerVariant) => result.rounds.filter((r) => r.scenario === scenario.label && r.variant === v);
      const deliveries = fanoutOptions.clients * scenario.events;
      comparisons.push({
        label: `${scenario.label}: wall time`,
        baseline: measuredOf(
          'naive hub',
          rounds('naive').map((r) => r.elapsedNs),
        ),
        ours: measuredOf(
          'odin',
          rounds('odin').map((r) => r.elapsedNs),
        ),
        speedup: round(median(rounds('naive').map((r) => r.elapsedNs)) / median(rounds('odin').map((r) => r.elapsedNs)), 2),
        itemsPerIteration: deliveries,
        itemName: 'delivery',
      });
      comparisons.push({
        label: `${scenario.label}: server CPU`,
        baseline: measuredOf(
          'naive hub',
          rounds('naive').map((r) => r.cpuUs * 1e3),
        ),
        ours: measuredOf(
          'odin',
          rounds('odin').map((r) => r.cpuUs * 1e3),
        ),
        speedup: round(median(rounds('naive').map((r) => r.cpuUs)) / median(rounds('odin').map((r) => r.cpuUs)), 2),
        itemsPerIteration: deliveries,
        itemName: 'delivery',
      });
    }
    for (const variant of ['odin', 'naive'] as const) {
      const m = result.memory[variant];
      options.print(
        `${variant}: ${m.rssBytesPerConnection} B RSS, ${m.heapBytesPerConnection} B heap, ${m.externalBytesPerConnection} B external per subscribed connection`,
      );
    }
    for (const [label, s] of Object.entries(result.summary)) {
      options.print(
        `${label}: odin ${s.odin.deliveriesPerSecP50.toLocaleString('en')} deliveries/s (server CPU ${s.odin.serverCpuNsPerDeliveryP50} ns/delivery) · ` +
          `naive ${s.naive.deliveriesPerSecP50.toLocaleString('en')} deliveries/s (${s.naive.serverCpuNsPerDeliveryP50} ns/delivery) · ` +
          `throughput ours/naive ${s.throughputRatio}×, CPU per delivery naive/ours ${s.cpuRatio}×`,
      );
    }
    return {
      name: 'fanout',
      title: this.title,
      baselineIs: 'a ~30-line ws hub: Set of sockets per channel; per publish JSON.stringify + ws.send for every subscriber (no history, no limits)',
      oursIs: 'startServer() as `odin serve` runs it: embedded broker, Gateway (history ring, index, queues, slow-client policy), preframed coalesced writes',
      machine: machine(),
      comparisons,
      extra: { clients: result.clients, connectMs: result.connectMs, memory: result.memory, summary: result.summary, rounds: result.rounds },
      notes: [
        `${fanoutOptions.clients} clients in one child process, each server in its own; ${fanoutOptions.rounds} measured rounds per server and scenario after ${fanoutOptions.warmupRounds} warm-up, alternating`,
        'wall time = publish start in the server → last event received by the last client (CLOCK_MONOTONIC across processes); the client process may bound it on 2 cores, server CPU is the cleaner figure',
        `payload ~${100 + fanoutOptions.padBytes} bytes of JSON per event`,
      ],
      durationMs: Math.round(performance.now() - started),
    };
  },
};
