// The explorer's broker twin: the real MemoryBroker (offsets, prev, exact-or-refused history) behind a
// consumer that can be cut off and a process that can restart, keeping or losing its stream.
//
// Why not sim/broker-sim.ts: its outage backlog and a gateway restart together would hand the new gateway
// events it already got from start()'s replay — the gateway asserts on that (stream offsets only go up).
// Here the consumer keeps one cursor, `through`, per start(), so every event reaches a sink exactly once
// and in order whatever faults overlap. Delivery is scheduled with a latency; every cut-off or restart
// bumps `token`, so deliveries scheduled before it are dropped on arrival and re-sent from the cursor.
//
// A restart with a new epoch swaps in a fresh MemoryBroker (offsets start again at 1). The sink is told
// 'live' before any event of the new stream, so the gateway can see the epoch change first (it would
// otherwise assert on offsets going down).
import { MemoryBroker } from '../../src/adapters/broker-memory.js';
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult } from '../../src/core/ports.js';
import { SimRandom } from '../engine/clock-sim.js';
import type { Prng } from '../engine/prng.js';
import type { Scheduler } from '../engine/scheduler.js';

interface Delivery {
  readonly broker: ExploreBroker;
  readonly token: number;
  readonly event: BrokerEvent;
}

function deliver(d: Delivery): void {
  d.broker.arrive(d.token, d.event);
}

function reopen(b: ExploreBroker): void {
  b.up();
}

export class ExploreBroker implements Broker {
  private inner: MemoryBroker;
  /** Every event of the current stream, in offset order (the run is shorter than MemoryBroker retention). */
  private events: BrokerEvent[] = [];
  private sink: BrokerSink | null = null;
  private token = 0;
  private through = 0;
  private down = false;
  /** Restarts and cut-offs may overlap: the broker is up again when the last one ends. */
  private downUntilMs = 0;
  /** Stream generation: 0 at start, +1 per restart with a new epoch. */
  generation = 0;

  constructor(
    private readonly sched: Scheduler,
    private readonly clock: Clock,
    private readonly rng: Prng,
    /** One-way broker → gateway latency. */
    private readonly latencyMs = 0.5,
  ) {
    this.inner = this.fresh();
  }

  private fresh(): MemoryBroker {
    const b = new MemoryBroker(this.clock, new SimRandom(this.rng.fork(`generation${this.generation}`)));
    this.events = [];
    b.start({ onEvent: (e) => this.appended(e), onStatus: () => undefined });
    return b;
  }

  epoch(): string {
    return this.inner.epoch();
  }

  get headOffset(): number {
    return this.inner.headOffset;
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    this.token++;
    this.through = 0;
    sink.onStatus('connecting');
    if (this.down) return;
    sink.onStatus('live');
    this.resend();
  }

  stop(): void {
    this.sink = null;
    this.token++;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (this.down) {
      this.sched.after(this.latencyMs, done, { ok: false, reason: 'unavailable' } as HistoryResult);
      return;
    }
    this.inner.readHistory(request, (r) => this.sched.after(2 * this.latencyMs, done, r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    if (this.down) return done({ ok: false, reason: 'broker unavailable' });
    this.inner.publish(channel, data, done);
  }

  /** The gateway's consumer is cut off for `durationMs`; it resumes from its cursor. */
  cutOff(durationMs: number): void {
    this.goDown(durationMs, 'consumer cut off');
  }

  /** The broker restarts; with `newEpoch` its stream comes back empty under a new epoch. */
  restart(durationMs: number, newEpoch: boolean): void {
    this.goDown(durationMs, 'broker restart');
    if (!newEpoch) return;
    this.generation++;
    this.inner = this.fresh();
    this.through = 0;
  }

  private goDown(durationMs: number, detail: string): void {
    const untilMs = this.sched.nowMs + durationMs;
    if (untilMs > this.downUntilMs) this.downUntilMs = untilMs;
    this.sched.at(untilMs, reopen, this);
    if (this.down) return;
    this.down = true;
    this.token++;
    this.sink?.onStatus('down', detail);
  }

  up(): void {
    if (!this.down || this.sched.nowMs < this.downUntilMs) return;
    this.down = false;
    this.token++;
    this.sink?.onStatus('live');
    this.resend();
  }

  private appended(e: BrokerEvent): void {
    this.events.push(e);
    if (this.sink !== null && !this.down) this.sched.after(this.latencyMs, deliver, { broker: this, token: this.token, event: e });
  }

  private resend(): void {
    for (const e of this.events) {
      if (e.offset > this.through) this.sched.after(this.latencyMs, deliver, { broker: this, token: this.token, event: e });
    }
  }

  arrive(token: number, e: BrokerEvent): void {
    if (token !== this.token || this.down || this.sink === null || e.offset <= this.through) return;
    this.through = e.offset;
    this.sink.onEvent(e);
  }
}
