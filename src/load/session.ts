// The load coordinator: forks the workers, hands each its share (plan.ts), keeps their latest cumulative
// counts, adds up their latency histograms, and answers the questions the phases ask (how many events has
// each worker received, tell me when they have all received N more). Workers report every tickMs and on
// demand (mark); every wait is bounded, and close() (or any failure) stops every child.
import { addCounts, bump } from './failures.js';
import { Child, childModule } from './child.js';
import { addEncoded, newHistogram, type Histogram } from './histogram.js';
import { zeroCounts, type Counts, type FromWorker, type Tick, type ToWorker } from './messages.js';
import { spread, type Spread } from './plan.js';
import type { LoadTokens } from './token.js';

export interface SessionOptions {
  /** ws:// URL of the endpoint, query included (odin: ws://127.0.0.1:8080/ws?v=1). */
  readonly url: string;
  readonly protocols: readonly string[];
  /** Per-connection tokens (src/load/token.ts); absent: connections carry none. */
  readonly tokens?: LoadTokens | null;
  readonly connections: number;
  readonly workersMin: number;
  readonly socketsPerWorkerMax: number;
  readonly perAddressMax: number;
  /** Bind source addresses 127.0.B.x (IPv4 loopback targets only). */
  readonly spreadAddresses: boolean;
  /** B in 127.0.B.x: sets of connections open at the same time (or within TIME_WAIT) use different blocks. */
  readonly addressBlock?: number;
  readonly channels: readonly string[];
  readonly channelsPerConnection: number;
  /** Connections per second over all workers; 0: as fast as the in-flight bound allows. */
  readonly rampPerSecond: number;
  /** Handshakes in flight at once, per worker. */
  readonly handshakesInFlightMax: number;
  readonly connectTimeoutMs: number;
  readonly subscribeTimeoutMs: number;
  readonly sampleEvery: number;
  readonly tickMs: number;
}

export const sessionDefaults = {
  workersMin: 2,
  socketsPerWorkerMax: 15_000,
  perAddressMax: 10_000,
  channelsPerConnection: 1,
  rampPerSecond: 1_000,
  handshakesInFlightMax: 256,
  connectTimeoutMs: 10_000,
  subscribeTimeoutMs: 10_000,
  sampleEvery: 10,
  tickMs: 1_000,
} as const;

/** A run's figures at one moment, summed over workers. */
export interface Snapshot {
  readonly elapsedMs: number;
  readonly planned: number;
  readonly counts: Counts;
  readonly subscribers: Readonly<Record<string, number>>;
  readonly pending: number;
}

/** Each worker's last tick at one moment: the base of a phase. */
export type Marks = readonly Tick[];

/** Histograms that add up every tick from their creation until stop(). */
export interface Recorder {
  readonly latency: Histogram;
  readonly connect: Histogram;
  stop(): void;
}

type WorkerChild = Child<ToWorker, FromWorker>;

const READY_TIMEOUT_MS = 30_000;
const FLUSH_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 8_000;

export function sumTicks(ticks: readonly (Tick | null)[]): { counts: Counts; subscribers: Record<string, number>; pending: number } {
  const counts = zeroCounts();
  const subscribers: Record<string, number> = {};
  let pending = 0;
  for (const t of ticks) {
    if (t === null) continue;
    const c = t.counts;
    counts.attempted += c.attempted;
    counts.opened += c.opened;
    counts.subscribed += c.subscribed;
    counts.open += c.open;
    counts.events += c.events;
    counts.eventBytes += c.eventBytes;
    counts.clipped += c.clipped;
    addCounts(counts.failures, c.failures);
    addCounts(counts.drops, c.drops);
    addCounts(counts.control, c.control);
    for (const [channel, n] of Object.entries(t.subscribers)) bump(subscribers, channel, n);
    pending += t.pending;
  }
  return { counts, subscribers, pending };
}

/** Events the workers' connections receive when `perChannel` events are published, by the marks' subscribers. */
export function expectedDeliveries(marks: Marks, perChannel: Readonly<Record<string, number>>): number[] {
  return marks.map((m) => Object.entries(perChannel).reduce((sum, [channel, events]) => sum + events * (m.subscribers[channel] ?? 0), 0));
}

export class LoadSession {
  readonly spread: Spread;
  private readonly ticks: (Tick | null)[];
  private readonly recorders = new Set<Recorder>();
  private readonly tickListeners = new Set<(snapshot: Snapshot) => void>();
  private readonly startedMs = performance.now();
  private nextId = 1;
  private closed: Promise<Snapshot> | null = null;

  private constructor(
    readonly options: SessionOptions,
    private readonly workers: readonly WorkerChild[],
    spreadResult: Spread,
  ) {
    this.spread = spreadResult;
    this.ticks = workers.map(() => null);
    workers.forEach((worker, index) => worker.onMessage((message) => message.type === 'tick' && this.received(index, message)));
  }

