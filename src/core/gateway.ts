// The gateway core: sans-IO. Inputs arrive as calls named for what happened (open, onMessage,
// onBrokerEvent via the broker sink, onWritable, onPong, onClosed); effects leave through the ports.
// Nothing here touches sockets, timers or the wall clock directly (DESIGN §1).
import { AdmissionControl, computeCapacity, type Admission, type AdmissionTicket, type CapacityInput, type PeerInfo } from './admission.js';
import { assert } from './assert.js';
import { ChannelIndex } from './channel-index.js';
import { decodeClientMessage, encodeEvent, encodeMessage } from './codec.js';
import { History, type EventRecord } from './history.js';
import { M } from './metrics.js';
import type { ChannelClass, GatewayOptions, Priority } from './options.js';
import { priorityRank } from './outbound-queue.js';
import type { Broker, BrokerEvent, BrokerStatus, Clock, Connection, Frame, Labels, Random, Telemetry } from './ports.js';
import {
  channelNameProblem,
  closeReasonWithRetry,
  CloseCodes,
  isPattern,
  subjectMatches,
  type ChannelState,
  type ClientMessage,
  type ErrorCode,
  type Position,
  type RecoveryFailure,
  type ReplayMessage,
  type ServerMessage,
  type SessionLimits,
  type SubscribeMessage,
  type UnsubscribeMessage,
} from './protocol.js';
import { Session, type Subscription } from './session.js';
import { TokenBucket } from './token-bucket.js';

export type { Admission, AdmissionTicket, CapacityInput, PeerInfo } from './admission.js';

export interface GatewayPorts {
  readonly clock: Clock;
  readonly random: Random;
  readonly broker: Broker;
  readonly telemetry: Telemetry;
}

export type PublishOutcome =
  | { readonly ok: true; readonly epoch: string; readonly offset: number }
  | { readonly ok: false; readonly status: 400 | 503; readonly code: string; readonly message: string };

/** How a drain ended: sessions that closed before the deadline, and stragglers terminated at it. */
export interface DrainOutcome {
  readonly closed: number;
  readonly terminated: number;
}

export interface LoadSample {
  readonly eventLoopDelayMs: number;
  readonly eventLoopUtilization: number;
}

/** With no resource information, capacity is the configured maximum. */
const UNBOUNDED: Omit<CapacityInput, 'configuredMax'> = {
  memoryBudgetBytes: null,
  baselineBytes: 0,
  retainedBytes: 0,
  perConnectionBytes: 1,
  fdLimit: null,
  fdReserve: 0,
};

const DEFAULT_CLASS: ChannelClass = { pattern: '>', priority: 'normal', conflate: false };
const HOUSEKEEPING_MS = 1_000;

/** Outcome of resolving one channel of a subscribe request. */
interface Resolution {
  readonly state: ChannelState;
  readonly replay: readonly (EventRecord | BrokerEvent)[];
  /** Highest offset the replay covers; live events at or below it are not sent again. */
  readonly through: number;
  /** Where a resume's answer came from (ring, broker, check), for the resume metric; null: no resume. */
  readonly source: string | null;
}

/** What one request may still replay. */
interface ReplayBudget {
  events: number;
  bytes: number;
}

/** A resume whose replay does not fit the request's budget: nothing replayed, live from the position. */
function tooMany(resolution: Resolution): Resolution {
  const { epoch, offset } = resolution.state;
  return { state: { epoch, offset, recovered: false, reason: 'too_many' }, replay: [], through: offset, source: resolution.source };
}

/**
 * Rate-limit tokens one request costs: one, plus one per ten history reads it asks for (each `since` of a
 * subscribe, a replay), so a client cannot turn its message budget into a hundred times as much work.
 */
export function requestCost(message: ClientMessage): number {
  const reads = message.type === 'replay' ? 1 : message.type === 'subscribe' && message.since !== undefined ? Object.keys(message.since).length : 0;
  return 1 + Math.ceil(reads / 10);
}

/** Label sets of the inbound-message counter, built once rather than per message. */
const INBOUND_LABELS: Readonly<Record<ClientMessage['type'], Labels>> = {
  subscribe: { type: 'subscribe' },
  unsubscribe: { type: 'unsubscribe' },
  replay: { type: 'replay' },
  ping: { type: 'ping' },
};

