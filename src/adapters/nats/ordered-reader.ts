// Reads a whole stream in order: an ephemeral push consumer (no acks, in-memory, one replica) that the
// reader throws away and recreates from the next sequence it needs whenever anything is off — a message out
// of consumer order, silence past the heartbeat deadline, a reconnect, a consumer the server lost. This is
// JetStream's "ordered consumer" pattern, written here rather than taken from the client library because
// the gateway needs to hear within seconds that its feed stopped and to resume within a second of the
// server's return; the library's ordered consumers wait for two missed 30-second heartbeats or retry on a
// 30-second backoff after a reconnect.
//
// The reader keeps no stream position itself: before each (re)creation it asks `prepare` for the first
// sequence to read, so the broker that owns the position also decides what a changed stream means.
import { createInbox, nanos, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, ReplayPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { deliveryInfo, type DeliveryInfo } from './delivery-info.js';

export interface ReaderEvents {
  /** The next message of the stream. Sequences only grow between two calls of `prepare`. */
  onMessage(subject: string, seq: number, data: Uint8Array, info: DeliveryInfo): void;
  /** The consumer runs and nothing is pending: the feed is live. */
  onCaughtUp(): void;
  /** The reader cannot read right now; it keeps retrying. */
  onTrouble(detail: string): void;
  /** The consumer is being recreated, and why (for debug logs). */
  onReset(reason: string): void;
}

export interface ReaderOptions {
  readonly stream: string;
  /** Idle heartbeat the server sends when there is nothing to deliver; silence for 3 of them is trouble. */
  readonly heartbeatMs: number;
}

/** Retry delays after a failed (re)creation: quick at first (a server restarting), then every 2 s. */
const RETRY_MS = [100, 250, 500, 1_000, 2_000];
const SILENT_HEARTBEATS = 3;

export class OrderedReader {
  private readonly inboxPrefix = createInbox();
  private serial = 0;
  private sub: Subscription | null = null;
  private consumerName: string | null = null;
  private expectedConsumerSeq = 1;
  private caughtUp = false;
  private lastHeardMs = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  /** Bumped by every reset: a (re)creation that finishes under an older generation is void. */
  private generation = 0;
  private resetting = false;
  private resetAgain = false;
  /** While the connection is down nothing can be created: no resets until resume(). */
  private suspended = false;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: ReaderOptions,
    /** The first sequence to read (the broker's position + 1); may throw (the reader retries). */
    private readonly prepare: () => Promise<number>,
    private readonly events: ReaderEvents,
  ) {}

  start(): void {
    this.watchdog = setInterval(() => this.checkHeartbeat(), this.options.heartbeatMs);
    this.watchdog.unref();
    this.reset('start');
  }

  stop(): void {
    this.stopped = true;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.sub?.unsubscribe();
    this.sub = null;
    this.dropConsumer();
  }

  /** The connection is lost: stop trying until resume(); requests in flight are abandoned there. */
  suspend(): void {
    this.suspended = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * The connection is back: recreate the consumer now, abandoning any creation still waiting on a request
   * sent before the loss (it would only time out).
   */
  resume(): void {
    this.suspended = false;
    this.resetting = false;
    this.resetAgain = false;
    this.failures = 0;
    this.reset('reconnected');
  }

  /** Throws the consumer away and creates a new one from `prepare()`'s sequence. Coalesces. */
  reset(reason: string): void {
    if (this.stopped || this.suspended) return;
    if (this.resetting) {
      this.resetAgain = true;
      return;
    }
    this.resetting = true;
    this.caughtUp = false;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.events.onReset(reason);
    const generation = ++this.generation;
    this.recreate(generation).then(
      () => this.afterReset(generation, null),
      (error: unknown) => this.afterReset(generation, error as Error),
    );
  }

  private afterReset(generation: number, error: Error | null): void {
    if (generation !== this.generation) return; // abandoned by resume()
    this.resetting = false;
    if (this.stopped || this.suspended) return;
    if (this.resetAgain) {
      this.resetAgain = false;
      this.reset('requested during a reset');
      return;
    }
    if (error === null) {
      this.failures = 0;
      return;
    }
    this.events.onTrouble(`cannot read stream ${this.options.stream}: ${error.message}`);
    const delay = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!;
    this.retryTimer = setTimeout(() => this.reset('retry'), delay);
    this.retryTimer.unref();
  }

  private async recreate(generation: number): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = null;
    this.dropConsumer();
    const startSeq = await this.prepare().catch((error: Error) => {
      throw new Error(`stream info: ${error.message}`);
    });
    if (this.stopped || generation !== this.generation) return;
    const serial = ++this.serial;
    const subject = `${this.inboxPrefix}.${serial}`;
    this.expectedConsumerSeq = 1;
    this.lastHeardMs = Date.now();
    // Subscribe before the consumer exists: it starts pushing the moment it is created.
    this.sub = this.nc.subscribe(subject, { callback: (_error, msg) => this.onMsg(serial, msg) });
    const info = await this.jsm.consumers
      .add(this.options.stream, {
        deliver_subject: subject,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, startSeq),
        replay_policy: ReplayPolicy.Instant,
        flow_control: true,
        idle_heartbeat: nanos(this.options.heartbeatMs),
        mem_storage: true,
        num_replicas: 1,
        // A gateway that vanished without deleting its consumer leaves it for the server to reap.
        inactive_threshold: nanos(Math.max(10_000, 10 * this.options.heartbeatMs)),
      })
      .catch((error: Error) => {
        throw new Error(`creating a consumer: ${error.message}`);
      });
    if (serial !== this.serial || this.stopped || generation !== this.generation) {
      this.deleteConsumer(info.name);
      return;
    }
    this.consumerName = info.name;
    this.lastHeardMs = Date.now();
    if (info.num_pending === 0 && this.expectedConsumerSeq === 1) this.markCaughtUp();
  }

  private onMsg(serial: number, msg: Msg): void {
    if (serial !== this.serial || this.stopped) return; // from a consumer already thrown away
    this.lastHeardMs = Date.now();
    const headers = msg.headers;
    if (headers !== undefined && headers.code > 0 && msg.data.length === 0) return this.onStatusMsg(msg);
    const info = deliveryInfo(msg.reply);
    if (info === null) return;
    if (info.consumerSeq !== this.expectedConsumerSeq) return this.reset(`consumer sequence ${info.consumerSeq}, expected ${this.expectedConsumerSeq}`);
    this.expectedConsumerSeq++;
    this.events.onMessage(msg.subject, info.streamSeq, msg.data, info);
    if (info.pending === 0) this.markCaughtUp();
  }

  /** Flow control, heartbeats, and the server telling us the consumer is gone. */
  private onStatusMsg(msg: Msg): void {
    const headers = msg.headers!;
    const description = headers.description.toLowerCase();
    if (headers.code === 100 && description.includes('flow')) {
      if (msg.reply) msg.respond();
      return;
    }
    if (headers.code === 100 && description.includes('heartbeat')) {
      const lastDelivered = Number(headers.get('Nats-Last-Consumer') || '0');
      // The server delivered more than we received: messages were lost on the way (slow consumer).
      if (lastDelivered > this.expectedConsumerSeq - 1)
        return this.reset(`heartbeat says ${lastDelivered} delivered, ${this.expectedConsumerSeq - 1} received`);
      // A stalled consumer (a flow-control answer went missing) also sends heartbeats: un-stall it, and
      // it is not caught up. Otherwise a heartbeat means idle: nothing left to deliver.
      const stalled = headers.get('Nats-Consumer-Stalled');
      if (stalled) this.nc.publish(stalled);
      else this.markCaughtUp();
      return;
    }
    // 409 "Consumer Deleted" and the like: this consumer will deliver nothing more.
    this.reset(`${headers.code} ${headers.description}`);
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.events.onCaughtUp();
  }

  private checkHeartbeat(): void {
    if (this.stopped || this.suspended || this.resetting || this.nc.isClosed()) return;
    const silentMs = Date.now() - this.lastHeardMs;
    if (this.consumerName === null || silentMs < SILENT_HEARTBEATS * this.options.heartbeatMs) return;
    this.events.onTrouble(`no message or heartbeat from stream ${this.options.stream} for ${Math.round(silentMs / 100) / 10} s`);
    this.reset('heartbeats missed');
  }

  private dropConsumer(): void {
    if (this.consumerName !== null) this.deleteConsumer(this.consumerName);
    this.consumerName = null;
  }

  private deleteConsumer(name: string): void {
    // Best effort: a consumer we cannot delete (server gone) is reaped by its inactivity threshold.
    this.jsm.consumers.delete(this.options.stream, name).catch(() => undefined);
  }
}