  /** Forks the workers and starts the ramp; resolves once every worker has its plan. */
  static async open(options: SessionOptions): Promise<LoadSession> {
    const shape = spread({
      connections: options.connections,
      workersMin: options.workersMin,
      socketsPerWorkerMax: options.socketsPerWorkerMax,
      perAddressMax: options.perAddressMax,
      addressBlock: options.addressBlock ?? 0,
    });
    const module = childModule('./worker.js', import.meta.url);
    const workers = shape.workers.map((share) => new Child<ToWorker, FromWorker>(`load worker ${share.index}`, module));
    const session = new LoadSession(options, workers, shape);
    try {
      await Promise.all(workers.map((w) => w.next((m): m is Extract<FromWorker, { type: 'ready' }> => m.type === 'ready', READY_TIMEOUT_MS, 'ready')));
      const rampShare = options.rampPerSecond / workers.length;
      shape.workers.forEach((share, i) =>
        workers[i]!.send({
          cmd: 'start',
          plan: {
            url: options.url,
            protocols: options.protocols,
            tokens: options.tokens ?? null,
            first: share.first,
            count: share.count,
            addresses: options.spreadAddresses ? shape.addresses : [],
            channels: options.channels,
            channelsPerConnection: options.channelsPerConnection,
            rampPerSecond: rampShare,
            handshakesInFlightMax: options.handshakesInFlightMax,
            connectTimeoutMs: options.connectTimeoutMs,
            subscribeTimeoutMs: options.subscribeTimeoutMs,
            sampleEvery: options.sampleEvery,
            tickMs: options.tickMs,
          },
        }),
      );
    } catch (error) {
      for (const w of workers) w.kill();
      throw error;
    }
    return session;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** Called after every worker tick with the summed figures. */
  onTick(listener: (snapshot: Snapshot) => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  private received(index: number, tick: Tick): void {
    this.ticks[index] = tick;
    for (const r of this.recorders) {
      addEncoded(r.latency, tick.latency);
      addEncoded(r.connect, tick.connect);
    }
    if (tick.flushId === undefined && this.tickListeners.size > 0) {
      const snapshot = this.snapshot();
      for (const listener of this.tickListeners) listener(snapshot);
    }
  }

  snapshot(): Snapshot {
    return { elapsedMs: performance.now() - this.startedMs, planned: this.options.connections, ...sumTicks(this.ticks) };
  }

  recorder(): Recorder {
    const r: Recorder = { latency: newHistogram(), connect: newHistogram(), stop: () => this.recorders.delete(r) };
    this.recorders.add(r);
    return r;
  }

  /** The first worker failure, if any (a crashed worker ends the run). */
  failure(): Error | null {
    if (this.closed !== null) return null;
    for (const w of this.workers) if (w.failure !== null) return w.failure;
    return null;
  }

  /** Waits until every planned attempt has settled (open and subscribed, or failed); fails if none settles for `stallMs`. */
  async rampDone(stallMs: number): Promise<Snapshot> {
    let settled = -1;
    let progressAt = performance.now();
    for (;;) {
      const failure = this.failure();
      if (failure !== null) throw failure;
      const s = this.snapshot();
      if (s.counts.attempted >= s.planned && s.pending === 0 && this.ticks.every((t) => t !== null)) return s;
      const now = performance.now();
      if (s.counts.attempted - s.pending !== settled) {
        settled = s.counts.attempted - s.pending;
        progressAt = now;
      } else if (now - progressAt > stallMs)
        throw new Error(`ramp stalled: no attempt settled for ${stallMs} ms (${s.counts.attempted}/${s.planned} attempted, ${s.pending} pending)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Every worker reports now: a phase boundary. */
  async mark(): Promise<Marks> {
    const id = this.nextId++;
    const answers = this.workers.map((w) => w.next((m): m is Tick => m.type === 'tick' && m.flushId === id, FLUSH_TIMEOUT_MS, 'flush answer'));
    for (const w of this.workers) w.send({ cmd: 'flush', id });
    return Promise.all(answers);
  }

  /**
   * Arms every worker to report the moment it has received `perWorker[i]` more events than at `marks`;
   * resolves once all are armed, with a function that waits (bounded) for all of them. Its answer is the
   * latest worker's time (hrtime ns), or null when some worker did not get there in time.
   */
  async expect(marks: Marks, perWorker: readonly number[]): Promise<(timeoutMs: number) => Promise<bigint | null>> {
    const id = this.nextId++;
    const reached = this.workers.map((w) =>
      w.next((m): m is Extract<FromWorker, { type: 'reached' }> => m.type === 'reached' && m.id === id, 3_600_000, 'reached'),
    );
    // Abandoned waits are rejected when the run closes; they must not surface as unhandled.
    for (const r of reached) r.catch(() => undefined);
    const armed = this.workers.map((w) =>
      w.next((m): m is Extract<FromWorker, { type: 'armed' }> => m.type === 'armed' && m.id === id, FLUSH_TIMEOUT_MS, 'armed'),
    );
    this.workers.forEach((w, i) => w.send({ cmd: 'expect', id, target: marks[i]!.counts.events + perWorker[i]! }));
    await Promise.all(armed);
    return async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
      const all = Promise.all(reached).then((answers) => answers.reduce((latest, a) => (BigInt(a.atNs) > latest ? BigInt(a.atNs) : latest), 0n));
      try {
        return await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
  }

  /** Closes every connection, stops every worker (killing any that does not stop in time). Idempotent. */
  close(): Promise<Snapshot> {
    this.closed ??= (async () => {
      await Promise.all(
        this.workers.map(async (w, i) => {
          if (!w.running) return;
          const last = w.next((m): m is Tick => m.type === 'tick', STOP_GRACE_MS, 'last tick').catch(() => null);
          await w.stop({ cmd: 'stop' }, STOP_GRACE_MS);
          const tick = await last;
          if (tick !== null) this.ticks[i] = tick;
        }),
      );
      for (const r of [...this.recorders]) r.stop();
      return this.snapshot();
    })();
    return this.closed;
  }

  /** Kills every worker at once (SIGINT on the coordinator, a crash). */
  kill(): void {
    for (const w of this.workers) w.kill();
  }
}
