// One fc.commands class per action (docs/testing.md, "Layout"): check(model) says whether it may run now, run(model, real)
// does it on both and checks the client-visible stream against the model. After every command the system
// is settled and each client's new frames are folded into the model (properties/model/model.ts).
import fc from 'fast-check';
import type { MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import type { GatewayOptionsInput } from '../../src/core/options.js';
import { retryHintOf } from '../../src/core/protocol.js';
import { Model, expectThat, type ModelClient, type Published } from './model.js';
import { System, type Link, type SystemConfig, type Variant } from './system.js';

/** Concrete channels and the subscription keys that cover them, one key per channel (no overlaps). */
export const CHANNELS = ['a', 'b', 'p.x', 'p.y'] as const;
export const KEYS = ['a', 'b', 'p.>'] as const;
export const SIZES = [0, 40, 300] as const;
export const CLIENTS = 3;
/** A stalled socket reports this much buffered: at the high-water mark, so the gateway stops writing. */
export const STALL_BYTES = 300;
/** Bound on a session's bytes beyond 2 × queueBytesMax: a few control frames and one gap slot per channel. */
export const QUEUE_SLACK_BYTES = 1024;

export const modelOptions: GatewayOptionsInput = {
  heartbeatMs: 1e9,
  heartbeatTimeoutMs: 1e9,
  replayEventsMax: 6,
  history: { eventsMax: 3, bytesMax: 1e6, ageMs: 4_000 },
  outbound: { queueBytesMax: 2_000, socketHighWaterBytes: STALL_BYTES, throttleLevels: [0.5, 0.75, 0.9], slowCloseAfterMs: 1_000 },
  inbound: { messageBurst: 1e6, messagesPerSecond: 1e6, violationsMax: 10 },
  admission: { connectionsMax: 100, perUserMax: 100, perIpMax: 100, handshakeBurst: 1e6, handshakesPerSecond: 1e6 },
  channelClasses: [
    { pattern: 'a', priority: 'critical', conflate: false },
    { pattern: 'b', priority: 'low', conflate: false },
    { pattern: 'p.>', priority: 'normal', conflate: true },
  ],
};
export const modelRetention: MemoryBrokerRetention = { eventsMax: 12, bytesMax: 1e9, ageMs: 8_000 };

export interface Real {
  readonly sys: System;
  readonly links: (Link | null)[];
  nextId: number;
  /** Set once drain() was called: every close must then be 1001 with a reconnect hint (I9). */
  draining?: boolean;
  /** Set once any reader stalled: notices may then be counted but never seen. */
  stalledEver?: boolean;
}

/** I9: the client can resume `key` from its position and get `e` back from the broker's history. */
function recoverable(real: Real, c: ModelClient): (key: string, e: Published) => boolean {
  return (key, e) => {
    let found = false;
    real.sys.memory.readHistory({ subject: key, afterOffset: c.position.get(key) ?? 0, maxEvents: 1e9 }, (r) => {
      found = r.ok && r.events.some((h) => h.offset === e.offset && h.data === e.data);
    });
    return found;
  };
}

type Cmd = fc.Command<Model, Real>;
type Arb = fc.Arbitrary<Cmd>;

export function setup(variant: Variant, config: SystemConfig = {}): { model: Model; real: Real } {
  const sys = new System(variant, { options: modelOptions, retention: modelRetention, ...config });
  const model = new Model(KEYS, CLIENTS, modelRetention, sys.options.replayEventsMax, sys.memory.epoch(), sys.options.outbound.queueBytesMax);
  return { model, real: { sys, links: Array.from({ length: CLIENTS }, () => null), nextId: 1 } };
}

/** Folds every client's new frames into the model, then checks what must hold at a quiet moment. */
export function observe(model: Model, real: Real, replay?: { client: number; channel: string; from: number; to: number }): void {
  const { sys } = real;
  const queueBound = 2 * sys.options.outbound.queueBytesMax + QUEUE_SLACK_BYTES;
  model.clients.forEach((c, i) => {
    const link = real.links[i];
    if (!c.connected || link === null || link === undefined) return;
    let frames = sys.fresh(link);
    if (replay !== undefined && replay.client === i) {
      const used = model.checkReplayAnswer(replay.channel, replay.from, replay.to, frames);
      frames = frames.slice(used);
    }
    for (const bytes of frames) model.onFrame(c, bytes);
    if (link.ended !== null && real.draining === true) {
      // I9: a drain closes everyone with 1001 and a reconnect hint, and loses nothing acknowledged.
      const hint = retryHintOf(link.ended.reason);
      const jitter = sys.options.drainRetryJitterMs;
      expectThat(
        link.ended.code === 1001 && hint !== null && hint >= 0 && hint < Math.max(1, jitter),
        `I9: client ${i} closed ${JSON.stringify(link.ended)} at drain`,
      );
      model.checkOwed(c, recoverable(real, c));
      c.endSession();
      real.links[i] = null;
      return;
    }
    if (link.ended !== null) {
      // The only close the gateway may start in these runs: a slow consumer, told to resume.
      expectThat(link.ended.code === 1008 && c.stalled, `client ${i} closed ${JSON.stringify(link.ended)} while ${c.stalled ? 'stalled' : 'reading'}`);
      c.endSession();
      real.links[i] = null;
      return;
    }
    // I6: a session's memory stays bounded, however stalled.
    const held = link.session.queue.bytes + link.conn.buffered;
    expectThat(held <= queueBound, `I6: client ${i} holds ${held} bytes, bound ${queueBound}`);
    // I3 and I6: a reading client has everything it is owed, whoever else is stalled.
    if (!c.stalled) model.checkOwed(c);
  });
  checkAccounting(model, real);
}

/**
 * The gateway's own accounting (stats() and its counters, what operators see) agrees with what the clients
 * saw: connections, subscriptions, events and bytes written, queue bytes, throttle levels, recoveries.
 */
export function checkAccounting(model: Model, real: Real): void {
  const { sys } = real;
  const stats = sys.gateway.stats();
  const open = sys.links.filter((l) => l.ended === null);
  const written = sys.links.flatMap((l) => l.conn.frames());
  const count = (key: string): number => sys.telemetry.counts.get(key) ?? 0;
  const same = (what: string, actual: number, expected: number): void =>
    expectThat(actual === expected, `accounting: ${what} is ${actual}, expected ${expected}`);
  same('connections', stats.connections.current, open.length);
  same(
    'subscriptions',
    stats.subscriptions,
    open.reduce((n, l) => n + l.session.subscriptions.size, 0),
  );
  same('events published', stats.events.published, model.head);
  same('stream offset', stats.broker.streamOffset, model.head);
  same('frames written', stats.events.delivered, written.length);
  same(
    'bytes written',
    stats.events.bytesOut,
    written.reduce((n, f) => n + f.bytes.byteLength, 0),
  );
  same(
    'queued bytes',
    stats.outboundQueueBytes,
    open.reduce((n, l) => n + l.session.queue.bytes, 0),
  );
  for (const level of [1, 2, 3] as const)
    same(`sessions at throttle level ${level}`, stats.throttledSessions[`level${level}`], open.filter((l) => l.session.throttleLevel === level).length);
  same('slow disconnects', stats.slowDisconnects, sys.links.filter((l) => l.ended?.code === 1008).length);
  same('handshakes accepted', count('odin_handshakes_total{"outcome":"accepted"}'), sys.links.length);
  for (const [type, n] of sys.sent) same(`${type} messages counted`, count(`odin_inbound_messages_total{"type":"${type}"}`), n);
  for (const [code, n] of model.errors) same(`${code} errors counted`, count(`odin_protocol_errors_total{"code":"${code}"}`), n);
  const answered = ['ring', 'broker', 'empty'].reduce((n, outcome) => n + count(`odin_replays_total{"outcome":"${outcome}"}`), 0);
  same('replays answered', answered, model.replays.get('answered') ?? 0);
  same('replays too large', count('odin_replays_total{"outcome":"too_large"}'), model.errors.get('replay_too_large') ?? 0);
  same('replays expired', count('odin_replays_total{"outcome":"history_expired"}'), model.errors.get('history_unavailable') ?? 0);
  for (const code of [1006, 1008])
    same(`disconnects ${code}`, count(`odin_disconnects_total{"code":${code}}`), sys.links.filter((l) => l.ended?.code === code).length);
  for (const [outcome, n] of model.resumes) {
    const counted = ['ring', 'broker', 'check'].reduce((k, source) => k + count(`odin_resumes_total{"outcome":"${outcome}","source":"${source}"}`), 0);
    // Racing replies: a resolution is counted when made; its reply may still wait for the request's other
    // channels, or never leave (the session closed meanwhile).
    if (model.racing) expectThat(counted >= n, `accounting: resumes ${outcome} counted ${counted}, seen ${n}`);
    else same(`resumes ${outcome}`, counted, n);
  }
  // Notices still queued for a stalled reader, or dropped with a slow consumer, were counted but not seen.
  const notices = [0, 1, 2, 3].reduce((k, level) => k + count(`odin_throttle_notices_total{"level":${level}}`), 0);
  const quiet = real.stalledEver !== true;
  expectThat(
    quiet ? notices === model.throttleNotices : notices >= model.throttleNotices,
    `accounting: ${notices} throttle notices counted, ${model.throttleNotices} seen`,
  );
  expectThat(stats.ready === (real.draining !== true) && stats.draining === (real.draining === true), `ready ${stats.ready}, draining ${stats.draining}`);
  for (const log of sys.telemetry.logs) expectThat(log.message.length > 5, `empty log line at ${log.level}`);
}

const connectedAndReading = (c: ModelClient | undefined): c is ModelClient => c !== undefined && c.connected && !c.stalled;

export class PublishCommand implements Cmd {
  constructor(readonly items: readonly { channel: number; size: number }[]) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const items = this.items.map((it) => ({ channel: CHANNELS[it.channel]!, data: model.nextData(SIZES[it.size]!) }));
    const offsets = real.sys.publish(items);
    items.forEach((it, i) => {
      const offset = offsets[i];
      expectThat(typeof offset === 'number', `publish on ${it.channel} refused`);
      model.record(it.channel, offset, it.data);
    });
    observe(model, real);
  }
  toString(): string {
    return `publish(${this.items.map((it) => `${CHANNELS[it.channel]}:${SIZES[it.size]}`).join(' ')})`;
  }
}

