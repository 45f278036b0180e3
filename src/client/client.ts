// The client: one connection at a time; reconnects with backoff, resubscribes with `since`, repairs gaps.
// Everything is driven by socket callbacks and Clock timers — no Promise anywhere — so simulated users run
// this exact code on virtual time.
//
// Connection lifecycle: open() creates a socket and arms the connect timeout; `welcome` makes it usable
// (heartbeat, every target resubscribed); any end we did not ask for goes through lost(), which either
// schedules the next attempt or stops for good (close-policy.ts). A socket we abandon (silence, no
// welcome) is closed and forgotten at once: a dead peer may never finish the close handshake.
import type { Timer } from '../core/ports.js';
import {
  channelNameProblem,
  isPattern,
  BATCH_SUBPROTOCOL,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type ClientMessage,
  type ErrorMessage,
  type EventMessage,
  type GapMessage,
  type Position,
  type ServerMessage,
  type SubscribedMessage,
  type WelcomeMessage,
} from '../core/protocol.js';
import { backoffDelayMs } from './backoff.js';
import { judgeClose } from './close-policy.js';
import { decodeServerMessage, messagesOf } from './decode.js';
import { Heartbeat } from './heartbeat.js';
import type { ChannelTrack, TrackOutput } from './positions.js';
import type { ClientSocket, CloseInfo } from './ports.js';
import { Registry, SubscriptionImpl, type Target } from './registry.js';
import type { ClientCounters, ClientOptions, ClientState, OdinError, ReconnectOptions, Subscription, SubscriptionHandlers } from './types.js';

export const clientDefaults = {
  reconnect: { baseMs: 500, capMs: 30_000, maxAttempts: Infinity, stableMs: 5_000 } satisfies ReconnectOptions,
  connectTimeoutMs: 15_000,
  replayTimeoutMs: 30_000,
  // Matches the gateway's default replayEventsMax: a repair the server can answer fits in the buffer.
  bufferEventsMax: 1_000,
  // Roughly the default stream retention (100,000 messages): older offsets are gone from history anyway.
  replayOffsetsMax: 100_000,
} as const;

// Browsers let scripts close only with 1000 or 4000–4999.
const CLOSE_BY_APP = 1000;
const CLOSE_SILENT = 4000;
const CLOSE_NO_WELCOME = 4001;

/** Channels resumed per subscribe request: the server's replay budget is per request (docs/protocol.md). */
export const RESUMES_PER_REQUEST = 10;

// Gap notices a replay cannot repair: the channel is conflated by configuration, or the history is gone.
const FINAL_GAP_REASONS: ReadonlySet<string> = new Set(['conflated', 'history_expired', 'too_many']);

interface Connection {
  socket: ClientSocket | null;
  welcomed: boolean;
  heartbeat: Heartbeat | null;
  /** The connect timeout until welcome, then the timer that declares the connection stable. */
  timer: Timer | null;
  channelsPerRequestMax: number;
}

interface SubscribeEntry {
  readonly target: Target;
  readonly since: Position | undefined;
}

interface SubscribeRequest {
  readonly kind: 'subscribe';
  readonly entries: readonly SubscribeEntry[];
}
interface ReplayRequest {
  readonly kind: 'replay';
  readonly track: ChannelTrack;
  readonly ticket: number;
  readonly timer: Timer;
}

