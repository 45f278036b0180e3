// The reference model: deliberately tiny and NOT a copy of the gateway. It keeps the list of published
// events, the broker's retention rule, and per logical client what it has seen and what it is owed; it
// checks the client-visible stream against the invariants (docs/design.md, "Invariants I1–I10"):
//   I1 per channel and subscription, offsets strictly increase      I2 no offset twice, across resumes included
//   I3 every event after the resume point arrives, or a gap / recovered:false names it
//   I4 a resume replays exactly the suffix after `since`, or says recovered:false
//   I5 one publish, one byte sequence, for every recipient
//   I6 a stalled client's queue stays bounded, and it delays no one (I3 keeps holding for the others)
// It never looks inside the gateway except for I6's byte bound (queue bytes are not visible on the wire).
import type { ServerMessage } from '../../src/core/protocol.js';
import { subjectMatches } from '../../src/core/protocol.js';

export interface Published {
  readonly channel: string;
  readonly offset: number;
  readonly prev: number;
  readonly data: string;
  readonly atMs: number;
}

export interface Retention {
  readonly eventsMax: number;
  readonly ageMs: number;
}

/**
 * One subscription of the current session, as the client's stream shows it: it opens with its `subscribed`
 * reply and ends with its `unsubscribed` reply (frames are attributed in stream order, so frames queued
 * before a reply belong to the subscription before it).
 */
export interface SubState {
  /** Events after this offset are owed (the resume point, or the reply's position). */
  readonly baseline: number;
  /** Set once the client asked to end it: the gateway stopped delivering there, so it owes nothing later. */
  until: number | null;
  /**
   * Highest offset delivered or named by a gap of THIS subscription, per concrete channel (I1 holds per
   * subscription: a later subscription that resumes from `since` re-opens the channel after `since`, and
   * may bring again offsets an earlier gap named, because they were never delivered).
   */
  readonly accounted: Map<string, number>;
  /** Offsets this subscription's gap notices named: for I3 a named offset is as good as a delivered one. */
  readonly named: Set<number>;
}

export type PendingRequest =
  | { readonly kind: 'subscribe'; readonly keys: readonly string[]; readonly since: Readonly<Record<string, number>>; readonly head: number }
  | { readonly kind: 'unsubscribe'; readonly keys: readonly string[] };

export class ModelClient {
  connected = false;
  stalled = false;
  /** Resume point per subscription key: the last offset delivered, or the reply's position. */
  readonly position = new Map<string, number>();
  /** Last offset delivered per concrete channel, over every session of this client (I1, I2). */
  readonly lastDelivered = new Map<string, number>();
  // Per session:
  /** Keys the client asked for and has not asked to drop: what the gateway holds for it. */
  readonly requested = new Set<string>();
  /** Subscriptions the stream has opened (by their reply) and not yet closed. */
  readonly subs = new Map<string, SubState>();
  readonly ended: (SubState & { readonly key: string; readonly until: number })[] = [];
  /** Offsets delivered in this session. */
  readonly delivered = new Set<number>();
  readonly pending = new Map<number, PendingRequest>();
  welcomed = false;

  constructor(readonly index: number) {}

  newSession(): void {
    this.connected = true;
    this.stalled = false;
    this.welcomed = false;
    this.requested.clear();
    this.subs.clear();
    this.ended.length = 0;
    this.delivered.clear();
    this.pending.clear();
  }

  endSession(): void {
    this.connected = false;
    this.stalled = false;
    this.requested.clear();
    this.subs.clear();
    this.pending.clear();
  }

  /** The client sends `subscribe` for keys it does not hold, with the stream at `head`. */
  requestSubscribe(id: number, keys: readonly string[], since: Readonly<Record<string, number>>, head: number): void {
    for (const key of keys) this.requested.add(key);
    this.pending.set(id, { kind: 'subscribe', keys, since, head });
  }

