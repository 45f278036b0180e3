// The simulated twin of the broker (src/adapters/broker-memory.ts, and the JetStream broker it stands in
// for, docs/design.md "JetStream mapping"): the real MemoryBroker — offsets, prev, retention, history
// answers that are exact or refused — as one stream on virtual time, plus what a networked broker adds.
// Each gateway instance reads it through its own consumer (the Broker port), which:
//
//   - delivers every event with a latency, exactly once per start() and in order: it keeps one cursor,
//     `through`, and resumes from it after any fault (a JetStream ordered consumer);
//   - starts at the oldest retained event ('all') or at the head ('new': older events come through
//     readHistory) — JetStream's DeliverPolicy of the same names;
//   - can be cut off on its own (a partition between that gateway and the broker).
//
// The broker process itself can be unreachable for everyone (an outage), or restart keeping its stream or
// losing it (a new epoch: a fresh stream, offsets from 1). Every cut-off or restart bumps each affected
// consumer's `token`, so deliveries scheduled before it are dropped on arrival and sent again from the
// cursor; events that left the stream's retention meanwhile are gone (counted in expiredDuringOutage:
// clients get gap notices or recovered:false for them, never silence). Sinks hear 'live' before any event
// of a new stream, so a gateway sees the epoch change first (it would otherwise assert on offsets going
// down). Used by the scenarios (one gateway, or several on one stream) and by the explorer (faults).
import { MemoryBroker, type MemoryBrokerRetention, defaultRetention } from '../../src/adapters/broker-memory.js';
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult, Random } from '../../src/core/ports.js';
import type { Scheduler } from '../engine/scheduler.js';

export interface SimBrokerSpec {
  /** One-way broker → gateway latency. */
  readonly latencyMs?: number;
  readonly retention?: MemoryBrokerRetention;
}

/** Where a new consumer starts: the oldest retained event, or the head (JetStream's DeliverPolicy). */
export type DeliverPolicy = 'all' | 'new';

/** Ends a down spell when its last overlapping cause has ended. */
class DownSpell {
  untilMs = 0;
  get active(): boolean {
    return this.untilMs > 0;
  }
}

/** Extends a down spell to now + durationMs and schedules its end check. */
function extend(sched: Scheduler, spell: DownSpell, durationMs: number, ended: () => void): void {
  const untilMs = sched.nowMs + durationMs;
  if (untilMs > spell.untilMs) spell.untilMs = untilMs;
  sched.at(
    untilMs,
    () => {
      if (spell.active && sched.nowMs >= spell.untilMs) {
        spell.untilMs = 0;
        ended();
      }
    },
    null,
  );
}

export class SimBroker {
  private inner: MemoryBroker;
  private readonly consumers: SimBrokerConsumer[] = [];
  private readonly spell = new DownSpell();
  readonly latencyMs: number;
  /** Stream generation: 0 at start, +1 per restart with a new epoch. */
  generation = 0;
  /** Events that left the stream's retention before a cut-off consumer could read them. */
  expiredDuringOutage = 0;

  constructor(
    readonly sched: Scheduler,
    private readonly clock: Clock,
    /** The randomness behind each generation's epoch id. */
    private readonly epochRandom: (generation: number) => Random,
    private readonly spec: SimBrokerSpec = {},
  ) {
    this.latencyMs = spec.latencyMs ?? 0.5;
    this.inner = this.fresh();
  }

  private fresh(): MemoryBroker {
    const b = new MemoryBroker(this.clock, this.epochRandom(this.generation), this.spec.retention ?? defaultRetention);
    b.start({ onEvent: (e) => this.appended(e), onStatus: () => undefined });
    return b;
  }

  /** The Broker port for one gateway instance. */
  consumer(deliver: DeliverPolicy = 'all'): SimBrokerConsumer {
    const c = new SimBrokerConsumer(this, deliver);
    this.consumers.push(c);
    return c;
  }

  /** The broker process is unreachable (restarting). */
  get down(): boolean {
    return this.spell.active;
  }

  /** True while the broker is down or any consumer is cut off from it. */
  get isDown(): boolean {
    return this.down || this.consumers.some((c) => c.isCutOff);
  }

  epoch(): string {
    return this.inner.epoch();
  }

  get headOffset(): number {
    return this.inner.headOffset;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void, latencyMs = this.latencyMs): void {
    this.inner.readHistory(request, (r) => this.sched.after(2 * latencyMs, done, r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    if (this.down) return done({ ok: false, reason: 'broker unavailable' });
    this.inner.publish(channel, data, done);
  }

  /** Visits the retained events after `offset`, in order: what a consumer resuming there reads. */
  forEachRetained(offset: number, visit: (event: BrokerEvent) => void): void {
    this.inner.forEachRetained(offset, visit);
  }

  /**
   * The gateways lose the broker for `durationMs`: status 'down', history reads fail. With
   * `publishersReach`, only the gateways' path is cut (publishers still store events, which the gateways
   * read from their cursors on recovery); without, the broker is unreachable for everyone.
   */
  outage(durationMs: number, publishersReach = true): void {
    if (!publishersReach) return this.restart(durationMs, false);
    for (const c of this.consumers) c.cutOff(durationMs);
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
    for (const c of this.consumers) c.push(e);
  }
}

interface Delivery {
  readonly consumer: SimBrokerConsumer;
  readonly token: number;
  readonly event: BrokerEvent;
}

function deliver(d: Delivery): void {
  d.consumer.arrive(d.token, d.event);
}

/** One gateway's view of the stream: the Broker port it is given. */
export class SimBrokerConsumer implements Broker {
  private sink: BrokerSink | null = null;
  private token = 0;
  private through = 0;
  private readonly cut = new DownSpell();
  /** What the sink was last told; and whether it has been live since start() (a later 'live' resumes). */
  private live = false;
  private started = false;

  constructor(
    private readonly stream: SimBroker,
    private readonly deliverPolicy: DeliverPolicy,
    private readonly latencyMs = stream.latencyMs,
  ) {}

  get isCutOff(): boolean {
    return this.cut.active;
  }

  private get down(): boolean {
    return this.stream.down || this.cut.active;
  }

  epoch(): string {
    return this.stream.epoch();
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    this.token++;
    this.through = this.deliverPolicy === 'new' ? this.stream.headOffset : 0;
    this.live = false;
    this.started = false;
    sink.onStatus('connecting');
    this.recheck();
  }

  stop(): void {
    this.sink = null;
    this.token++;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (this.down) {
      this.stream.sched.after(this.latencyMs, done, { ok: false, reason: 'unavailable' });
      return;
    }
    this.stream.readHistory(request, done, this.latencyMs);
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

  /** Tells the sink about a change of reachability; on the way up, sends again from the cursor. */
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
    const resuming = this.started;
    this.started = true;
    let sent = 0;
    this.stream.forEachRetained(this.through, (e) => {
      sent++;
      this.schedule(e);
    });
    // Offsets are dense over the stream: what lies between the cursor and the head but was not sent has
    // left the retention while this consumer could not read.
    if (resuming) this.stream.expiredDuringOutage += this.stream.headOffset - this.through - sent;
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
    this.stream.sched.after(this.latencyMs, deliver, { consumer: this, token: this.token, event: e });
  }

  arrive(token: number, e: BrokerEvent): void {
    if (token !== this.token || this.down || this.sink === null || e.offset <= this.through) return;
    this.through = e.offset;
    this.sink.onEvent(e);
  }
}
