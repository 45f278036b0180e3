// The simulated broker: the real in-memory broker (src/adapters/broker-memory.ts, pure apart from its
// Clock and Random ports) on virtual time, plus what a networked broker adds: delivery latency to the
// gateway, and outages (broker-outage story) during which publishes fail and the gateway sees 'down'.
import { MemoryBroker, type MemoryBrokerRetention, defaultRetention } from '../src/adapters/broker-memory.js';
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult, Random } from '../src/core/ports.js';
import type { Scheduler } from './engine/scheduler.js';

interface Delivery {
  readonly broker: SimBroker;
  readonly event: BrokerEvent;
}

interface Held {
  readonly event: BrokerEvent;
  readonly atMs: number;
}

function deliver(d: Delivery): void {
  d.broker.deliverNow(d.event);
}

export class SimBroker implements Broker {
  private readonly inner: MemoryBroker;
  private sink: BrokerSink | null = null;
  private down = false;
  /** During an outage: can publishers still reach the broker (only the gateway is cut off)? */
  private publishersReach = true;
  /** Events published while the gateway's consumer was cut off, delivered on recovery (resume from sequence). */
  private backlog: Held[] = [];
  private readonly retentionAgeMs: number;
  /** Events that expired from the stream before the cut-off consumer could read them. */
  expiredDuringOutage = 0;

  constructor(
    private readonly sched: Scheduler,
    clock: Clock,
    random: Random,
    /** One-way broker → gateway latency. */
    private readonly latencyMs = 0.5,
    retention: MemoryBrokerRetention = defaultRetention,
  ) {
    this.inner = new MemoryBroker(clock, random, retention);
    this.retentionAgeMs = retention.ageMs;
  }

  /** True while the gateway is cut off. */
  get isDown(): boolean {
    return this.down;
  }

  epoch(): string {
    return this.inner.epoch();
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    this.inner.start({
      onEvent: (e) => this.route(e),
      onStatus: (s, d) => sink.onStatus(s, d),
    });
  }

  stop(): void {
    this.sink = null;
    this.inner.stop();
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (this.down) {
      this.sched.after(this.latencyMs, (r: HistoryResult) => done(r), { ok: false, reason: 'unavailable' } as HistoryResult);
      return;
    }
    this.inner.readHistory(request, (r) => this.sched.after(2 * this.latencyMs, done, r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    if (this.down && !this.publishersReach) {
      done({ ok: false, reason: 'broker unavailable' });
      return;
    }
    this.inner.publish(channel, data, done);
  }

  /**
   * Cuts the gateway off for `durationMs`: status 'down', history reads fail; publishes keep working when
   * `publishersReach` (only the gateway's path is broken), else they fail too. On recovery the consumer
   * resumes from its last sequence; events older than the retention age are gone by then.
   */
  outage(durationMs: number, publishersReach = true): void {
    this.down = true;
    this.publishersReach = publishersReach;
    this.sink?.onStatus('down', 'simulated outage');
    this.sched.after(durationMs, (b: SimBroker) => b.recover(), this);
  }

  private recover(): void {
    this.down = false;
    this.sink?.onStatus('live');
    const pending = this.backlog;
    this.backlog = [];
    const cutoffMs = this.sched.nowMs - this.retentionAgeMs;
    for (const h of pending) {
      if (h.atMs <= cutoffMs) this.expiredDuringOutage++;
      else this.route(h.event);
    }
  }

  private route(e: BrokerEvent): void {
    if (this.down) {
      this.backlog.push({ event: e, atMs: this.sched.nowMs });
      return;
    }
    this.sched.after(this.latencyMs, deliver, { broker: this, event: e });
  }

  deliverNow(e: BrokerEvent): void {
    this.sink?.onEvent(e);
  }
}

/**
 * One stream read by several gateway instances (rolling-restart): one MemoryBroker, and one consumer view
 * per instance. Each view delivers every event published after it started, with its own latency; history
 * reads go to the shared stream, so every instance computes the same offsets and prev (DESIGN §2).
 */
export class SimStream {
  readonly inner: MemoryBroker;
  private readonly views = new Set<SimStreamView>();

  constructor(
    readonly sched: Scheduler,
    clock: Clock,
    random: Random,
    retention: MemoryBrokerRetention = defaultRetention,
  ) {
    this.inner = new MemoryBroker(clock, random, retention);
    this.inner.start({
      onEvent: (e) => {
        for (const v of this.views) v.route(e);
      },
      onStatus: () => undefined,
    });
  }

  /** A consumer for one gateway instance. */
  consumer(latencyMs = 0.5): SimStreamView {
    return new SimStreamView(this, latencyMs);
  }

  attach(v: SimStreamView): void {
    this.views.add(v);
  }

  detach(v: SimStreamView): void {
    this.views.delete(v);
  }
}

function deliverView(d: { readonly view: SimStreamView; readonly event: BrokerEvent }): void {
  d.view.deliverNow(d.event);
}

export class SimStreamView implements Broker {
  private sink: BrokerSink | null = null;

  constructor(
    private readonly stream: SimStream,
    private readonly latencyMs: number,
  ) {}

  epoch(): string {
    return this.stream.inner.epoch();
  }

  /** Starts at the stream head (a new ordered consumer); older events come through readHistory. */
  start(sink: BrokerSink): void {
    this.sink = sink;
    this.stream.attach(this);
    sink.onStatus('live');
  }

  stop(): void {
    this.sink = null;
    this.stream.detach(this);
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.stream.inner.readHistory(request, (r) => this.stream.sched.after(2 * this.latencyMs, done, r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    this.stream.inner.publish(channel, data, done);
  }

  route(e: BrokerEvent): void {
    this.stream.sched.after(this.latencyMs, deliverView, { view: this, event: e });
  }

  deliverNow(e: BrokerEvent): void {
    this.sink?.onEvent(e);
  }
}
