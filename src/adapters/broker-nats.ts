// NATS JetStream as the broker of record (docs/operations.md, "NATS JetStream"). One stream holds every
// channel (subjects = channels); its sequence is the offset, so every gateway instance that reads it sees
// the same offsets, and its name plus creation time is the epoch, so offsets stay valid across gateway
// restarts and between instances. Pieces, one concern each, under ./nats/:
//   connection.ts     servers, credentials, TLS, start-up errors in words
//   stream.ts         create the stream or check it (what differs, what breaks a guarantee), the epoch
//   subjects.ts       which subjects a stream stores, and the filters a history read may use (pure)
//   ordered-reader.ts the whole stream in order, resumed from the next sequence after any trouble
//   prev-tracker.ts   `prev` per channel from what the reader saw, bounded
//   history-reader.ts subject-filtered reads from the stream, exact or refused
//
// Status: 'connecting' until the first read catches up with the stream, 'live' while it keeps up, 'down'
// (with why) while the connection is lost or the stream cannot be read; the gateway turns that into /ready.
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Broker, BrokerSink, BrokerStatus, HistoryRequest, HistoryResult, LogLevel, PublishResult, Telemetry } from '../core/ports.js';
import { connectNats, NatsStartError, serversShown, type NatsConnectionSettings } from './nats/connection.js';
import type { DeliveryInfo } from './nats/delivery-info.js';
import { HistoryReader } from './nats/history-reader.js';
import { NATS_METRICS } from './nats/metrics.js';
import { OrderedReader } from './nats/ordered-reader.js';
import { payloadAsJson } from './nats/payload.js';
import { PrevTracker } from './nats/prev-tracker.js';
import { defaultStreamSettings, ensureStream, epochOf, type StreamSettings } from './nats/stream.js';
import { streamStores } from './nats/subjects.js';

export { NatsStartError } from './nats/connection.js';
export { StreamConfigError, defaultStreamSettings, type StreamSettings } from './nats/stream.js';

export interface NatsBrokerOptions extends NatsConnectionSettings {
  readonly stream?: StreamSettings;
  /** The first read starts at most this many messages before the head: enough to warm the rings. At
   * least 1: the newest retained event tells the gateway where the stream's head is. */
  readonly warmupEventsMax?: number;
  /** Channels whose last offset is remembered for `prev`; beyond it the least recent is forgotten. */
  readonly subjectsMax?: number;
  /** Idle heartbeat of the stream consumer; three silent ones mark the broker down. */
  readonly heartbeatMs?: number;
  /** Bound on each JetStream request (stream info, consumer creation, publish acknowledgement, history). */
  readonly requestTimeoutMs?: number;
  /** History reads running at once; as many again may wait, more are answered unavailable. */
  readonly historyReadsMax?: number;
  readonly log?: (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** Where the consumer's lag and the publish→fan-out latency go (./nats/metrics.ts). */
  readonly metrics?: Pick<Telemetry, 'gauge' | 'observe'>;
}

/** What /health and /ready show about the broker. */
export interface BrokerDescription {
  readonly kind: 'nats';
  readonly status: BrokerStatus;
  readonly detail: string | null;
  readonly servers: string;
  readonly stream: string;
  readonly epoch: string;
  /** The last stream sequence read. */
  readonly offset: number;
}

const READER_REQUEST_TIMEOUT_MS = 2_000;

const defaults = { warmupEventsMax: 100_000, subjectsMax: 100_000, heartbeatMs: 1_000, requestTimeoutMs: 5_000, historyReadsMax: 8 };

/**
 * Connects, ensures the stream, and returns the broker ready to start. Throws NatsStartError (unreachable,
 * refused credentials, no JetStream) or StreamConfigError (the stream breaks a guarantee), each one line.
 */
export async function openNatsBroker(options: NatsBrokerOptions): Promise<NatsBroker> {
  const nc = await connectNats(options);
  const timeout = options.requestTimeoutMs ?? defaults.requestTimeoutMs;
  const stream = options.stream ?? defaultStreamSettings;
  try {
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout });
    } catch (error) {
      throw new NatsStartError(
        `JetStream is not available at ${serversShown(options.servers)} (${(error as Error).message}); start nats-server with -js (--jetstream)`,
        { cause: error },
      );
    }
    const ensured = await ensureStream(jsm, stream);
    const log = options.log ?? (() => undefined);
    if (ensured.created)
      log('info', `created stream ${stream.name}`, {
        subjects: stream.subjects,
        maxAgeMs: stream.maxAgeMs,
        maxMsgs: stream.maxMsgs,
        maxBytes: stream.maxBytes,
        storage: stream.storage,
        replicas: stream.replicas,
      });
    for (const difference of ensured.differences) log('warn', `stream ${stream.name} differs from the configuration: ${difference}`);
    // The reader's own requests (stream info, consumer creation) get a shorter deadline: while a cluster
    // elects a new leader they go unanswered, and retrying every 2 s finds the new leader sooner than
    // waiting out the full request timeout each time.
    const readerJsm = await jetstreamManager(nc, { timeout: Math.min(timeout, READER_REQUEST_TIMEOUT_MS), checkAPI: false });
    return new NatsBroker(nc, jsm, readerJsm, jetstream(nc, { timeout }), ensured.info, { ...options, stream });
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}