  /** The client sends `unsubscribe` for keys whose subscription is open, with the stream at `head`. */
  requestUnsubscribe(id: number, keys: readonly string[], head: number): void {
    for (const key of keys) {
      this.requested.delete(key);
      this.subs.get(key)!.until = head;
    }
    this.pending.set(id, { kind: 'unsubscribe', keys });
  }
}

export class ModelViolation extends Error {
  override name = 'ModelViolation';
}

export function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ModelViolation(message);
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

export class Model {
  readonly published: Published[] = [];
  readonly lastOnChannel = new Map<string, number>();
  readonly clients: ModelClient[];
  nowMs = 0;
  /**
   * Replies race publishes (the scheduler suites): a reply's position and replay count are fixed when the
   * request is resolved, and events published meanwhile follow the reply. Exactness is then checked on the
   * stream itself: everything after the resume point arrives (I3), once and in order (I1, I2).
   */
  racing = false;
  /** Error frames seen, by code; recovery outcomes of subscribe replies (for the telemetry check). */
  readonly errors = new Map<string, number>();
  readonly resumes = new Map<string, number>();
  readonly replays = new Map<string, number>();
  throttleNotices = 0;
  private readonly bytesByOffset = new Map<number, string>();
  private dataCounter = 0;

  constructor(
    readonly keys: readonly string[],
    clients: number,
    readonly retention: Retention,
    readonly replayEventsMax: number,
    readonly epoch: string,
    /** A request's replay budget in frame bytes (outbound.queueBytesMax, docs/protocol.md). */
    readonly replayBytesMax: number,
  ) {
    this.clients = Array.from({ length: clients }, (_, i) => new ModelClient(i));
  }

  /** Bytes of an event's frame as docs/protocol.md spells it (the budget counts frames, not payloads). */
  frameBytes(e: Published): number {
    return utf8Encoder.encode(`{"type":"event","ch":${JSON.stringify(e.channel)},"offset":${e.offset},"prev":${e.prev},"data":${e.data}}`).byteLength;
  }

  /** Does a replay of `events` fit what is left of a request's budget? */
  fits(events: readonly Published[], budget: { events: number; bytes: number }): boolean {
    return events.length <= budget.events && events.reduce((n, e) => n + this.frameBytes(e), 0) <= budget.bytes;
  }

  get head(): number {
    return this.published.length;
  }

  nextData(size: number): string {
    return JSON.stringify(`e${++this.dataCounter}${'x'.repeat(size)}`);
  }

  record(channel: string, offset: number, data: string): void {
    expectThat(offset === this.head + 1, `publish acknowledged offset ${offset}, expected ${this.head + 1}`);
    this.published.push({ channel, offset, prev: this.lastOnChannel.get(channel) ?? 0, data, atMs: this.nowMs });
    this.lastOnChannel.set(channel, offset);
  }

  keyOf(channel: string): string {
    const key = this.keys.find((k) => subjectMatches(k, channel));
    expectThat(key !== undefined, `event on ${channel}, which no key covers`);
    return key;
  }

  /** Published events matching `key` with offset in (after, to]. */
  suffix(key: string, after: number, to = this.head): Published[] {
    return this.published.filter((e) => e.offset > after && e.offset <= to && subjectMatches(key, e.channel));
  }

  /** The broker still holds every event matching `key` after `after` (MemoryBroker's retention rule). */
  brokerRetains(key: string, after: number): boolean {
    const cutoff = this.nowMs - this.retention.ageMs;
    return this.published.every(
      (e) => e.offset <= after || !subjectMatches(key, e.channel) || (e.offset > this.head - this.retention.eventsMax && e.atMs > cutoff),
    );
  }

  /** The position a reply may name for `key`, resolved with the stream at `head`: not before its last event, not beyond. */
  checkPosition(key: string, offset: number, head: number): void {
    const last = Math.max(0, ...this.published.filter((e) => e.offset <= head && subjectMatches(key, e.channel)).map((e) => e.offset));
    expectThat(offset >= last && offset <= head, `position ${offset} for ${key}: last event ${last}, head ${head}`);
  }

