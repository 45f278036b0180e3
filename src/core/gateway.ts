// The gateway core, sans-IO (docs/design.md, "One core, two worlds"): inputs arrive as calls named for
// what happened — a handshake, open, onMessage, onWritable, onPong, onClosed, and the broker's events
// through FanOut — and effects leave through the ports. Nothing here touches sockets, timers or the wall
// clock directly.
//
// This class is the facade: it builds the components (docs/design.md, "The core's components" lists which owns what), wires
// them together and hands each input to the one that owns it. Every component can be swapped through
// `parts` — the broken doubles in properties/catches do exactly that.
import {
  computeCapacity,
  configuredOnly,
  type Admission,
  type AdmissionControl,
  type AdmissionTicket,
  type CapacityInput,
  type PeerInfo,
} from './admission.js';
import { assert } from './assert.js';
import type { CoreContext, GatewayPorts } from './context.js';
import type { Drain, DrainOutcome } from './drain.js';
import type { FanOut } from './fan-out.js';
import { decideHandshake, type HandshakeOutcome, type HandshakeRequest } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import type { History } from './history.js';
import { Inbound } from './inbound.js';
import { M } from './metrics.js';
import type { GatewayOptions } from './options.js';
import { Outbox } from './outbox.js';
import type { Connection, Timer } from './ports.js';
import type { SessionLimits } from './protocol.js';
import { realParts, type GatewayParts } from './parts.js';
import type { Publisher, PublishOutcome } from './publisher.js';
import { Session } from './session.js';
import { newCounters, statsOf, TelemetryReport, type GatewayStats } from './stats.js';
import { Subscriptions } from './subscriptions.js';
import { TokenLifetime } from './token-lifetime.js';
import type { Writer } from './writer.js';

export type { Admission, AdmissionTicket, CapacityInput, PeerInfo } from './admission.js';
export type { GatewayPorts } from './context.js';
export type { DrainOutcome } from './drain.js';
export type { HandshakeOutcome, HandshakeRefusal, HandshakeRequest } from './handshake.js';
export { realParts, type GatewayParts } from './parts.js';
export type { PublishOutcome, PublishRefusal } from './publisher.js';
export { Session } from './session.js';
export type { Subscription } from './session.js';
export type { GatewayStats } from './stats.js';

export interface LoadSample {
  readonly eventLoopDelayMs: number;
  readonly eventLoopUtilization: number;
}

/** Rings expire, admission forgets idle addresses and telemetry is reported this often. */
const HOUSEKEEPING_MS = 1_000;

export class Gateway {
  readonly admission: AdmissionControl;
  private readonly ctx: CoreContext;
  private readonly history: History;
  private readonly subscriptions = new Subscriptions();
  private readonly writer: Writer;
  private readonly outbox: Outbox;
  private readonly fanOut: FanOut;
  private readonly inbound: Inbound;
  private readonly tokens: TokenLifetime;
  private readonly heartbeat: Heartbeat;
  private readonly drainer: Drain;
  private readonly publisher: Publisher;
  private readonly report: TelemetryReport;
  private readonly limits: SessionLimits;
  private housekeeping: Timer | null = null;
  private sessionCounter = 0;

  constructor(
    private readonly ports: GatewayPorts,
    readonly options: GatewayOptions,
    capacityInput?: CapacityInput,
    parts: Partial<GatewayParts> = {},
  ) {
    const make: GatewayParts = { ...realParts, ...parts };
    const ctx: CoreContext = { ...ports, options, sessions: new Map(), counters: newCounters() };
    this.ctx = ctx;
    const capacity = computeCapacity(capacityInput ?? configuredOnly(options.admission.connectionsMax));
    this.admission = new make.admission(options.admission, capacity);
    this.history = new make.history(options.history);
    const policy = new make.policy(options.outbound);
    this.writer = new make.writer(ctx, (session) => this.outbox.afterWrite(session));
    this.outbox = new Outbox(ctx, policy, this.writer);
    this.fanOut = new make.fanOut(ctx, this.history, this.subscriptions, this.outbox, this.writer);
    const resume = new make.resume(ctx, this.history, this.subscriptions, this.fanOut, this.outbox);
    this.tokens = new TokenLifetime(ctx, this.outbox, this.writer, this.subscriptions);
    this.inbound = new Inbound(ctx, resume, this.outbox, this.writer, this.tokens);
    this.heartbeat = new Heartbeat(ctx);
    this.drainer = new make.drain(ctx, this.admission, this.writer);
    this.publisher = new make.publisher(ctx, this.admission);
    this.report = new TelemetryReport(ports.telemetry, ctx.counters);
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
    const capacity = this.admission.capacity;
    this.ports.telemetry.gauge(M.capacity, capacity.connectionsMax, { bound_by: capacity.boundBy });
    this.ports.broker.start(this.fanOut);
    this.scheduleHousekeeping();
  }

  stop(): void {
    this.housekeeping?.cancel();
    this.housekeeping = null;
    this.ports.broker.stop();
    this.heartbeat.stop();
    this.writer.stop();
    for (const session of this.ctx.sessions.values()) session.stopTimers();
  }

  ready(): boolean {
    return this.fanOut.status === 'live' && !this.admission.draining;
  }

