// Subscribe, resume and replay (docs/protocol.md, "Subscribing and resuming" and "Replay"; docs/design.md,
// "History and recovery"): each channel of a request is answered from the gateway's ring when the ring can
// prove it holds the whole suffix, else from broker history, else with recovered:false and a reason —
// never a partial replay presented as complete (I3, I4).
//
// The seam between replay and live delivery: every channel of a subscribe is registered at once, so no
// live event is missed while its replay loads; the new subscription holds live events back (Subscription.
// held) until its reply and replay are queued, then releases them, skipping what the replay already
// covered (deliveredThrough). Example: a client at 41 subscribes while 42–44 sit in the ring and 45 is
// published during the read; the reply says 44, the replay is 42–44, then 45 comes out of the hold —
// each once, in order (I1, I2). Too much held while the replay loads is named with a too_many gap.
import { maySubscribe } from './auth.js';
import type { CoreContext } from './context.js';
import type { FanOut } from './fan-out.js';
import type { EventRecord, History } from './history.js';
import { M } from './metrics.js';
import type { Outbox } from './outbox.js';
import type { BrokerEvent } from './ports.js';
import {
  subjectMatches,
  type ChannelState,
  type Position,
  type RecoveryFailure,
  type ReplayMessage,
  type SubscribeMessage,
  type UnsubscribeMessage,
} from './protocol.js';
import { chargeReplay, tooMany, type ReplayBudget, type Resolution } from './replay-budget.js';
import type { Session, Subscription } from './session.js';
import type { Subscriptions } from './subscriptions.js';

export class Resume {
  constructor(
    protected readonly ctx: CoreContext,
    protected readonly history: History,
    protected readonly subscriptions: Subscriptions,
    protected readonly fanOut: FanOut,
    protected readonly outbox: Outbox,
  ) {}

  subscribe(session: Session, request: SubscribeMessage): void {
    const { subscriptionsMax, replayEventsMax, outbound } = this.ctx.options;
    const message = this.permitted(session, request);
    const added = message.channels.filter((key) => !session.subscriptions.has(key)).length;
    if (session.subscriptions.size + added > subscriptionsMax) {
      this.outbox.error(
        session,
        'subscription_limit',
        `this request would hold ${session.subscriptions.size + added} subscriptions; at most ${subscriptionsMax} are allowed`,
        message.id,
      );
      return;
    }
    const subs = message.channels.map((key) => this.subscriptions.add(session, key));
    const resolutions = new Array<Resolution>(subs.length);
    let pending = subs.length;
    const finish = (): void => {
      if (session.state !== 'open') return;
      const budget: ReplayBudget = { events: replayEventsMax, bytes: outbound.queueBytesMax };
      // Channel names are keys here: a null prototype keeps `__proto__` and `constructor` plain names.
      const states = Object.create(null) as Record<string, ChannelState>;
      const replays = subs.map((sub, i) => {
        const resolution = resolutions[i]!;
        const records = chargeReplay(resolution.replay, budget);
        const final = records === null ? tooMany(resolution) : resolution;
        if (final.source !== null) this.ctx.telemetry.count(M.resumes, { outcome: final.state.reason ?? 'recovered', source: final.source });
        states[sub.key] = final.state;
        return { records: records ?? [], through: final.through };
      });
      this.outbox.boundary(session, { type: 'subscribed', id: message.id, channels: states });
      if (session.state !== 'open') return;
      // Overlapping subscriptions (`p.x` and `p.>`) may replay the same event: send it once, as live
      // delivery does (offsets are unique across the stream).
      const replayed = new Set<number>();
      subs.forEach((sub, i) => this.release(sub, replays[i]!.records, replays[i]!.through, replayed));
    };
    if (subs.length === 0) return finish();
    subs.forEach((sub, i) => {
      this.resolve(sub, message.since?.[sub.key], (resolution) => {
        resolutions[i] = resolution;
        if (--pending === 0) finish();
      });
    });
  }

  /**
   * The request without the channels this session may not read (src/core/auth.ts): each of those gets its
   * own `forbidden` error naming it, and the rest of the request goes on — its reply names only them.
   */
  private permitted(session: Session, message: SubscribeMessage): SubscribeMessage {
    const identity = session.identity;
    if (identity === null) return message;
    const denied = message.channels.filter((key) => !maySubscribe(identity, key));
    if (denied.length === 0) return message;
    for (const channel of denied) {
      this.ctx.telemetry.count(M.protocolErrors, { code: 'forbidden' });
      this.outbox.send(session, {
        type: 'error',
        id: message.id,
        code: 'forbidden',
        channel,
        message: `not allowed to subscribe to "${channel}": no grant in the token covers it`,
      });
    }
    const channels = message.channels.filter((key) => !denied.includes(key));
    if (message.since === undefined) return { type: 'subscribe', id: message.id, channels };
    const since = Object.create(null) as Record<string, Position>;
    for (const key of channels) if (message.since[key] !== undefined) since[key] = message.since[key];
    return { type: 'subscribe', id: message.id, channels, since };
  }

  unsubscribe(session: Session, message: UnsubscribeMessage): void {
    const removed = message.channels.filter((key) => this.subscriptions.remove(session, key));
    this.outbox.send(session, { type: 'unsubscribed', id: message.id, channels: removed });
  }