export class ConnectCommand implements Cmd {
  constructor(readonly client: number) {}
  check(model: Model): boolean {
    return !model.clients[this.client]!.connected;
  }
  run(model: Model, real: Real): void {
    const link = real.sys.connect({ ip: `10.0.0.${this.client}`, userId: `user-${this.client}` });
    expectThat(link !== null, `client ${this.client} was refused`);
    real.links[this.client] = link;
    model.clients[this.client]!.newSession();
    observe(model, real);
    expectThat(model.clients[this.client]!.welcomed, 'no welcome');
  }
  toString(): string {
    return `connect(${this.client})`;
  }
}

/**
 * Subscribes to the keys in `mask` the client does not hold; with `resume`, since = the client's position.
 * A stalled client may subscribe afresh (its reply then waits in the queue behind older frames); it resumes
 * only while reading, when its position is up to date.
 */
export class SubscribeCommand implements Cmd {
  constructor(
    readonly client: number,
    readonly mask: number,
    readonly resume: boolean,
  ) {}
  private keys(model: Model): string[] {
    const c = model.clients[this.client]!;
    return KEYS.filter((k, i) => (this.mask >> i) & 1 && !c.requested.has(k));
  }
  check(model: Model): boolean {
    const c = model.clients[this.client]!;
    return c.connected && (!c.stalled || !this.resume) && this.keys(model).length > 0;
  }
  run(model: Model, real: Real): void {
    const c = model.clients[this.client]!;
    const keys = this.keys(model);
    const since: Record<string, number> = {};
    if (this.resume) for (const k of keys) if (c.position.has(k)) since[k] = c.position.get(k)!;
    const id = real.nextId++;
    c.requestSubscribe(id, keys, since, model.head);
    const sinceWire = Object.fromEntries(Object.entries(since).map(([k, offset]) => [k, { epoch: model.epoch, offset }]));
    real.sys.send(real.links[this.client]!, { type: 'subscribe', id, channels: keys, ...(this.resume ? { since: sinceWire } : {}) });
    observe(model, real);
    expectThat(!c.connected || c.stalled || !c.pending.has(id), `subscribe ${id} got no reply`);
  }
  toString(): string {
    return `subscribe(${this.client}, ${KEYS.filter((_, i) => (this.mask >> i) & 1)}${this.resume ? ', resume' : ''})`;
  }
}