export class Gateway {
  readonly admission: AdmissionControl;
  private readonly history: History;
  private readonly index = new ChannelIndex<Subscription>();
  private readonly sessions = new Map<string, Session>();
  /** Sessions with frames to write this turn; swapped with `flushing` so neither is reallocated. */
  private dirty: Session[] = [];
  private flushing: Session[] = [];
  private flushScheduled = false;
  /** One closure for every deferred flush (one per turn with output), not one per turn. */
  private readonly flushDeferred = (): void => this.flush();
  private brokerStatus: BrokerStatus = 'connecting';
  private epoch: string;
  private sessionCounter = 0;
  private subscriptionCount = 0;
  private readonly classCache = new Map<string, ChannelClass>();
  private housekeeping: ReturnType<Clock['setTimer']> | null = null;
  private drainDone: ((outcome: DrainOutcome) => void) | null = null;
  /** Sessions that ended while the drain waited for them. */
  private drainClosed = 0;
  private readonly counters = { published: 0, delivered: 0, bytesOut: 0, gaps: 0, slowDisconnects: 0 };
  private readonly queueTotals = { bytes: 0 };
  /** Sessions at each throttle level 0..3. */
  private readonly throttled = [0, 0, 0, 0];
  private readonly limits: SessionLimits;

  constructor(
    private readonly ports: GatewayPorts,
    readonly options: GatewayOptions,
    capacityInput?: CapacityInput,
  ) {
    const capacity = computeCapacity(capacityInput ?? { ...UNBOUNDED, configuredMax: options.admission.connectionsMax });
    this.admission = new AdmissionControl(options.admission, capacity);
    this.history = new History(options.history);
    this.epoch = ports.broker.epoch();
    this.limits = {
      channelsPerRequestMax: options.channelsPerRequestMax,
      subscriptionsMax: options.subscriptionsMax,
      replayEventsMax: options.replayEventsMax,
      messageBytesMax: options.messageBytesMax,
      messagesPerSecond: options.inbound.messagesPerSecond,
      messageBurst: options.inbound.messageBurst,
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------------------

  start(): void {
    const t = this.ports.telemetry;
    t.gauge(M.capacity, this.admission.capacity.connectionsMax, { bound_by: this.admission.capacity.boundBy });
    this.ports.broker.start({
      onEvent: (event) => this.onBrokerEvent(event),
      onStatus: (status, detail) => this.onBrokerStatus(status, detail),
    });
    this.scheduleHousekeeping();
  }

  stop(): void {
    this.housekeeping?.cancel();
    this.housekeeping = null;
    this.ports.broker.stop();
    for (const session of this.sessions.values()) this.stopTimers(session);
  }

  ready(): boolean {
    return this.brokerStatus === 'live' && !this.admission.draining;
  }

  /**
   * Refuses new handshakes, flushes every queue and closes every client with 1001 and a jittered
   * reconnect hint (I9). `done` runs once every connection is gone, or at the drain timeout, and says how
   * many sessions closed and how many had to be terminated.
   */
  drain(done: (outcome: DrainOutcome) => void): void {
    this.admission.draining = true;
    this.drainDone = done;
    this.drainClosed = 0;
    this.closeAllWithHint(CloseCodes.goingAway, 'going away: draining');
    this.ports.clock.setTimer(this.options.drainTimeoutMs, () => {
      const finish = this.drainDone;
      if (finish === null) return;
      this.drainDone = null;
      const stragglers = [...this.sessions.values()];
      for (const session of stragglers) session.conn.terminate();
      finish({ closed: this.drainClosed, terminated: stragglers.length });
    });
    this.finishDrain();
  }

  setLoad(sample: LoadSample): void {
    const brake = this.options.loadBrake;
    const overloaded = sample.eventLoopDelayMs > brake.eventLoopDelayMsMax || sample.eventLoopUtilization > brake.utilizationMax;
    if (overloaded !== this.admission.overloaded) {
      this.ports.telemetry.log(overloaded ? 'warn' : 'info', overloaded ? 'load brake on: refusing new handshakes' : 'load brake off', { ...sample });
    }
    this.admission.overloaded = overloaded;
    this.ports.telemetry.gauge(M.eventLoopDelay, sample.eventLoopDelayMs / 1000);
    this.ports.telemetry.gauge(M.eventLoopUtilization, sample.eventLoopUtilization);
  }

  // ---- connections ------------------------------------------------------------------------------------

  /** Decides a handshake before the upgrade. An ok answer holds a slot until open() or abandon(). */
  admit(peer: PeerInfo): Admission {
    const result = this.admission.admit(peer, this.ports.clock.nowMs());
    this.ports.telemetry.count(M.handshakes, { outcome: result.ok ? 'accepted' : result.reason });
    return result;
  }

  abandon(ticket: AdmissionTicket): void {
    this.admission.release(ticket);
  }

  open(conn: Connection, ticket: AdmissionTicket): Session {
    assert(ticket.state === 'reserved', `open() with a ticket in state ${ticket.state}`);
    ticket.state = 'open';
    const now = this.ports.clock.nowMs();
    const id = `${(++this.sessionCounter).toString(36)}-${Math.floor(this.ports.random.next() * 0xffffffff).toString(16).padStart(8, '0')}`;
    const inbound = new TokenBucket(this.options.inbound.messageBurst, this.options.inbound.messagesPerSecond, now);
    const session = new Session(id, conn, ticket, inbound, now, this.queueTotals);
    this.sessions.set(id, session);
    this.throttled[0]!++;
    this.ports.telemetry.gauge(M.connections, this.sessions.size);
    this.send(session, { type: 'welcome', session: id, heartbeatMs: this.options.heartbeatMs, limits: this.limits });
    this.armHeartbeat(session, this.options.heartbeatMs);
    return session;
  }

  onClosed(session: Session, code: number): void {
    if (session.state === 'closed') return;
    session.state = 'closed';
    this.stopTimers(session);
    for (const sub of session.subscriptions.values()) this.index.remove(sub.key, sub, sub.pattern);
    this.subscriptionCount -= session.subscriptions.size;
    session.subscriptions.clear();
    this.sessions.delete(session.id);
    this.throttled[session.throttleLevel]!--;
    session.queue.discard();
    this.admission.release(session.ticket);
    const t = this.ports.telemetry;
    t.count(M.disconnects, { code });
    t.gauge(M.connections, this.sessions.size);
    if (this.drainDone !== null) {
      this.drainClosed++;
      this.finishDrain();
    }
  }

  onPong(session: Session): void {
    session.heard = true;
  }

  onWritable(session: Session): void {
    if (session.queue.length > 0) this.markDirty(session);
  }

  onBinaryMessage(session: Session): void {
    this.sendError(session, 'binary_unsupported', 'binary frames are not part of protocol v1; send JSON text');
    this.close(session, CloseCodes.unsupportedData, 'binary frames are not supported');
  }

  onMessage(session: Session, text: string): void {
    if (session.state !== 'open') return;
    try {
      this.handleMessage(session, text);
    } catch (error) {
      // Our bug, not the peer's: this session ends with 1011, every other session carries on.
      this.ports.telemetry.log('error', 'internal error while handling a client message', { session: session.id, error: String(error) });
      // The error carries the request's id when it can be read, as every other error does.
      const decoded = decodeClientMessage(text, this.options);
      this.sendError(session, 'internal', 'internal error; reconnect and resume', decoded.ok ? decoded.message.id : decoded.error.id);
      this.close(session, CloseCodes.internal, 'internal error');
    }
  }

  private handleMessage(session: Session, text: string): void {
    session.heard = true;
    const now = this.ports.clock.nowMs();
    if (!session.inbound.take(now)) {
      if (now - session.lastViolationMs > this.options.inbound.violationWindowMs) session.violations = 0;
      session.violations++;
      session.lastViolationMs = now;
      if (session.violations > this.options.inbound.violationsMax) {
        this.close(session, CloseCodes.policy, 'rate limit exceeded repeatedly');
        return;
      }
      const { messagesPerSecond, messageBurst } = this.options.inbound;
      this.sendError(session, 'rate_limited', `more than ${messagesPerSecond} messages per second (burst ${messageBurst}); message dropped`);
      return;
    }
    const decoded = decodeClientMessage(text, this.options);
    if (!decoded.ok) {
      this.sendError(session, decoded.error.code, decoded.error.message, decoded.error.id);
      return;
    }
    const message = decoded.message;
    // A request that reads history costs more of the rate limit than one that does not (the first token
    // was taken above, before decoding, so a flood of junk is limited too).
    const extra = Math.min(requestCost(message), this.options.inbound.messageBurst) - 1;
    if (extra > 0 && !session.inbound.take(now, extra)) {
      this.sendError(session, 'rate_limited', `this request costs ${extra + 1} messages of the rate limit (${this.options.inbound.messagesPerSecond} per second); message dropped`, message.id);
      return;
    }
    this.ports.telemetry.count(M.inboundMessages, INBOUND_LABELS[message.type]);
    switch (message.type) {
      case 'subscribe':
        return this.subscribe(session, message);
      case 'unsubscribe':
        return this.unsubscribe(session, message);
      case 'replay':
        return this.replay(session, message);
      case 'ping':
        return this.send(session, { type: 'pong', id: message.id });
    }
  }

  // ---- publishing ---------------------------------------------------------------------------------

  publish(channel: string, data: string, done: (outcome: PublishOutcome) => void): void {
    const problem = channelNameProblem(channel, false);
    if (problem !== null) return done({ ok: false, status: 400, code: 'invalid_channel', message: `channel "${channel.slice(0, 64)}" ${problem}` });
    if (this.admission.draining) return done({ ok: false, status: 503, code: 'draining', message: 'the gateway is shutting down' });
    this.ports.broker.publish(channel, data, (result) => {
      if (result.ok) done({ ok: true, epoch: result.epoch, offset: result.offset });
      else done({ ok: false, status: 503, code: 'broker_unavailable', message: result.reason });
    });
  }

  // ---- subscribe, resume, replay ------------------------------------------------------------------

  private subscribe(session: Session, message: SubscribeMessage): void {
    const added = message.channels.filter((key) => !session.subscriptions.has(key)).length;
    if (session.subscriptions.size + added > this.options.subscriptionsMax) {
      this.sendError(session, 'subscription_limit', `this request would hold ${session.subscriptions.size + added} subscriptions; at most ${this.options.subscriptionsMax} are allowed`, message.id);
      return;
    }
    // Every channel of the request is registered now, so no live event is missed; each holds its live
    // events back until the reply and its replay have been queued (the seam, docs/protocol.md).
    const subs = message.channels.map((key) => this.addSubscription(session, key));
    const resolutions: Resolution[] = new Array(subs.length);
    let pending = subs.length;
    const finish = (): void => {
      if (session.state !== 'open') return;
      // One request replays at most replayEventsMax events over all its channels, and no more bytes than
      // the session's outbound queue holds (queueBytesMax), in the order the request names its channels: a
      // channel past that budget is answered too_many. So one message costs bounded work and memory.
      const budget: ReplayBudget = { events: this.options.replayEventsMax, bytes: this.options.outbound.queueBytesMax };
      // Channel names are keys here: a null prototype keeps `__proto__` and `constructor` plain names.
      const states: Record<string, ChannelState> = Object.create(null);
      const replays = subs.map((sub, i) => {
        const resolution = resolutions[i]!;
        const records = this.chargeReplay(resolution.replay, budget);
        const final = records === null ? tooMany(resolution) : resolution;
        if (final.source !== null) this.ports.telemetry.count(M.resumes, { outcome: final.state.reason ?? 'recovered', source: final.source });
        states[sub.key] = final.state;
        return { records: records ?? [], through: final.through };
      });
      session.queue.pushBoundary(encodeMessage({ type: 'subscribed', id: message.id, channels: states }));
      this.afterControl(session);
      if (session.state !== 'open') return;
      // Overlapping subscriptions (`p.x` and `p.>`) may replay the same event: send it once, as live
      // delivery does (offsets are unique across the stream).
      const replayed = new Set<number>();
      subs.forEach((sub, i) => this.release(sub, replays[i]!.records, replays[i]!.through, replayed));
    };
    subs.forEach((sub, i) => {
      this.resolve(sub, message.since?.[sub.key], (resolution) => {
        resolutions[i] = resolution;
        if (--pending === 0) finish();
      });
    });
  }

  /**
   * The replay as records with their frames, charged to the request's budget; null (and nothing charged)
   * when it does not fit. Events from the broker are encoded here, so encoding is bounded by the budget.
   */
  private chargeReplay(replay: readonly (EventRecord | BrokerEvent)[], budget: ReplayBudget): EventRecord[] | null {
    if (replay.length > budget.events) return null;
    const records: EventRecord[] = new Array(replay.length);
    let bytes = 0;
    for (let i = 0; i < replay.length; i++) {
      const event = replay[i]!;
      const record = 'frame' in event ? event : { channel: event.channel, offset: event.offset, prev: event.prev, frame: encodeEvent(event), atMs: 0, evicted: false };
      bytes += record.frame.bytes.byteLength;
      if (bytes > budget.bytes) return null;
      records[i] = record;
    }
    budget.events -= records.length;
    budget.bytes -= bytes;
    return records;
  }

  private addSubscription(session: Session, key: string): Subscription {
    const existing = session.subscriptions.get(key);
    if (existing !== undefined) {
      this.index.remove(existing.key, existing, existing.pattern);
      this.subscriptionCount--;
    }
    const sub: Subscription = { key, pattern: isPattern(key), session, held: { records: [], overflowed: false, firstByChannel: new Map() }, deliveredThrough: 0 };
    session.subscriptions.set(key, sub);
    this.index.add(key, sub, sub.pattern);
    this.subscriptionCount++;
    return sub;
  }

  /** Works out the reply state and replay for one channel of a subscribe request. */
  private resolve(sub: Subscription, since: Position | undefined, done: (resolution: Resolution) => void): void {
    const position = sub.pattern ? this.history.streamOffset : this.history.position(sub.key);
    const here = { epoch: this.epoch, offset: position };
    const fail = (reason: RecoveryFailure, source: string): void => done({ state: { ...here, recovered: false, reason }, replay: [], through: position, source });
    if (since === undefined) return done({ state: here, replay: [], through: position, source: null });
    if (since.epoch !== this.epoch) return fail('epoch_changed', 'check');
    // The replay ends where the client will be; live events up to there were delivered by it (the seam).
    const succeed = (replay: readonly (EventRecord | BrokerEvent)[], source: string): void =>
      done({ state: { ...here, recovered: true, replayed: replay.length }, replay, through: Math.max(position, since.offset, replay.at(-1)?.offset ?? 0), source });
    // A position beyond what this gateway has read is not necessarily another timeline: a restarted
    // instance may still be catching up with the stream. Only the broker can tell (beyond_head).
    const behind = since.offset > this.history.streamOffset;
    if (!sub.pattern && !behind) {
      const ring = this.history.read(sub.key, since.offset);
      if (ring.covered) {
        if (ring.records.length > this.options.replayEventsMax) return fail('too_many', 'ring');
        return succeed(ring.records, 'ring');
      }
    }
    const request = { subject: sub.key, afterOffset: since.offset, maxEvents: this.options.replayEventsMax };
    this.ports.broker.readHistory(behind ? request : { ...request, toOffset: this.history.streamOffset }, (result) => {
      if (result.ok) succeed(result.events, 'broker');
      else fail(result.reason === 'beyond_head' ? 'epoch_changed' : result.reason, 'broker');
    });
  }

  /** Queues the replay, then the live events held meanwhile, and switches the subscription to live. */
  private release(sub: Subscription, replay: readonly EventRecord[], through: number, replayed: Set<number>): void {
    const held = sub.held;
    sub.held = null;
    if (sub.session.subscriptions.get(sub.key) !== sub) return;
    for (const record of replay) {
      if (replayed.has(record.offset)) continue;
      replayed.add(record.offset);
      this.queueReplayed(sub.session, record);
    }
    sub.deliveredThrough = through;
    if (held === null) return;
    if (held.overflowed) {
      // Too much arrived while the replay loaded: say so rather than send a partial stream, on every channel
      // that had events held back (for a pattern, not only the channel of the first one).
      for (const [channel, first] of held.firstByChannel) this.queueGap(sub.session, channel, first, this.history.streamOffset, 'too_many');
      sub.deliveredThrough = this.history.streamOffset;
      return;
    }
    for (const record of held.records) this.deliver(sub, record, this.classOf(record.channel));
  }

  private unsubscribe(session: Session, message: UnsubscribeMessage): void {
    const removed: string[] = [];
    for (const key of message.channels) {
      const sub = session.subscriptions.get(key);
      if (sub === undefined) continue;
      session.subscriptions.delete(key);
      this.index.remove(key, sub, sub.pattern);
      this.subscriptionCount--;
      removed.push(key);
    }
    this.send(session, { type: 'unsubscribed', id: message.id, channels: removed });
  }

  private replay(session: Session, message: ReplayMessage): void {
    const { id, channel, from } = message;
    let subscribed = false;
    for (const sub of session.subscriptions.values()) if (subjectMatches(sub.key, channel)) subscribed = true;
    if (!subscribed) return this.sendError(session, 'not_subscribed', `replay of "${channel}" needs a subscription that covers it`, id);
    // `to` is clamped to the stream head, never below `from`: a range at or past the head is empty.
    const to = Math.max(from, Math.min(message.to, this.history.streamOffset));
    const answer = (events: readonly (EventRecord | BrokerEvent)[], source: string): void => {
      if (session.state !== 'open') return;
      const records = this.chargeReplay(events, { events: this.options.replayEventsMax, bytes: this.options.outbound.queueBytesMax });
      if (records === null) return tooLarge();
      this.ports.telemetry.count(M.replays, { outcome: source });
      for (const record of records) this.queueReplayed(session, record);
      this.send(session, { type: 'replayed', id, channel, from, to, count: records.length });
    };
    const tooLarge = (): void => {
      this.ports.telemetry.count(M.replays, { outcome: 'too_large' });
      this.sendError(session, 'replay_too_large', `more than ${this.options.replayEventsMax} events or ${this.options.outbound.queueBytesMax} bytes in (${from}, ${to}]; ask for a smaller range`, id);
    };
    if (to === from) return answer([], 'empty');
    const ring = this.history.read(channel, from, to);
    if (ring.covered) return ring.records.length > this.options.replayEventsMax ? tooLarge() : answer(ring.records, 'ring');
    this.ports.broker.readHistory({ subject: channel, afterOffset: from, toOffset: to, maxEvents: this.options.replayEventsMax }, (result) => {
      if (result.ok) return answer(result.events, 'broker');
      if (result.reason === 'too_many') return tooLarge();
      this.ports.telemetry.count(M.replays, { outcome: result.reason });
      this.sendError(session, 'history_unavailable', `events in (${from}, ${to}] are no longer retained (${result.reason})`, id);
    });
  }

  // ---- fan-out ------------------------------------------------------------------------------------

  private onBrokerEvent(event: BrokerEvent): void {
    this.checkEpoch();
    const record = this.history.append(event, encodeEvent(event), this.ports.clock.nowMs());
    this.counters.published++;
    const cls = this.classOf(event.channel);
    this.index.forEachMatch(event.channel, (sub) => {
      if (sub.held !== null) {
        if (!sub.held.firstByChannel.has(record.channel)) sub.held.firstByChannel.set(record.channel, record.offset);
        if (sub.held.records.length < this.options.replayEventsMax) sub.held.records.push(record);
        else sub.held.overflowed = true;
        return;
      }
      this.deliver(sub, record, cls);
    });
  }

  private onBrokerStatus(status: BrokerStatus, detail: string | undefined): void {
    if (status === 'live') this.checkEpoch();
    if (status !== this.brokerStatus) this.ports.telemetry.log(status === 'down' ? 'warn' : 'info', `broker ${status}`, detail === undefined ? {} : { detail });
    this.brokerStatus = status;
    this.ports.telemetry.gauge(M.brokerUp, status === 'live' ? 1 : 0);
  }

  /**
   * A new epoch means a new timeline: old offsets mean nothing in it, so live subscriptions cannot simply
   * continue (their clients would take new offsets for old ones, DESIGN §3). Every session is closed with
   * 1012 and a jittered hint; the clients resubscribe with `since` and get recovered:false (epoch_changed).
   */
  private checkEpoch(): void {
    const epoch = this.ports.broker.epoch();
    if (epoch === this.epoch) return;
    this.ports.telemetry.log('warn', 'broker history timeline changed; dropping history and restarting sessions', { from: this.epoch, to: epoch });
    this.epoch = epoch;
    this.history.reset();
    this.closeAllWithHint(CloseCodes.serviceRestart, 'event stream restarted (new epoch): resubscribe');
  }

  private deliver(sub: Subscription, record: EventRecord, cls: ChannelClass): void {
    const session = sub.session;
    if (record.offset <= sub.deliveredThrough || session.state !== 'open') return;
    if (session.lastLiveOffset === record.offset) return;
    session.lastLiveOffset = record.offset;
    this.enqueueEvent(session, record, cls);
  }

  /** The slow-client policy (DESIGN §4): conflate, shed by priority, throttle notices, 1008 last. */
  private enqueueEvent(session: Session, record: EventRecord, cls: ChannelClass): void {
    const { queueBytesMax } = this.options.outbound;
    const pressure = session.queue.bytes + session.conn.bufferedBytes();
    const level = this.updateThrottle(session, pressure / queueBytesMax);
    const size = record.frame.bytes.byteLength;
    this.markDirty(session);
    if (level >= 1 && cls.conflate && session.queue.conflate(record)) return this.countGap('conflated');
    if (shedAtLevel(level, cls.priority) || (pressure + size > queueBytesMax && cls.priority !== 'critical')) {
      session.queue.shed(record, 'shed');
      return this.countGap('shed');
    }
    if (pressure + size > queueBytesMax && !session.queue.evictBelow('critical', pressure + size - queueBytesMax)) {
      // Critical events are never shed. Hold this one over the bound for a while; a client that does not
      // catch up in time is closed and resumes from history (nothing is lost silently, I3).
      if (pressure + size > 2 * queueBytesMax) return this.slowClose(session);
      this.startOverBound(session);
    }
    session.queue.pushEvent(record, cls.priority);
  }

  private startOverBound(session: Session): void {
    if (session.overBoundSinceMs !== null) return;
    session.overBoundSinceMs = this.ports.clock.nowMs();
    session.overBoundTimer = this.ports.clock.setTimer(this.options.outbound.slowCloseAfterMs, () => {
      session.overBoundTimer = null;
      if (session.overBoundSinceMs !== null) this.slowClose(session);
    });
  }

  private slowClose(session: Session): void {
    if (session.state !== 'open') return;
    this.counters.slowDisconnects++;
    this.ports.telemetry.count(M.slowDisconnects);
    this.close(session, CloseCodes.policy, 'slow consumer: resume with since to recover', false);
  }

  /** Sends a throttle notice when the queue fill crosses a level; returns the level. */
  private updateThrottle(session: Session, fill: number): number {
    const thresholds = this.options.outbound.throttleLevels;
    let level = 0;
    while (level < thresholds.length && fill >= thresholds[level]!) level++;
    // Hysteresis: step down only once clearly below the threshold, so notices do not flap.
    if (level < session.throttleLevel && fill > thresholds[session.throttleLevel - 1]! - 0.1) level = session.throttleLevel;
    if (level !== session.throttleLevel) {
      this.throttled[session.throttleLevel]!--;
      this.throttled[level]!++;
      session.throttleLevel = level;
      const percent = Math.min(100, Math.round(fill * 100));
      const message =
        level === 0 ? 'caught up: full delivery resumed' : `falling behind (outbound queue ${percent}% full): ${level === 1 ? 'conflating' : 'shedding'} lower-priority channels`;
      this.ports.telemetry.count(M.throttle, { level });
      session.queue.pushControl(encodeMessage({ type: 'throttle', level, percent, message }));
      this.markDirty(session);
    }
    return level;
  }

  private countGap(reason: string): void {
    this.counters.gaps++;
    this.ports.telemetry.count(M.gaps, { reason });
  }

  private queueReplayed(session: Session, record: EventRecord): void {
    session.queue.pushEvent(record, 'critical');
    this.markDirty(session);
  }

  private queueGap(session: Session, channel: string, from: number, to: number, reason: 'too_many'): void {
    this.countGap(reason);
    this.send(session, { type: 'gap', ch: channel, from, to, reason });
  }

  private classOf(channel: string): ChannelClass {
    let cls = this.classCache.get(channel);
    if (cls === undefined) {
      cls = this.options.channelClasses.find((c) => subjectMatches(c.pattern, channel)) ?? DEFAULT_CLASS;
      if (this.classCache.size > 10_000) this.classCache.clear();
      this.classCache.set(channel, cls);
    }
    return cls;
  }

  // ---- writing ------------------------------------------------------------------------------------

  private send(session: Session, message: ServerMessage): void {
    if (session.state !== 'open') return;
    session.queue.pushControl(encodeMessage(message));
    this.afterControl(session);
  }

  /**
   * Answers are control frames, never shed: a client that keeps asking but never reads would grow its
   * queue without end. Past twice the bound with the socket backed up, it is a slow consumer (I6).
   */
  private afterControl(session: Session): void {
    this.markDirty(session);
    const { queueBytesMax, socketHighWaterBytes } = this.options.outbound;
    const buffered = session.conn.bufferedBytes();
    if (session.queue.bytes + buffered > 2 * queueBytesMax && buffered >= socketHighWaterBytes) this.slowClose(session);
  }

  private sendError(session: Session, code: ErrorCode, message: string, id?: number): void {
    this.ports.telemetry.count(M.protocolErrors, { code });
    this.send(session, id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });
  }

  /** Every frame queued to a socket during one turn leaves in one write (DESIGN §2). */
  private markDirty(session: Session): void {
    if (session.dirty) return;
    session.dirty = true;
    this.dirty.push(session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.ports.clock.defer(this.flushDeferred);
  }

  private flush(): void {
    this.flushScheduled = false;
    const sessions = this.dirty;
    this.dirty = this.flushing;
    this.flushing = sessions;
    for (const session of sessions) {
      session.dirty = false;
      if (session.state !== 'open') continue;
      if (session.conn.bufferedBytes() >= this.options.outbound.socketHighWaterBytes) continue; // onWritable resumes
      this.writeAll(session);
      this.updateThrottle(session, session.conn.bufferedBytes() / this.options.outbound.queueBytesMax);
    }
    sessions.length = 0;
  }

  private writeAll(session: Session): void {
    if (session.queue.length === 0) return;
    const frames: Frame[] = session.queue.take();
    let bytes = 0;
    for (const frame of frames) bytes += frame.bytes.byteLength;
    this.counters.delivered += frames.length;
    this.counters.bytesOut += bytes;
    this.ports.telemetry.count(M.bytesOut, undefined, bytes);
    session.overBoundSinceMs = null;
    session.overBoundTimer?.cancel();
    session.overBoundTimer = null;
    session.conn.write(frames);
  }

  /** Closes every session, each with its own reconnect delay so the clients do not return at once. */
  private closeAllWithHint(code: number, text: string): void {
    for (const session of [...this.sessions.values()]) {
      const retryMs = Math.floor(this.ports.random.next() * this.options.drainRetryJitterMs);
      this.close(session, code, closeReasonWithRetry(text, retryMs));
    }
  }

  /**
   * Closes with a close frame. Queued frames go first (an error that explains the close must arrive),
   * except for a slow consumer, whose backlog is what we are giving up on: it resumes from history.
   */
  private close(session: Session, code: number, reason: string, flush = true): void {
    if (session.state !== 'open') return;
    if (flush) this.writeAll(session);
    session.state = 'closing';
    this.stopTimers(session);
    session.conn.close(code, reason);
  }

  // ---- heartbeats and housekeeping ----------------------------------------------------------------

  private armHeartbeat(session: Session, delayMs: number): void {
    session.heartbeatTimer = this.ports.clock.setTimer(delayMs, () => this.heartbeat(session));
  }

  /**
   * Every heartbeatMs: a session that sent anything since the last check is alive and is not pinged (our
   * client pings every heartbeatMs, so it costs one round trip per interval, not two). A silent one is
   * pinged and has heartbeatTimeoutMs to answer with a pong or any message. A dead peer is therefore
   * found between heartbeatMs + heartbeatTimeoutMs and 2 × heartbeatMs + heartbeatTimeoutMs after the
   * last thing it sent.
   */
  private heartbeat(session: Session): void {
    if (session.state !== 'open') return;
    if (session.heard) {
      session.heard = false;
      this.armHeartbeat(session, this.options.heartbeatMs);
      return;
    }
    session.conn.ping();
    session.heartbeatTimer = this.ports.clock.setTimer(this.options.heartbeatTimeoutMs, () => {
      if (session.state !== 'open') return;
      if (!session.heard) {
        this.ports.telemetry.log('debug', 'heartbeat overdue; terminating', { session: session.id });
        session.conn.terminate();
        return;
      }
      session.heard = false;
      this.armHeartbeat(session, Math.max(0, this.options.heartbeatMs - this.options.heartbeatTimeoutMs));
    });
  }

  private stopTimers(session: Session): void {
    session.heartbeatTimer?.cancel();
    session.heartbeatTimer = null;
    session.overBoundTimer?.cancel();
    session.overBoundTimer = null;
  }

  private scheduleHousekeeping(): void {
    this.housekeeping = this.ports.clock.setTimer(HOUSEKEEPING_MS, () => {
      const now = this.ports.clock.nowMs();
      this.history.expire(now);
      this.admission.sweep(now);
      const t = this.ports.telemetry;
      t.count(M.eventsPublished, undefined, this.counters.published - this.reported.published);
      t.count(M.eventsDelivered, undefined, this.counters.delivered - this.reported.delivered);
      this.reported = { published: this.counters.published, delivered: this.counters.delivered };
      t.gauge(M.subscriptions, this.subscriptionCount);
      t.gauge(M.queueBytes, this.queueTotals.bytes);
      for (let level = 1; level < this.throttled.length; level++) t.gauge(M.throttledSessions, this.throttled[level]!, { level });
      t.gauge(M.channels, this.history.channelCount);
      this.scheduleHousekeeping();
    });
  }

  private reported = { published: 0, delivered: 0 };

  /** Reports the drain once every session is gone (the deadline reports stragglers itself). */
  private finishDrain(): void {
    if (this.drainDone === null || this.sessions.size > 0) return;
    const done = this.drainDone;
    this.drainDone = null;
    done({ closed: this.drainClosed, terminated: 0 });
  }

  // ---- introspection ------------------------------------------------------------------------------

  stats(): GatewayStats {
    const capacity = this.admission.capacity;
    return {
      ready: this.ready(),
      draining: this.admission.draining,
      broker: { status: this.brokerStatus, epoch: this.epoch, streamOffset: this.history.streamOffset },
      connections: {
        current: this.sessions.size,
        held: this.admission.held,
        capacity: capacity.connectionsMax,
        boundBy: capacity.boundBy,
        terms: capacity.terms,
        free: Math.max(0, capacity.connectionsMax - this.admission.held),
        users: this.admission.userCount,
        topUsers: this.admission.usersTop(10),
      },
      subscriptions: this.subscriptionCount,
      historyChannels: this.history.channelCount,
      historyBytes: this.history.bytes,
      historyBytesMax: this.options.history.totalBytesMax,
      events: { published: this.counters.published, delivered: this.counters.delivered, bytesOut: this.counters.bytesOut, gaps: this.counters.gaps },
      slowDisconnects: this.counters.slowDisconnects,
      outboundQueueBytes: this.queueTotals.bytes,
      throttledSessions: { level1: this.throttled[1]!, level2: this.throttled[2]!, level3: this.throttled[3]! },
      overloaded: this.admission.overloaded,
    };
  }

  sessionCount(): number {
    return this.sessions.size;
  }
}

/** Level 2 sheds low-priority channels, level 3 normal ones too; high and critical only when full. */
function shedAtLevel(level: number, priority: Priority): boolean {
  return priorityRank(priority) < level - 1 && priority !== 'high' && priority !== 'critical';
}

export interface GatewayStats {
  readonly ready: boolean;
  readonly draining: boolean;
  readonly broker: { readonly status: BrokerStatus; readonly epoch: string; readonly streamOffset: number };
  readonly connections: {
    readonly current: number;
    readonly held: number;
    readonly capacity: number;
    readonly boundBy: string;
    readonly terms: { readonly config: number; readonly memory: number | null; readonly descriptors: number | null };
    readonly free: number;
    readonly users: number;
    readonly topUsers: readonly { readonly userId: string; readonly connections: number }[];
  };
  readonly subscriptions: number;
  readonly historyChannels: number;
  /** Bytes the rings hold, per-record costs included, and their bound (history.totalBytesMax). */
  readonly historyBytes: number;
  readonly historyBytesMax: number;
  readonly events: { readonly published: number; readonly delivered: number; readonly bytesOut: number; readonly gaps: number };
  readonly slowDisconnects: number;
  readonly outboundQueueBytes: number;
  readonly throttledSessions: { readonly level1: number; readonly level2: number; readonly level3: number };
  readonly overloaded: boolean;
}

export { Session } from './session.js';
export type { Subscription } from './session.js';