  /** An explicit range (from, to] of one channel the session is subscribed to. */
  replay(session: Session, message: ReplayMessage): void {
    const { replayEventsMax, outbound } = this.ctx.options;
    const { id, channel, from } = message;
    let subscribed = false;
    for (const sub of session.subscriptions.values()) if (subjectMatches(sub.key, channel)) subscribed = true;
    if (!subscribed) return this.outbox.error(session, 'not_subscribed', `replay of "${channel}" needs a subscription that covers it`, id);
    // `to` is clamped to the stream head, never below `from`: a range at or past the head is empty.
    const to = Math.max(from, Math.min(message.to, this.history.streamOffset));
    const telemetry = this.ctx.telemetry;
    const answer = (events: readonly (EventRecord | BrokerEvent)[], source: string): void => {
      if (session.state !== 'open') return;
      const records = chargeReplay(events, { events: replayEventsMax, bytes: outbound.queueBytesMax });
      if (records === null) return tooLarge();
      telemetry.count(M.replays, { outcome: source });
      for (const record of records) this.outbox.replayed(session, record);
      this.outbox.send(session, { type: 'replayed', id, channel, from, to, count: records.length });
    };
    const tooLarge = (): void => {
      telemetry.count(M.replays, { outcome: 'too_large' });
      this.outbox.error(
        session,
        'replay_too_large',
        `more than ${replayEventsMax} events or ${outbound.queueBytesMax} bytes in (${from}, ${to}]; ask for a smaller range`,
        id,
      );
    };
    if (to === from) return answer([], 'empty');
    const ring = this.history.read(channel, from, to);
    if (ring.covered) return ring.records.length > replayEventsMax ? tooLarge() : answer(ring.records, 'ring');
    this.ctx.broker.readHistory({ subject: channel, afterOffset: from, toOffset: to, maxEvents: replayEventsMax }, (result) => {
      if (result.ok) return answer(result.events, 'broker');
      if (result.reason === 'too_many') return tooLarge();
      telemetry.count(M.replays, { outcome: result.reason });
      this.outbox.error(session, 'history_unavailable', `events in (${from}, ${to}] are no longer retained (${result.reason})`, id);
    });
  }

  /** Works out the reply state and replay for one channel of a subscribe request. */
  protected resolve(sub: Subscription, since: Position | undefined, done: (resolution: Resolution) => void): void {
    const { replayEventsMax } = this.ctx.options;
    const epoch = this.fanOut.epoch;
    const position = sub.pattern ? this.history.streamOffset : this.history.position(sub.key);
    const here = { epoch, offset: position };
    const fail = (reason: RecoveryFailure, source: string): void =>
      done({ state: { ...here, recovered: false, reason }, replay: [], through: position, source });
    if (since === undefined) return done({ state: here, replay: [], through: position, source: null });
    if (since.epoch !== epoch) return fail('epoch_changed', 'check');
    // The replay ends where the client will be; live events up to there were delivered by it (the seam).
    const succeed = (replay: readonly (EventRecord | BrokerEvent)[], source: string): void =>
      done({
        state: { ...here, recovered: true, replayed: replay.length },
        replay,
        through: Math.max(position, since.offset, replay.at(-1)?.offset ?? 0),
        source,
      });
    // A position beyond what this gateway has read is not necessarily another timeline: a restarted
    // instance may still be catching up with the stream. Only the broker can tell (beyond_head).
    const behind = since.offset > this.history.streamOffset;
    if (!sub.pattern && !behind) {
      const ring = this.history.read(sub.key, since.offset);
      if (ring.covered) {
        if (ring.records.length > replayEventsMax) return fail('too_many', 'ring');
        return succeed(ring.records, 'ring');
      }
    }
    const request = { subject: sub.key, afterOffset: since.offset, maxEvents: replayEventsMax };
    this.ctx.broker.readHistory(behind ? request : { ...request, toOffset: this.history.streamOffset }, (result) => {
      if (result.ok) succeed(result.events, 'broker');
      else fail(result.reason === 'beyond_head' ? 'epoch_changed' : result.reason, 'broker');
    });
  }

  /** Queues the replay, then the live events held meanwhile, and switches the subscription to live. */
  protected release(sub: Subscription, replay: readonly EventRecord[], through: number, replayed: Set<number>): void {
    const held = sub.held;
    sub.held = null;
    if (sub.session.subscriptions.get(sub.key) !== sub) return;
    for (const record of replay) {
      if (replayed.has(record.offset)) continue;
      replayed.add(record.offset);
      this.outbox.replayed(sub.session, record);
    }
    sub.deliveredThrough = through;
    if (held === null) return;
    if (held.overflowed) {
      // Too much arrived while the replay loaded: say so rather than send a partial stream, on every channel
      // that had events held back (for a pattern, not only the channel of the first one).
      for (const [channel, first] of held.firstByChannel) this.outbox.gap(sub.session, channel, first, this.history.streamOffset, 'too_many');
      sub.deliveredThrough = this.history.streamOffset;
      return;
    }
    for (const record of held.records) this.fanOut.deliver(sub, record, this.fanOut.classes.of(record.channel));
  }
}