/** Drops the connection if there is one, connects again and resumes every key with since (a reconnect). */
export class ReconnectCommand implements Cmd {
  constructor(readonly client: number) {}
  check(model: Model): boolean {
    return model.clients[this.client]!.position.size > 0;
  }
  run(model: Model, real: Real): void {
    const c = model.clients[this.client]!;
    if (c.connected) new DisconnectCommand(this.client).run(model, real);
    new ConnectCommand(this.client).run(model, real);
    const mask = KEYS.reduce((m, k, i) => (c.position.has(k) ? m | (1 << i) : m), 0);
    new SubscribeCommand(this.client, mask, true).run(model, real);
  }
  toString(): string {
    return `reconnect(${this.client})`;
  }
}

/** Unsubscribes one key whose subscription is open; a stalled client gets the reply behind older frames. */
export class UnsubscribeCommand implements Cmd {
  constructor(
    readonly client: number,
    readonly key: number,
  ) {}
  check(model: Model): boolean {
    const c = model.clients[this.client]!;
    const key = KEYS[this.key]!;
    return c.connected && c.requested.has(key) && c.subs.get(key)?.until === null;
  }
  run(model: Model, real: Real): void {
    const c = model.clients[this.client]!;
    const key = KEYS[this.key]!;
    const id = real.nextId++;
    c.requestUnsubscribe(id, [key], model.head);
    real.sys.send(real.links[this.client]!, { type: 'unsubscribe', id, channels: [key] });
    observe(model, real);
  }
  toString(): string {
    return `unsubscribe(${this.client}, ${KEYS[this.key]})`;
  }
}