export class OdinClient {
  readonly counters: ClientCounters = {
    eventsDelivered: 0,
    duplicatesDropped: 0,
    gapsDetected: 0,
    replaysRequested: 0,
    replaysFailed: 0,
    gapsReported: 0,
    resets: 0,
    reconnects: 0,
    malformedFrames: 0,
  };
  private stateValue: ClientState = 'idle';
  private conn: Connection | null = null;
  /** Consecutive reconnect attempts since the last stable connection. */
  private attempt = 0;
  private reconnectTimer: Timer | null = null;
  private nextId = 1;
  private readonly requests = new Map<number, SubscribeRequest | ReplayRequest>();
  /** Targets the current connection has not been asked to subscribe yet (sent in one batch per turn). */
  private readonly unsent = new Set<Target>();
  private flushQueued = false;
  private readonly registry: Registry;
  private readonly reconnect: ReconnectOptions;
  private readonly connectTimeoutMs: number;
  private readonly replayTimeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    this.reconnect = { ...clientDefaults.reconnect, ...options.reconnect };
    this.connectTimeoutMs = options.connectTimeoutMs ?? clientDefaults.connectTimeoutMs;
    this.replayTimeoutMs = options.replayTimeoutMs ?? clientDefaults.replayTimeoutMs;
    const limits = {
      bufferEventsMax: options.bufferEventsMax ?? clientDefaults.bufferEventsMax,
      replayOffsetsMax: options.replayOffsetsMax ?? clientDefaults.replayOffsetsMax,
    };
    const { baseMs, capMs, maxAttempts, stableMs } = this.reconnect;
    if (!(baseMs > 0 && capMs >= baseMs && maxAttempts >= 0 && stableMs >= 0)) {
      throw new RangeError('odin: reconnect needs baseMs > 0, capMs >= baseMs, maxAttempts >= 0, stableMs >= 0');
    }
    if (!(this.connectTimeoutMs > 0 && this.replayTimeoutMs > 0)) throw new RangeError('odin: timeouts must be positive');
    if (!(Number.isInteger(limits.bufferEventsMax) && limits.bufferEventsMax >= 1 && limits.replayOffsetsMax >= 1)) {
      throw new RangeError('odin: bufferEventsMax must be a positive integer and replayOffsetsMax positive');
    }
    this.registry = new Registry(limits, this.counters);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** Starts connecting. Only the first call does anything; a closed client stays closed. */
  connect(): void {
    if (this.stateValue !== 'idle') return;
    this.setState('connecting');
    this.open();
  }

  /**
   * Subscribes to a channel or a pattern (`*` one token, `>` the rest). May be called in any state but
   * closed; requests made in one turn leave as one subscribe message. Throws on an invalid name.
   */
  subscribe(name: string, handlers: SubscriptionHandlers): Subscription {
    const problem = channelNameProblem(name, true);
    if (problem !== null) throw new TypeError(`odin: cannot subscribe to "${name}": the name ${problem}`);
    if (this.stateValue === 'closed') throw new Error(`odin: cannot subscribe to "${name}": the client is closed`);
    const sub = new SubscriptionImpl(name, handlers, this.release);
    const { target, created } = this.registry.add(sub, isPattern(name));
    if (created) {
      this.unsent.add(target);
      this.queueFlush();
    }
    return sub;
  }

  /** Where a subscribed channel (or pattern) stands: what a resume would send as `since`. */
  position(name: string): Position | undefined {
    return this.registry.position(name);
  }

  /** Closes for good (code 1000); no reconnect follows. Positions stay readable. */
  close(): void {
    if (this.stateValue === 'closed') return;
    const conn = this.conn;
    if (conn !== null) {
      this.teardown(conn);
      conn.socket?.close(CLOSE_BY_APP, 'client closed');
    }
    this.stop(null);
  }

  // ---- connection lifecycle ------------------------------------------------------------------------

  private open(): void {
    const conn: Connection = { socket: null, welcomed: false, heartbeat: null, timer: null, channelsPerRequestMax: 1 };
    this.conn = conn;
    conn.timer = this.options.clock.setTimer(this.connectTimeoutMs, () => this.abandon(conn, CLOSE_NO_WELCOME, 'no welcome within connectTimeoutMs'));
    if (this.options.getToken === undefined) return this.openSocket(conn, this.options.token ?? null);
    this.withToken(
      (token) => {
        if (this.conn === conn) this.openSocket(conn, token);
      },
      (cause) => {
        if (this.conn === conn) this.lost(conn, { code: 1006, reason: `getToken failed: ${messageOf(cause)}` });
      },
    );
  }

  /** Calls getToken; a plain string answers at once (the lab's users stay on virtual time), a promise later. */
  private withToken(use: (token: string) => void, fail: (cause: unknown) => void): void {
    let answer: string | PromiseLike<string>;
    try {
      answer = this.options.getToken!();
    } catch (cause) {
      return fail(cause);
    }
    if (typeof answer === 'string') return use(answer);
    answer.then(use, fail);
  }