  /** The one drain flag: set by drain(), read by readiness, admission and publishing. */
  get draining(): boolean {
    return this.admission.draining;
  }

  /**
   * Refuses new handshakes, flushes every queue and closes every client with 1001 and a jittered
   * reconnect hint (I9). `done` runs once every connection is gone, or at the drain timeout.
   */
  drain(done: (outcome: DrainOutcome) => void): void {
    this.drainer.start(done);
  }

  /** The load brake (docs/operations.md, "Refusals and limits"): overloaded, new handshakes are refused. */
  setLoad(sample: LoadSample): void {
    const brake = this.options.loadBrake;
    const telemetry = this.ports.telemetry;
    const overloaded = sample.eventLoopDelayMs > brake.eventLoopDelayMsMax || sample.eventLoopUtilization > brake.utilizationMax;
    if (overloaded !== this.admission.overloaded) {
      telemetry.log(overloaded ? 'warn' : 'info', overloaded ? 'load brake on: refusing new handshakes' : 'load brake off', { ...sample });
    }
    this.admission.overloaded = overloaded;
    telemetry.gauge(M.eventLoopDelay, sample.eventLoopDelayMs / 1000);
    telemetry.gauge(M.eventLoopUtilization, sample.eventLoopUtilization);
  }

  // ---- connections ------------------------------------------------------------------------------------

  /**
   * Decides an Upgrade request for the endpoint at `endpointPath` (src/core/handshake.ts), before any
   * upgrade. An admission holds a slot until open() or abandon(); a refusal is the HTTP response to send.
   */
  handshake(request: HandshakeRequest, endpointPath: string): HandshakeOutcome {
    return decideHandshake(request, endpointPath, this.options.security, (peer) => this.admit(peer));
  }

  /** Admission alone, the last step of a handshake (tests and the property suites call it directly). */
  admit(peer: PeerInfo): Admission {
    const result = this.admission.admit(peer, this.ports.clock.nowMs());
    this.ports.telemetry.count(M.handshakes, { outcome: result.ok ? 'accepted' : result.reason });
    return result;
  }

  abandon(ticket: AdmissionTicket): void {
    this.admission.release(ticket);
  }

  open(conn: Connection, ticket: AdmissionTicket, /** the client reads batched frames */ batch = false): Session {
    assert(ticket.state === 'reserved', `open() with a ticket in state ${ticket.state}`);
    ticket.state = 'open';
    const { clock, random, telemetry } = this.ports;
    const now = clock.nowMs();
    // A counter (unique on this instance) and 32 random bits (so ids do not repeat across instances).
    const id = `${(++this.sessionCounter).toString(36)}-${Math.floor(random.next() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}`;
    const session = new Session(id, conn, ticket, now, this.ctx.counters.queue, batch);
    const sessions = this.ctx.sessions;
    sessions.set(id, session);
    this.ctx.counters.throttled[0]!++;
    telemetry.gauge(M.connections, sessions.size);
    this.outbox.send(session, { type: 'welcome', session: id, heartbeatMs: this.options.heartbeatMs, limits: this.limits });
    this.heartbeat.start(session);
    this.tokens.arm(session);
    return session;
  }

  /** The transport saw the connection end (after our close, the peer's, or a reset). */
  onClosed(session: Session, code: number): void {
    if (session.state === 'closed') return;
    session.state = 'closed';
    session.stopTimers();
    this.subscriptions.removeAll(session);
    const sessions = this.ctx.sessions;
    sessions.delete(session.id);
    this.ctx.counters.throttled[session.throttleLevel]!--;
    session.queue.discard();
    this.admission.release(session.ticket);
    const telemetry = this.ports.telemetry;
    telemetry.count(M.disconnects, { code });
    telemetry.gauge(M.connections, sessions.size);
    this.drainer.sessionEnded();
  }

  onPong(session: Session): void {
    session.heard = true;
  }

  onWritable(session: Session): void {
    if (session.queue.length > 0) this.writer.markDirty(session);
  }

  onBinaryMessage(session: Session): void {
    this.inbound.onBinaryMessage(session);
  }

  onMessage(session: Session, text: string): void {
    this.inbound.onMessage(session, text);
  }

  publish(channel: string, data: string, done: (outcome: PublishOutcome) => void): void {
    this.publisher.publish(channel, data, done);
  }

  // ---- introspection ----------------------------------------------------------------------------------

  stats(): GatewayStats {
    return statsOf({
      ready: this.ready(),
      admission: this.admission,
      broker: this.fanOut,
      history: this.history,
      historyBytesMax: this.options.history.totalBytesMax,
      sessions: this.ctx.sessions.size,
      subscriptions: this.subscriptions.size,
      counters: this.ctx.counters,
    });
  }

  sessionCount(): number {
    return this.ctx.sessions.size;
  }

  private scheduleHousekeeping(): void {
    this.housekeeping = this.ports.clock.setTimer(HOUSEKEEPING_MS, () => {
      const now = this.ports.clock.nowMs();
      this.history.expire(now);
      this.admission.sweep(now);
      this.report.report(this.subscriptions.size, this.history.channelCount);
      this.scheduleHousekeeping();
    });
  }
}