export class DisconnectCommand implements Cmd {
  constructor(readonly client: number) {}
  check(model: Model): boolean {
    return model.clients[this.client]!.connected;
  }
  run(model: Model, real: Real): void {
    const link = real.links[this.client]!;
    real.sys.disconnect(link);
    // What was written before the socket dropped was read; what the gateway still queued is lost to this
    // session and must come back through a resume.
    for (const bytes of real.sys.fresh(link)) model.onFrame(model.clients[this.client]!, bytes);
    model.clients[this.client]!.endSession();
    real.links[this.client] = null;
    observe(model, real);
  }
  toString(): string {
    return `disconnect(${this.client})`;
  }
}

export class StallCommand implements Cmd {
  constructor(readonly client: number) {}
  check(model: Model): boolean {
    return connectedAndReading(model.clients[this.client]);
  }
  run(model: Model, real: Real): void {
    real.links[this.client]!.conn.buffered = STALL_BYTES;
    real.stalledEver = true;
    model.clients[this.client]!.stalled = true;
    observe(model, real);
  }
  toString(): string {
    return `stall(${this.client})`;
  }
}

export class UnstallCommand implements Cmd {
  constructor(readonly client: number) {}
  check(model: Model): boolean {
    const c = model.clients[this.client]!;
    return c.connected && c.stalled;
  }
  run(model: Model, real: Real): void {
    const link = real.links[this.client]!;
    link.conn.buffered = 0;
    model.clients[this.client]!.stalled = false;
    real.sys.gateway.onWritable(link.session);
    real.sys.settle();
    observe(model, real);
  }
  toString(): string {
    return `unstall(${this.client})`;
  }
}

export class AdvanceCommand implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const endedBefore = real.sys.links.filter((l) => l.ended !== null).length;
    real.sys.advance(this.ms);
    model.nowMs += this.ms;
    observe(model, real);
    if (this.ms >= 1_000) {
      // Housekeeping ran during the advance: the periodic counters and gauges caught up.
      const { sys } = real;
      const stats = sys.gateway.stats();
      expectThat((sys.telemetry.counts.get('odin_events_published_total') ?? 0) === model.head, 'housekeeping: events published counter');
      expectThat((sys.telemetry.counts.get('odin_events_delivered_total') ?? 0) <= stats.events.delivered, 'housekeeping: events delivered counter');
      expectThat(sys.telemetry.gauges.get('odin_history_channels') === stats.historyChannels, 'housekeeping: history channels gauge');
      if (sys.links.filter((l) => l.ended !== null).length === endedBefore) {
        expectThat(sys.telemetry.gauges.get('odin_subscriptions') === stats.subscriptions, 'housekeeping: subscriptions gauge');
        expectThat(sys.telemetry.gauges.get('odin_outbound_queue_bytes') === stats.outboundQueueBytes, 'housekeeping: queue bytes gauge');
      }
    }
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