export class NatsBroker implements Broker {
  private epochId: string;
  private streamSubjects: readonly string[];
  private tracker: PrevTracker;
  private reader: OrderedReader | null = null;
  private readonly history: HistoryReader;
  private sink: BrokerSink | null = null;
  private status: BrokerStatus = 'connecting';
  private detail: string | null = null;
  private connected = true;
  private stopped = false;
  private closing: Promise<void> | null = null;
  private readonly settings: Required<Omit<NatsBrokerOptions, keyof NatsConnectionSettings | 'log' | 'metrics'>>;
  private readonly log: NonNullable<NatsBrokerOptions['log']>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    /** The same, with the reader's shorter request deadline. */
    private readonly readerJsm: JetStreamManager,
    private readonly js: JetStreamClient,
    info: StreamInfo,
    private readonly options: NatsBrokerOptions & { readonly stream: StreamSettings },
  ) {
    this.settings = {
      stream: options.stream,
      warmupEventsMax: options.warmupEventsMax ?? defaults.warmupEventsMax,
      subjectsMax: options.subjectsMax ?? defaults.subjectsMax,
      heartbeatMs: options.heartbeatMs ?? defaults.heartbeatMs,
      requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
      historyReadsMax: options.historyReadsMax ?? defaults.historyReadsMax,
    };
    this.log = options.log ?? (() => undefined);
    this.epochId = epochOf(info);
    this.streamSubjects = info.config.subjects ?? [];
    this.tracker = this.trackerFor(info);
    const name = options.stream.name;
    this.history = new HistoryReader(
      nc,
      jsm,
      { stream: name, timeoutMs: this.settings.requestTimeoutMs, concurrentMax: this.settings.historyReadsMax, queuedMax: 64 * this.settings.historyReadsMax },
      () => this.streamSubjects,
      (message) => this.log('warn', message),
    );
  }

  epoch(): string {
    return this.epochId;
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    this.stopped = false;
    sink.onStatus('connecting');
    this.watchConnection();
    this.reader = new OrderedReader(
      this.nc,
      this.readerJsm,
      { stream: this.settings.stream.name, heartbeatMs: this.settings.heartbeatMs },
      () => this.nextSeq(),
      {
        onMessage: (subject, seq, data, info) => this.onMessage(subject, seq, data, info),
        onCaughtUp: () => this.setStatus('live', null),
        onTrouble: (detail) => {
          this.log('debug', detail);
          this.setStatus('down', detail);
        },
        onReset: (reason) => this.log('debug', `stream consumer recreated: ${reason}`),
      },
    );
    this.reader.start();
  }

  stop(): void {
    this.stopped = true;
    this.sink = null;
    this.reader?.stop();
    this.reader = null;
    this.closing ??= this.nc.close().catch(() => undefined);
  }

  /** stop(), and resolves once the connection is closed. */
  close(): Promise<void> {
    this.stop();
    return this.closing!;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (!this.connected || this.stopped) return done({ ok: false, reason: 'unavailable' });
    this.history.read(request, done);
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    const refusal = this.channelProblem(channel);
    if (refusal !== null) return done({ ok: false, reason: refusal, outsideStream: true });
    if (!this.connected || this.stopped) return done({ ok: false, reason: `NATS unavailable: ${this.detail ?? 'not connected'}` });
    const epoch = this.epochId;
    this.js.publish(channel, data, { expect: { streamName: this.settings.stream.name }, timeout: this.settings.requestTimeoutMs }).then(
      (ack) => done({ ok: true, epoch, offset: ack.seq }),
      (error: Error) => done({ ok: false, reason: `NATS did not store the event: ${error.message}` }),
    );
  }

  /** Why the stream will not take `channel`, or null: a refusal that names the stream's subjects. */
  channelProblem(channel: string): string | null {
    if (streamStores(channel, this.streamSubjects)) return null;
    return `channel "${channel.slice(0, 64)}" is outside stream ${this.settings.stream.name}, which stores ${this.streamSubjects.join(', ')}`;
  }

  describe(): BrokerDescription {
    return {
      kind: 'nats',
      status: this.status,
      detail: this.detail,
      servers: serversShown(this.options.servers),
      stream: this.settings.stream.name,
      epoch: this.epochId,
      offset: this.tracker.lastSeq,
    };
  }

  // ---- reading ------------------------------------------------------------------------------------

  /**
   * Where the first read starts: the stream's first retained message, or `warmupEventsMax` before the
   * head when the stream holds more. Reading what is retained warms the rings, so a client that resumes
   * right after a gateway restart is answered from memory; the bound keeps start-up time in proportion.
   * At least the newest event is read: until the gateway has read one, it does not know the head, and
   * its subscribe replies would carry offset 0.
   */
  private startSeqOf(info: StreamInfo): number {
    const { first_seq: first, last_seq: last } = info.state;
    return Math.max(first, last - Math.max(1, this.settings.warmupEventsMax) + 1, 1);
  }

  private trackerFor(info: StreamInfo): PrevTracker {
    return new PrevTracker(this.startSeqOf(info), info.state.first_seq, this.settings.subjectsMax);
  }

  /**
   * Before each consumer (re)creation: the next sequence to read. A stream that was deleted is created
   * again; a stream with another creation time is a new timeline — new epoch, `prev` knowledge dropped,
   * read from its start (the gateway sees the epoch change and restarts its sessions).
   */
  private async nextSeq(): Promise<number> {
    let info: StreamInfo;
    try {
      info = await this.readerJsm.streams.info(this.settings.stream.name);
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
      this.log('warn', `stream ${this.settings.stream.name} is gone; creating it again (a new epoch)`);
      info = (await ensureStream(this.jsm, this.settings.stream)).info;
    }
    const epoch = epochOf(info);
    if (epoch !== this.epochId) {
      this.log('warn', 'the stream was recreated: new epoch', { from: this.epochId, to: epoch });
      this.epochId = epoch;
      this.streamSubjects = info.config.subjects ?? [];
      this.tracker = this.trackerFor(info);
      return this.startSeqOf(info);
    }
    return this.tracker.lastSeq > 0 ? this.tracker.lastSeq + 1 : this.startSeqOf(info);
  }

  private onMessage(subject: string, seq: number, data: Uint8Array, info: DeliveryInfo): void {
    if (this.sink === null) return;
    this.measure(info);
    if (seq <= this.tracker.lastSeq) {
      // Offsets must only grow (the core relies on it); a stream that went backwards without a new
      // creation time (restored from a backup?) is not something to fan out.
      this.log('error', `stream ${this.settings.stream.name} delivered sequence ${seq} after ${this.tracker.lastSeq}; ignored`);
      return;
    }
    const prev = this.tracker.next(subject, seq);
    this.sink.onEvent({ channel: subject, offset: seq, prev, data: payloadAsJson(data) });
  }

  /**
   * Lag and latency. The latency counts live reads only: while catching up (start-up, after an outage)
   * the age of old events says how long the gateway was away, not how fast it delivers. It compares the
   * NATS server's clock with this host's: clock skew between them shows up here (clamped at 0).
   */
  private measure(info: DeliveryInfo): void {
    const metrics = this.options.metrics;
    if (metrics === undefined) return;
    metrics.gauge(NATS_METRICS.pending, info.pending);
    if (this.status === 'live' && info.storedAtMs !== null) metrics.observe(NATS_METRICS.eventAge, Math.max(0, Date.now() - info.storedAtMs) / 1000);
  }

  private setStatus(status: BrokerStatus, detail: string | null): void {
    if (this.stopped) return;
    if (status === 'live' && !this.connected) return;
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail;
    this.sink?.onStatus(status, detail ?? undefined);
  }

  /** Connection loss and return, from the client's status stream. */
  private watchConnection(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (this.stopped) return;
        switch (s.type) {
          case 'disconnect':
            this.connected = false;
            this.reader?.suspend();
            this.setStatus('down', `connection to NATS lost (${s.server})`);
            break;
          case 'reconnect':
            this.connected = true;
            this.log('info', `reconnected to NATS at ${s.server}; resuming the stream after ${this.tracker.lastSeq}`);
            this.reader?.resume();
            break;
          case 'ldm':
            this.log('warn', `NATS server ${s.server} is entering lame duck mode; the client will move to another server`);
            break;
          default:
        }
      }
    })();
  }
}