  private openSocket(conn: Connection, token: string | null): void {
    // The token rides as a subprotocol entry: the one place both browsers and Node can put it.
    const protocols = token === null ? [BATCH_SUBPROTOCOL, SUBPROTOCOL] : [BATCH_SUBPROTOCOL, SUBPROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`];
    let socket: ClientSocket;
    try {
      // Batched frames first: a server that knows them may send several messages per frame (decode.ts).
      socket = this.options.socketFactory(this.options.url, protocols, {
        onMessage: (text) => this.onFrame(conn, text),
        onClose: (info) => {
          if (this.conn === conn) this.lost(conn, info);
        },
      });
    } catch (cause) {
      this.teardown(conn);
      this.stop({ origin: 'client', code: 'socket_failed', message: `cannot open ${this.options.url}: ${messageOf(cause)}`, cause });
      return;
    }
    conn.socket = socket;
  }

  /** Ends a connection we gave up on, without waiting for a close handshake a dead peer may never finish. */
  private abandon(conn: Connection, code: number, reason: string): void {
    if (this.conn !== conn) return;
    conn.socket?.close(code, reason);
    this.lost(conn, { code, reason });
  }

  private lost(conn: Connection, info: CloseInfo): void {
    this.teardown(conn);
    const verdict = judgeClose(info);
    if (!verdict.retry) {
      this.stop({ origin: 'client', code: verdict.code, message: verdict.message });
      return;
    }
    if (this.attempt >= this.reconnect.maxAttempts) {
      const message = `gave up after ${this.attempt} reconnect attempts; last close ${info.code} ${info.reason}`;
      this.stop({ origin: 'client', code: 'gave_up', message });
      return;
    }
    const delayMs = backoffDelayMs(this.attempt, this.reconnect, this.options.random, verdict.hintMs);
    this.attempt++;
    this.setState('reconnecting');
    this.reconnectTimer = this.options.clock.setTimer(delayMs, () => {
      this.reconnectTimer = null;
      this.counters.reconnects++;
      this.open();
    });
  }

  private teardown(conn: Connection): void {
    this.conn = null;
    conn.timer?.cancel();
    conn.heartbeat?.stop();
    for (const request of this.requests.values()) if (request.kind === 'replay') request.timer.cancel();
    this.requests.clear();
    this.registry.connectionLost();
  }

  private stop(error: OdinError | null): void {
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.setState('closed');
    if (error !== null) this.report(error);
  }

  // ---- inbound -------------------------------------------------------------------------------------

  private onFrame(conn: Connection, text: string): void {
    if (this.conn !== conn) return;
    conn.heartbeat?.received();
    for (const line of messagesOf(text)) {
      const decoded = decodeServerMessage(line);
      if (!decoded.ok) {
        this.malformed(decoded.problem);
        continue;
      }
      this.dispatch(conn, decoded.message);
      // A message may end this connection (a fatal error): the rest of the frame was for it alone.
      if (this.conn !== conn) return;
    }
  }

  private dispatch(conn: Connection, message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        return this.onWelcome(conn, message);
      case 'subscribed':
        return this.onSubscribed(message);
      case 'event':
        return this.onEvent(message);
      case 'gap':
        return this.onGapNotice(message);
      case 'replayed': {
        const request = this.requests.get(message.id);
        if (request?.kind === 'replay') this.finishReplay(message.id, request, null);
        return;
      }
      case 'error':
        return this.onServerError(message);
      case 'throttle': {
        const { level, percent, message: text } = message;
        return this.callApp(() => this.options.onThrottle?.({ level, percent, message: text }));
      }
      case 'token_expiring':
        return this.refreshToken(conn);
      case 'unsubscribed':
      case 'pong':
      case 'refreshed':
        // Nothing to do beyond what every frame does: it proved the connection alive.
        return;
    }
  }

  private onWelcome(conn: Connection, welcome: WelcomeMessage): void {
    if (conn.welcomed) return;
    conn.welcomed = true;
    conn.channelsPerRequestMax = welcome.limits.channelsPerRequestMax;
    conn.timer?.cancel();
    // Resetting the attempt count only after a stretch of stability keeps a server that accepts and then
    // drops at once (overload, slow-consumer kicks) from being hammered at the smallest backoff.
    conn.timer = this.options.clock.setTimer(this.reconnect.stableMs, () => {
      if (this.conn === conn) this.attempt = 0;
    });
    conn.heartbeat = new Heartbeat(
      this.options.clock,
      welcome.heartbeatMs,
      () => this.send(conn, { type: 'ping', id: this.nextId++ }),
      () => this.abandon(conn, CLOSE_SILENT, 'heartbeat timeout'),
    );
    for (const target of this.registry.allTargets()) this.unsent.add(target);
    this.setState('open');
    this.flush();
  }

  /** The server warned that the token expires soon: send a fresh one, if the application can give it. */
  private refreshToken(conn: Connection): void {
    if (this.options.getToken === undefined) return;
    this.withToken(
      (token) => {
        if (this.conn === conn && conn.welcomed) this.send(conn, { type: 'refresh', id: this.nextId++, token });
      },
      (cause) => this.report({ origin: 'client', code: 'socket_failed', message: `getToken failed while refreshing: ${messageOf(cause)}`, cause }),
    );
  }

  private onSubscribed(reply: SubscribedMessage): void {
    const request = this.requests.get(reply.id);
    if (request?.kind !== 'subscribe') return;
    this.requests.delete(reply.id);
    for (const { target, since } of request.entries) {
      // Unsubscribed (and perhaps subscribed again) while the request was out: the answer is stale.
      if (this.registry.target(target.name) !== target) continue;
      const state = reply.channels[target.name];
      if (state === undefined) {
        this.malformed(`subscribed answer ${reply.id} lacks "${target.name}"`);
        continue;
      }
      const reset = this.registry.applySubscribed(target, state, since);
      if (reset === null) continue;
      this.counters.resets++;
      for (const sub of reset.subs) {
        if (sub.active) this.callApp(() => sub.handlers.onReset?.(target.name, reset.reason));
      }
    }
  }

  private onEvent(event: EventMessage): void {
    const track = this.registry.trackFor(event.ch);
    // Not subscribed: an event already in flight when we unsubscribed.
    if (track === undefined) return;
    this.registry.observe(event.ch, event.offset);
    const out: TrackOutput[] = [];
    track.onEvent({ channel: event.ch, offset: event.offset, prev: event.prev, data: event.data }, out);
    this.act(track, out);
  }

  private onGapNotice(gap: GapMessage): void {
    const track = this.registry.trackFor(gap.ch);
    if (track === undefined) return;
    this.registry.observe(gap.ch, gap.to);
    const out: TrackOutput[] = [];
    track.onGapNotice(gap.to, gap.reason, !FINAL_GAP_REASONS.has(gap.reason), out);
    this.act(track, out);
  }

  private onServerError(error: ErrorMessage): void {
    const request = error.id === undefined ? undefined : this.requests.get(error.id);
    if (request?.kind === 'replay') {
      // The loss is reported through onGap, where the application handles it per channel.
      this.finishReplay(error.id!, request, error.code);
      return;
    }
    if (request?.kind === 'subscribe' && error.channel !== undefined) {
      // One channel of the request was refused (forbidden); the reply for the others follows.
      const refused = request.entries.filter((entry) => entry.target.name === error.channel);
      for (const { target } of refused) if (this.registry.target(target.name) === target) this.registry.drop(target);
      this.requests.set(error.id!, { kind: 'subscribe', entries: request.entries.filter((entry) => entry.target.name !== error.channel) });
      this.report({ origin: 'server', code: error.code, message: error.message, channels: [error.channel] });
      return;
    }
    if (request?.kind === 'subscribe') {
      this.requests.delete(error.id!);
      for (const { target } of request.entries) {
        if (this.registry.target(target.name) === target) this.registry.drop(target);
      }
      const channels = request.entries.map((entry) => entry.target.name);
      this.report({ origin: 'server', code: error.code, message: error.message, channels });
      return;
    }
    if (error.channel !== undefined) {
      // The server ended one subscription on its own (a refreshed token no longer covers it).
      const target = this.registry.target(error.channel);
      if (target !== undefined) this.registry.drop(target);
      this.report({ origin: 'server', code: error.code, message: error.message, channels: [error.channel] });
      return;
    }
    this.report({ origin: 'server', code: error.code, message: error.message });
  }

  // ---- outbound ------------------------------------------------------------------------------------

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.options.clock.defer(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /**
   * Subscribes every unsent target, in requests of at most the server's channelsPerRequestMax names.
   * Resumes go in requests of at most RESUMES_PER_REQUEST: the server gives each request one replay
   * budget (replayEventsMax events), so smaller requests get more busy channels back without a reset.
   */
  private flush(): void {
    const conn = this.conn;
    if (conn === null || !conn.welcomed || this.unsent.size === 0) return;
    const entries = [...this.unsent].map((target) => ({ target, since: this.registry.sinceFor(target) }));
    this.unsent.clear();
    const fresh = entries.filter((entry) => entry.since === undefined);
    const resuming = entries.filter((entry) => entry.since !== undefined);
    for (let i = 0; i < fresh.length; i += conn.channelsPerRequestMax) this.sendSubscribe(conn, fresh.slice(i, i + conn.channelsPerRequestMax));
    const resumesMax = Math.min(conn.channelsPerRequestMax, RESUMES_PER_REQUEST);
    for (let i = 0; i < resuming.length; i += resumesMax) this.sendSubscribe(conn, resuming.slice(i, i + resumesMax));
  }

  private sendSubscribe(conn: Connection, entries: readonly SubscribeEntry[]): void {
    const id = this.nextId++;
    this.requests.set(id, { kind: 'subscribe', entries });
    const channels = entries.map((entry) => entry.target.name);
    // Channel names as keys: a null prototype keeps `__proto__` and `constructor` plain names.
    const since = Object.create(null) as Record<string, Position>;
    for (const entry of entries) if (entry.since !== undefined) since[entry.target.name] = entry.since;
    this.send(conn, entries.some((entry) => entry.since !== undefined) ? { type: 'subscribe', id, channels, since } : { type: 'subscribe', id, channels });
  }

  private readonly release = (sub: SubscriptionImpl): void => {
    const target = this.registry.remove(sub);
    if (target === null || this.unsent.delete(target)) return;
    const conn = this.conn;
    if (conn !== null && conn.welcomed) this.send(conn, { type: 'unsubscribe', id: this.nextId++, channels: [target.name] });
  };

  private requestReplay(track: ChannelTrack, ticket: number, from: number, to: number): void {
    const conn = this.conn;
    // Without a connection the repair was abandoned already; the resume will cover it.
    if (conn === null || this.registry.track(track.channel) !== track) return;
    const id = this.nextId++;
    const timer = this.options.clock.setTimer(this.replayTimeoutMs, () => {
      if (this.requests.get(id) === request) this.finishReplay(id, request, 'replay_timeout');
    });
    const request: ReplayRequest = { kind: 'replay', track, ticket, timer };
    this.requests.set(id, request);
    this.counters.replaysRequested++;
    this.send(conn, { type: 'replay', id, channel: track.channel, from, to });
  }

  private finishReplay(id: number, request: ReplayRequest, failure: string | null): void {
    this.requests.delete(id);
    request.timer.cancel();
    const track = request.track;
    if (this.registry.track(track.channel) !== track) return;
    if (failure !== null) this.counters.replaysFailed++;
    const out: TrackOutput[] = [];
    track.onReplayDone(request.ticket, failure, out);
    this.act(track, out);
  }

  private send(conn: Connection, message: ClientMessage): void {
    if (conn.socket === null) throw new Error('odin: the socket adapter delivered a frame before the factory returned');
    conn.socket.send(JSON.stringify(message));
  }

  // ---- effects on the application ------------------------------------------------------------------

  private act(track: ChannelTrack, out: readonly TrackOutput[]): void {
    for (const output of out) {
      // A callback may have closed the client; nothing more reaches the application after that.
      if (this.stateValue === 'closed') return;
      const channel = track.channel;
      switch (output.kind) {
        case 'deliver': {
          this.counters.eventsDelivered++;
          const { offset, prev, data } = output.event;
          const meta = { channel, offset, prev };
          for (const sub of this.registry.subsFor(channel)) {
            if (sub.active) this.callApp(() => sub.handlers.onEvent(data, meta));
          }
          break;
        }
        case 'lost':
          this.counters.gapsReported++;
          for (const sub of this.registry.subsFor(channel)) {
            if (sub.active) this.callApp(() => sub.handlers.onGap?.(channel, output.gap));
          }
          break;
        case 'replay':
          this.requestReplay(track, output.ticket, output.from, output.to);
          break;
      }
    }
  }

  private setState(state: ClientState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.callApp(() => this.options.onStateChange?.(state));
  }

  private malformed(problem: string): void {
    this.counters.malformedFrames++;
    this.report({ origin: 'client', code: 'malformed_frame', message: problem });
  }

  /** Application callbacks may throw; the client's state is already consistent, so it carries on. */
  private callApp(fn: () => void): void {
    try {
      fn();
    } catch (cause) {
      this.report({ origin: 'client', code: 'handler_threw', message: messageOf(cause), cause });
    }
  }

  private report(error: OdinError): void {
    this.options.onError?.(error);
  }
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