  /** I5: every copy of one publish is the same bytes, and they say what was published (prev included). */
  checkEventFrame(bytes: Uint8Array, m: Extract<ServerMessage, { type: 'event' }>): Published {
    const e = this.published[m.offset - 1];
    expectThat(e !== undefined && e.channel === m.ch, `event ${m.ch}@${m.offset} was never published there`);
    expectThat(m.prev === e.prev, `event ${m.offset} says prev ${m.prev}, the channel's previous offset is ${e.prev}`);
    expectThat(JSON.stringify(m.data) === e.data, `event ${m.offset} carries ${JSON.stringify(m.data)}, published ${e.data}`);
    const text = utf8.decode(bytes);
    const first = this.bytesByOffset.get(m.offset);
    if (first === undefined) this.bytesByOffset.set(m.offset, text);
    else expectThat(first === text, `I5: two encodings of offset ${m.offset}: ${first} vs ${text}`);
    return e;
  }

  /** Folds one stream frame (not a replay answer) of client c into the model, checking I1–I4. */
  onFrame(c: ModelClient, bytes: Uint8Array): void {
    const m = JSON.parse(utf8.decode(bytes)) as ServerMessage;
    switch (m.type) {
      case 'welcome':
        expectThat(!c.welcomed, 'second welcome in one session');
        c.welcomed = true;
        return;
      case 'subscribed':
        return this.onSubscribed(c, m);
      case 'unsubscribed':
        return this.onUnsubscribed(c, m);
      case 'throttle': {
        this.throttleNotices++;
        expectThat(m.level >= 0 && m.level <= 3 && m.percent >= 0 && m.percent <= 100 && m.message.length > 10, `throttle notice ${JSON.stringify(m)}`);
        // The notice says what the gateway now does (docs/design.md, "Slow clients"): level 1 conflates, 2 and 3 shed.
        const says = m.level === 0 ? /^caught up/ : m.level === 1 ? /\b(\d+)% full\): conflating/ : /\b(\d+)% full\): shedding/;
        expectThat(says.test(m.message) && (m.level === 0 || m.message.includes(`${m.percent}% full`)), `throttle notice ${JSON.stringify(m)}`);
        return;
      }
      case 'event': {
        this.checkEventFrame(bytes, m);
        const key = this.keyOf(m.ch);
        const sub = c.subs.get(key);
        expectThat(sub !== undefined, `event ${m.ch}@${m.offset} for a subscription not (yet) confirmed`);
        expectThat(m.offset > sub.baseline, `I4: event ${m.offset} at or before the resume point ${sub.baseline} of ${key}`);
        expectThat(sub.until === null || m.offset <= sub.until, `event ${m.ch}@${m.offset} for a subscription of ${key} that ended at ${sub.until}`);
        const last = c.lastDelivered.get(m.ch) ?? 0;
        expectThat(m.offset > last, `I1/I2: ${m.ch}@${m.offset} after ${last} (out of order or duplicate)`);
        const accounted = sub.accounted.get(m.ch) ?? 0;
        expectThat(m.offset > accounted, `I1: ${m.ch}@${m.offset} after a gap notice that named up to ${accounted}`);
        c.lastDelivered.set(m.ch, m.offset);
        sub.accounted.set(m.ch, m.offset);
        c.delivered.add(m.offset);
        c.position.set(key, Math.max(c.position.get(key) ?? 0, m.offset));
        return;
      }
      case 'gap': {
        const key = this.keyOf(m.ch);
        const sub = c.subs.get(key);
        expectThat(sub !== undefined, `gap on ${m.ch} for a subscription not confirmed`);
        expectThat(m.from <= m.to && m.to <= this.head, `gap ${m.from}..${m.to} is not a range of the stream (head ${this.head})`);
        expectThat(m.from > sub.baseline, `I4: gap ${m.from}..${m.to} on ${m.ch} at or before the resume point ${sub.baseline} of ${key}`);
        expectThat(sub.until === null || m.to <= sub.until, `gap ${m.from}..${m.to} on ${m.ch} for a subscription of ${key} that ended at ${sub.until}`);
        expectThat(m.from > (sub.accounted.get(m.ch) ?? 0), `I1: gap ${m.from}..${m.to} on ${m.ch} names offsets already accounted`);
        expectThat(['shed', 'conflated', 'too_many'].includes(m.reason), `gap reason ${m.reason}`);
        for (let o = m.from; o <= m.to; o++) if (this.published[o - 1]?.channel === m.ch) sub.named.add(o);
        sub.accounted.set(m.ch, m.to);
        return;
      }
      default:
        throw new ModelViolation(`unexpected ${m.type} frame in the stream: ${utf8.decode(bytes)}`);
    }
  }

  private onSubscribed(c: ModelClient, m: Extract<ServerMessage, { type: 'subscribed' }>): void {
    const request = c.pending.get(m.id);
    expectThat(request?.kind === 'subscribe', `subscribed ${m.id} answers no subscribe request`);
    c.pending.delete(m.id);
    expectThat(Object.keys(m.channels).sort().join() === [...request.keys].sort().join(), `subscribed ${m.id} names ${Object.keys(m.channels)}`);
    // One replay budget for the whole request, spent in the order it lists its channels (docs/protocol.md).
    const budget = { events: this.replayEventsMax, bytes: this.replayBytesMax };
    for (const key of request.keys) {
      const state = m.channels[key]!;
      // Replies come in request order: an earlier subscription of this key was closed by its own reply.
      expectThat(!c.subs.has(key), `subscribed ${m.id} opens ${key} while an earlier subscription of it is still open`);
      expectThat(state.epoch === this.epoch, `epoch ${state.epoch}`);
      if (this.racing) expectThat(state.offset <= this.head, `position ${state.offset} beyond the head ${this.head}`);
      else this.checkPosition(key, state.offset, request.head);
      const since = request.since[key];
      let baseline: number;
      if (since === undefined) {
        expectThat(state.recovered === undefined, `recovered without since on ${key}`);
        baseline = state.offset;
      } else {
        const outcome = state.recovered === true ? 'recovered' : String(state.reason);
        this.resumes.set(outcome, (this.resumes.get(outcome) ?? 0) + 1);
        const suffix = this.suffix(key, since, this.racing ? this.head : request.head);
        const owed = suffix.length;
        if (state.recovered === true) {
          // I4: recovered means exactly the suffix after `since` (its first events, when replies race
          // publishes), and never more than what was left of the request's budget.
          const replayedOk = this.racing ? state.replayed! <= owed : state.replayed === owed;
          const replayed = suffix.slice(0, state.replayed);
          expectThat(
            replayedOk && this.fits(replayed, budget),
            `I4: ${key} since ${since} replayed ${state.replayed}, the suffix has ${owed}, the budget ${JSON.stringify(budget)}`,
          );
          budget.events -= replayed.length;
          budget.bytes -= replayed.reduce((n, e) => n + this.frameBytes(e), 0);
          // The stream re-opens after `since` for this subscription (its own `accounted`): offsets an
          // earlier subscription's gap named come again, offsets already delivered never do (I2).
          baseline = since;
        } else {
          // Refusing is allowed only for a reason that holds (the ring may still recover what the broker lost).
          const reason = state.reason;
          const ok = (reason === 'too_many' && !this.fits(suffix, budget)) || (reason === 'history_expired' && !this.brokerRetains(key, since));
          expectThat(
            ok,
            `I4: ${key} since ${since}: recovered:false (${reason}) although ${owed} events are owed and the broker ${this.brokerRetains(key, since) ? 'retains' : 'lost'} them`,
          );
          baseline = state.offset;
        }
      }
      c.subs.set(key, { baseline, until: null, accounted: new Map(), named: new Set() });
      c.position.set(key, Math.max(baseline, c.position.get(key) ?? 0));
    }
  }

  private onUnsubscribed(c: ModelClient, m: Extract<ServerMessage, { type: 'unsubscribed' }>): void {
    const request = c.pending.get(m.id);
    expectThat(request?.kind === 'unsubscribe', `unsubscribed ${m.id} answers no unsubscribe request`);
    c.pending.delete(m.id);
    expectThat(m.channels.join() === request.keys.join(), `unsubscribed ${m.id} names ${m.channels}, expected ${request.keys}`);
    for (const key of request.keys) {
      const sub = c.subs.get(key)!;
      c.subs.delete(key);
      c.ended.push({ ...sub, key, until: sub.until! });
    }
  }

  /**
   * I3 at a quiet moment: everything owed to client c in this session arrived or was named by a gap. With
   * `recoverable` (I9, at a drain), an event may instead still be in broker history for the client's resume.
   */
  checkOwed(c: ModelClient, recoverable?: (key: string, e: Published) => boolean): void {
    const owed: { key: string; baseline: number; until: number; named: ReadonlySet<number> }[] = [...c.ended];
    for (const [key, sub] of c.subs) owed.push({ key, baseline: sub.baseline, until: sub.until ?? this.head, named: sub.named });
    for (const { key, baseline, until, named } of owed) {
      for (const e of this.suffix(key, baseline, until)) {
        const covered = c.delivered.has(e.offset) || named.has(e.offset);
        if (recoverable !== undefined) {
          expectThat(covered || recoverable(key, e), `I9: client ${c.index} neither got ${e.channel}@${e.offset} nor can recover it from broker history`);
          continue;
        }
        expectThat(covered, `I3: client ${c.index} never got ${e.channel}@${e.offset} (owed on ${key} after ${baseline}) nor a gap naming it`);
      }
    }
  }

  /** Checks a replay answer of (from, to] on `channel`: exact, or refused for a reason that holds. */
  checkReplayAnswer(channel: string, from: number, to: number, frames: readonly Uint8Array[]): number {
    const messages = frames.map((b) => JSON.parse(utf8.decode(b)) as ServerMessage);
    const end = messages.findIndex((m) => m.type === 'replayed' || m.type === 'error');
    expectThat(end >= 0, `replay (${from}, ${to}] got no answer`);
    const answer = messages[end]!;
    const expected = this.published.filter((e) => e.channel === channel && e.offset > from && e.offset <= Math.min(to, this.head));
    if (answer.type === 'error') {
      this.errors.set(answer.code, (this.errors.get(answer.code) ?? 0) + 1);
      expectThat(answer.message.length > 10, `error ${answer.code} without an explanation`);
      const retains = this.brokerRetains(channel, from);
      const ok =
        (answer.code === 'replay_too_large' && !this.fits(expected, { events: this.replayEventsMax, bytes: this.replayBytesMax })) ||
        (answer.code === 'history_unavailable' && !retains);
      expectThat(
        ok && end === 0,
        `I4 (replay): (${from}, ${to}] of ${channel} refused ${answer.code}: ${expected.length} events, broker ${retains ? 'retains' : 'lost'} them`,
      );
      return end + 1;
    }
    expectThat(answer.type === 'replayed', 'unreachable');
    this.replays.set('answered', (this.replays.get('answered') ?? 0) + 1);
    const events = messages.slice(0, end);
    expectThat(
      events.map((m) => (m.type === 'event' ? `${m.ch}@${m.offset}` : m.type)).join() === expected.map((e) => `${e.channel}@${e.offset}`).join(),
      `I4 (replay): (${from}, ${to}] of ${channel}: got ${events.map((m) => (m.type === 'event' ? m.offset : m.type))}, expected ${expected.map((e) => e.offset)}`,
    );
    events.forEach((m, i) => m.type === 'event' && this.checkEventFrame(frames[i]!, m));
    // `to` is clamped to the head, never below `from` (a range past the head is empty).
    expectThat(
      answer.count === expected.length && answer.to === Math.max(from, Math.min(to, this.head)) && answer.from === from,
      `replayed says ${JSON.stringify(answer)}`,
    );
    return end + 1;
  }
}
