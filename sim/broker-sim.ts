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

function deliver(d: Delivery): void {
  d.broker.deliverNow(d.event);
}

export class SimBroker implements Broker {
  private readonly inner: MemoryBroker;
  private sink: BrokerSink | null = null;
  private down = false;
  /** Events published while the gateway's consumer was cut off, delivered on recovery (resume from sequence). */
  private backlog: BrokerEvent[] = [];

  constructor(
    private readonly sched: Scheduler,
    clock: Clock,
    random: Random,
    /** One-way broker → gateway latency. */
    private readonly latencyMs = 0.5,
    retention: MemoryBrokerRetention = defaultRetention,
  ) {
    this.inner = new MemoryBroker(clock, random, retention);
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
    if (this.down) {
      done({ ok: false, reason: 'broker unavailable' });
      return;
    }
    this.inner.publish(channel, data, done);
  }

  /** Cuts the gateway off for `durationMs`: status 'down', publishes fail, then resume in order. */
  outage(durationMs: number): void {
    this.down = true;
    this.sink?.onStatus('down', 'simulated outage');
    this.sched.after(durationMs, (b: SimBroker) => b.recover(), this);
  }

  private recover(): void {
    this.down = false;
    this.sink?.onStatus('live');
    const pending = this.backlog;
    this.backlog = [];
    for (const e of pending) this.route(e);
  }

  private route(e: BrokerEvent): void {
    if (this.down) {
      this.backlog.push(e);
      return;
    }
    this.sched.after(this.latencyMs, deliver, { broker: this, event: e });
  }

  deliverNow(e: BrokerEvent): void {
    this.sink?.onEvent(e);
  }
}