/** An explicit replay of (from, from + span] on one channel; `at` in [0, 1] places `from` in the stream. */
export class ReplayCommand implements Cmd {
  constructor(
    readonly client: number,
    readonly channel: number,
    readonly at: number,
    readonly span: number,
  ) {}
  check(model: Model): boolean {
    const c = model.clients[this.client];
    const key = model.keyOf(CHANNELS[this.channel]!);
    return connectedAndReading(c) && c.requested.has(key) && c.subs.has(key);
  }
  run(model: Model, real: Real): void {
    const channel = CHANNELS[this.channel]!;
    const from = Math.floor(this.at * model.head);
    const to = from + this.span;
    real.sys.send(real.links[this.client]!, { type: 'replay', id: real.nextId++, channel, from, to });
    observe(model, real, { client: this.client, channel, from, to });
  }
  toString(): string {
    return `replay(${this.client}, ${CHANNELS[this.channel]}, at ${this.at.toFixed(2)}, span ${this.span})`;
  }
}

const client = fc.integer({ min: 0, max: CLIENTS - 1 });

export const commandArbitraries: Arb[] = [
  fc
    .array(fc.record({ channel: fc.integer({ min: 0, max: CHANNELS.length - 1 }), size: fc.integer({ min: 0, max: SIZES.length - 1 }) }), {
      minLength: 1,
      maxLength: 6,
    })
    .map((items) => new PublishCommand(items)),
  // A flood: enough large events on one channel to push a stalled reader over its queue bound.
  fc.constantFrom(0, 0, 1, 2).map((channel) => new PublishCommand(Array.from({ length: 8 }, () => ({ channel, size: 2 })))),
  client.map((c) => new ConnectCommand(c)),
  fc.tuple(client, fc.integer({ min: 1, max: 7 }), fc.boolean()).map(([c, mask, resume]) => new SubscribeCommand(c, mask, resume)),
  client.map((c) => new ReconnectCommand(c)),
  fc.tuple(client, fc.integer({ min: 0, max: KEYS.length - 1 })).map(([c, k]) => new UnsubscribeCommand(c, k)),
  client.map((c) => new DisconnectCommand(c)),
  client.map((c) => new StallCommand(c)),
  client.map((c) => new UnstallCommand(c)),
  fc.constantFrom(100, 1_000, 5_000).map((ms) => new AdvanceCommand(ms)),
  fc
    .tuple(
      client,
      fc.integer({ min: 0, max: CHANNELS.length - 1 }),
      fc.integer({ min: 0, max: 20 }).map((n) => n / 20),
      fc.integer({ min: 1, max: 12 }),
    )
    .map(([c, ch, at, span]) => new ReplayCommand(c, ch, at, span)),
];

/** Command sequences: publishes and (re)subscribes weigh more, so streams evict and clients resume. */
export function commandSequences(maxCommands = 80): fc.Arbitrary<Iterable<Cmd>> {
  const [publish, flood, connect, subscribe, reconnect, unsubscribe, disconnect, stall, unstall, advance, replay] = commandArbitraries as [
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
    Arb,
  ];
  const weighted = [
    publish,
    publish,
    publish,
    flood,
    connect,
    subscribe,
    subscribe,
    reconnect,
    reconnect,
    unsubscribe,
    disconnect,
    stall,
    stall,
    unstall,
    advance,
    replay,
  ];
  return fc.commands(weighted, { maxCommands, size: 'max' });
}

/** The delivery property over a variant: any command sequence keeps I1–I6 on the client-visible stream. */
export function deliveryProperty(variant: Variant, maxCommands = 80): fc.IPropertyWithHooks<[Iterable<Cmd>]> {
  return fc.property(commandSequences(maxCommands), (cmds) => {
    fc.modelRun(() => setup(variant), cmds);
  });
}
