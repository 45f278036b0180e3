// The explorer's broker twin: the real MemoryBroker (offsets, prev, exact-or-refused history) as one
// stream, read by one consumer per gateway instance. Each consumer can be cut off on its own (a partition
// between that gateway and the broker); the broker process can restart, keeping or losing its stream.
//
// Why not sim/broker-sim.ts: its outage backlog and a gateway restart together would hand the new gateway
// events it already got from start()'s replay — the gateway asserts on that (stream offsets only go up) —
// and it has one sink, where two gateway instances read one stream here. A consumer keeps one cursor,
// `through`, per start(), so every event reaches its sink exactly once and in order whatever faults
// overlap. Delivery is scheduled with a latency; every cut-off or restart bumps the consumer's `token`, so
// deliveries scheduled before it are dropped on arrival and re-sent from the cursor.
//
// A restart with a new epoch swaps in a fresh MemoryBroker (offsets start again at 1). Sinks are told
// 'live' before any event of the new stream, so a gateway sees the epoch change first (it would otherwise
// assert on offsets going down).
import { MemoryBroker } from '../../src/adapters/broker-memory.js';
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult } from '../../src/core/ports.js';
import { SimRandom } from '../engine/clock-sim.js';
import type { Prng } from '../engine/prng.js';
import type { Scheduler } from '../engine/scheduler.js';

interface Delivery {
  readonly consumer: BrokerConsumer;
  readonly token: number;
  readonly event: BrokerEvent;
}

function deliver(d: Delivery): void {
  d.consumer.arrive(d.token, d.event);
}

/** Ends a down spell when its last overlapping cause has ended. */
class DownSpell {
  untilMs = 0;
  get active(): boolean {
    return this.untilMs > 0;
  }
}

export class ExploreBroker {
  private inner: MemoryBroker;
  /** Every event of the current stream, in offset order (the run is shorter than MemoryBroker retention). */
  events: BrokerEvent[] = [];
  private readonly consumers: BrokerConsumer[] = [];
  private readonly spell = new DownSpell();
  /** Stream generation: 0 at start, +1 per restart with a new epoch. */
  generation = 0;

  constructor(
    readonly sched: Scheduler,
    private readonly clock: Clock,
    private readonly rng: Prng,
    /** One-way broker → gateway latency. */
    readonly latencyMs = 0.5,
  ) {
    this.inner = this.fresh();
  }

  private fresh(): MemoryBroker {
    const b = new MemoryBroker(this.clock, new SimRandom(this.rng.fork(`generation${this.generation}`)));
    this.events = [];
    b.start({ onEvent: (e) => this.appended(e), onStatus: () => undefined });
    return b;
  }

  /** The Broker port for one gateway instance. */
  consumer(): BrokerConsumer {
    const c = new BrokerConsumer(this);
    this.consumers.push(c);
    return c;
  }

  get down(): boolean {
    return this.spell.active;
  }

  epoch(): string {
    return this.inner.epoch();
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.inner.readHistory(request, (r) => this.sched.after(2 * this.latencyMs, done, r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    if (this.down) return done({ ok: false, reason: 'broker unavailable' });
    this.inner.publish(channel, data, done);
  }

  /** The broker restarts; with `newEpoch` its stream comes back empty under a new epoch. */
  restart(durationMs: number, newEpoch: boolean): void {
    const wasDown = this.down;
    extend(this.sched, this.spell, durationMs, () => {
      for (const c of this.consumers) c.recheck();
    });
    if (!wasDown) for (const c of this.consumers) c.recheck();
    if (!newEpoch) return;
    this.generation++;
    this.inner = this.fresh();
    for (const c of this.consumers) c.rewind();
  }

  private appended(e: BrokerEvent): void {
    this.events.push(e);
    for (const c of this.consumers) c.push(e);
  }
}

/** Extends a down spell to now + durationMs and schedules its end check. */
function extend(sched: Scheduler, spell: DownSpell, durationMs: number, ended: () => void): void {
  const untilMs = sched.nowMs + durationMs;
  if (untilMs > spell.untilMs) spell.untilMs = untilMs;
  sched.at(untilMs, () => {
    if (spell.active && sched.nowMs >= spell.untilMs) {
      spell.untilMs = 0;
      ended();
    }
  }, null);
}

/** One gateway's view of the stream: the Broker port it is given. */
export class BrokerConsumer implements Broker {
  private sink: BrokerSink | null = null;
  private token = 0;
  private through = 0;
  private readonly cut = new DownSpell();
  /** What the sink was last told. */
  private live = false;

  constructor(private readonly stream: ExploreBroker) {}

  private get down(): boolean {
    return this.stream.down || this.cut.active;
  }

  epoch(): string {
    return this.stream.epoch();
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    this.token++;
    this.through = 0;
    this.live = false;
    sink.onStatus('connecting');
    this.recheck();
  }

  stop(): void {
    this.sink = null;
    this.token++;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (this.down) {
      this.stream.sched.after(this.stream.latencyMs, done, { ok: false, reason: 'unavailable' } as HistoryResult);
      return;
    }
    this.stream.readHistory(request, done);
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    if (this.cut.active) return done({ ok: false, reason: 'broker unreachable' });
    this.stream.publish(channel, data, done);
  }

  /** This gateway is cut off from the broker for `durationMs`; it resumes from its cursor. */
  cutOff(durationMs: number): void {
    extend(this.stream.sched, this.cut, durationMs, () => this.recheck());
    this.recheck();
  }

  /** Tells the sink about a change of reachability; on the way up, re-sends from the cursor. */
  recheck(): void {
    this.token++;
    const sink = this.sink;
    if (sink === null) return;
    if (this.down) {
      if (this.live) sink.onStatus('down', this.stream.down ? 'broker restart' : 'consumer cut off');
      this.live = false;
      return;
    }
    if (!this.live) sink.onStatus('live');
    this.live = true;
    for (const e of this.stream.events) if (e.offset > this.through) this.schedule(e);
  }

  /** A new stream: the cursor starts again (the sink hears 'live' with the new epoch before any event). */
  rewind(): void {
    this.through = 0;
    this.token++;
  }

  push(e: BrokerEvent): void {
    if (this.sink !== null && !this.down) this.schedule(e);
  }

  private schedule(e: BrokerEvent): void {
    this.stream.sched.after(this.stream.latencyMs, deliver, { consumer: this, token: this.token, event: e });
  }

  arrive(token: number, e: BrokerEvent): void {
    if (token !== this.token || this.down || this.sink === null || e.offset <= this.through) return;
    this.through = e.offset;
    this.sink.onEvent(e);
  }
}
