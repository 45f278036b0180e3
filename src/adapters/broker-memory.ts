// The embedded broker: in-process, assigns offsets, keeps bounded history, so `npm start` needs nothing
// else. It implements the same Broker port as the JetStream adapter and follows the same rules: one
// stream, a global offset, `prev` per channel, and history answers that are exact or refused.
//
// Exactness per channel works like the gateway's rings (src/core/history.ts): each channel remembers the
// highest offset it lost to retention; a read after offset A is exact when A is at least that. A channel
// whose events have all expired is still remembered (its last offset gives the next event's `prev`), up to
// idleChannelsMax of them; beyond that the oldest is forgotten and its last offset joins a global
// watermark that every read must clear, and a new channel's `prev` becomes unknown (null).
//
// Every read costs what it returns, never the whole log (docs/design.md, "bounded work per request"): each
// channel keeps its own retained events, so a channel read is a binary search plus the answer; a pattern
// read finds its channels through a tree of channel names (src/core/subject-tree.ts) that skips every
// subtree with nothing new, and gives up with `too_many` past INDEX_STEPS_MAX nodes or `maxEvents` events.
import { assert } from '../core/assert.js';
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult, Random } from '../core/ports.js';
import { RETAINED_BYTES_UNLIMITED_BUDGET } from '../core/memory-budget.js';
import { isPattern } from '../core/protocol.js';
import { SubjectTree, type SubjectPath } from '../core/subject-tree.js';

export interface MemoryBrokerRetention {
  readonly eventsMax: number;
  readonly bytesMax: number;
  readonly ageMs: number;
}

export const defaultRetention: MemoryBrokerRetention = { eventsMax: 100_000, bytesMax: RETAINED_BYTES_UNLIMITED_BUDGET, ageMs: 5 * 60_000 };

const IDLE_CHANNELS_MAX = 100_000;
/**
 * What the log holds beyond an event's data, and what remembering one channel costs (its log, its place
 * in the name tree, the map entry): measured on Node 20 by `npm run bench -- retained-memory`. `bytesMax`
 * bounds all of it, so the broker's memory is what the memory budget reserves for it.
 */
export const EVENT_OVERHEAD_BYTES = 136;
export const CHANNEL_OVERHEAD_BYTES = 864;
/** Index nodes one pattern read may enter: well under a millisecond of work. */
export const INDEX_STEPS_MAX = 10_000;

interface Stored extends BrokerEvent {
  readonly atMs: number;
}

/** One channel: its retained events (oldest first, from `head`) and what retention took from it. */
interface ChannelLog {
  readonly name: string;
  last: number;
  evictedThrough: number;
  readonly events: Stored[];
  head: number;
  /** Where the channel sits in the name tree (touched on every publish). */
  path: SubjectPath;
}

const retained = (log: ChannelLog): number => log.events.length - log.head;

/** Index of the first retained event of `events[head..]` with offset above `offset`. */
function firstAfter(events: readonly Stored[], head: number, offset: number): number {
  let lo = head;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.offset <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Drops `events[0..head)` once that dead prefix dominates, so arrays stay O(retained). */
function compact(events: Stored[], head: number, slack: number): number {
  if (head <= slack || head * 2 <= events.length) return head;
  events.splice(0, head);
  return 0;
}

export class MemoryBroker implements Broker {
  private readonly log: Stored[] = [];
  private head = 0;
  private bytes = 0;
  private offset = 0;
  private readonly channels = new Map<string, ChannelLog>();
  private readonly tree = new SubjectTree<ChannelLog>();
  /** Channels with no retained event, oldest first (Map keeps insertion order). */
  private readonly idle = new Map<string, ChannelLog>();
  private forgottenThrough = 0;
  private sink: BrokerSink | null = null;
  private readonly epochId: string;

  constructor(
    private readonly clock: Clock,
    random: Random,
    private readonly retention: MemoryBrokerRetention = defaultRetention,
  ) {
    // A fresh timeline per broker start: offsets from a previous process mean nothing here.
    this.epochId = `mem-${Math.floor(random.next() * 2 ** 32).toString(36)}${Math.floor(random.next() * 2 ** 32).toString(36)}`;
  }

  epoch(): string {
    return this.epochId;
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    sink.onStatus('connecting');
    this.expire();
    for (let i = this.head; i < this.log.length; i++) sink.onEvent(this.log[i]!);
    sink.onStatus('live');
  }

  stop(): void {
    this.sink = null;
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    let log = this.channels.get(channel);
    const event: Stored = {
      channel,
      offset: ++this.offset,
      // Once any channel was forgotten, a channel we do not know may be one of them: prev unknown.
      prev: log !== undefined ? log.last : this.forgottenThrough === 0 ? 0 : null,
      data,
      atMs: this.clock.nowMs(),
    };
    if (log === undefined) {
      log = { name: channel, last: event.offset, evictedThrough: event.prev ?? event.offset - 1, events: [], head: 0, path: [] };
      log.path = this.tree.insert(channel, log);
      this.channels.set(channel, log);
      this.bytes += CHANNEL_OVERHEAD_BYTES;
    } else if (retained(log) === 0) this.idle.delete(channel);
    log.last = event.offset;
    log.events.push(event);
    this.tree.touch(log.path, event.offset);
    this.log.push(event);
    this.bytes += data.length + EVENT_OVERHEAD_BYTES;
    this.expire();
    done({ ok: true, epoch: this.epochId, offset: event.offset });
    this.sink?.onEvent(event);
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.expire();
    const after = request.afterOffset;
    if (after > this.offset) return done({ ok: false, reason: 'beyond_head' });
    if (after < this.forgottenThrough) return done({ ok: false, reason: 'history_expired' });
    const to = Math.min(request.toOffset ?? this.offset, this.offset);
    if (!isPattern(request.subject)) return done(this.readChannel(this.channels.get(request.subject), after, to, request.maxEvents));
    done(this.readPattern(request.subject, after, to, request.maxEvents));
  }

  /** The newest offset assigned (0 before the first publish). */
  get headOffset(): number {
    return this.offset;
  }

  /**
   * Visits every retained event after `afterOffset`, in offset order: what an ordered consumer resuming
   * from there reads (start() replays the same from the oldest). The lab's broker twin resumes with it.
   */
  forEachRetained(afterOffset: number, visit: (event: BrokerEvent) => void): void {
    this.expire();
    for (let i = firstAfter(this.log, this.head, afterOffset); i < this.log.length; i++) visit(this.log[i]!);
  }

  private readChannel(log: ChannelLog | undefined, after: number, to: number, maxEvents: number): HistoryResult {
    if (log === undefined) return { ok: true, events: [] };
    if (log.evictedThrough > after) return { ok: false, reason: 'history_expired' };
    const from = firstAfter(log.events, log.head, after);
    const end = firstAfter(log.events, from, to);
    if (end - from > maxEvents) return { ok: false, reason: 'too_many' };
    return { ok: true, events: log.events.slice(from, end) };
  }

  /**
   * Events of every channel matching `pattern` in (after, to], in offset order. A channel whose newest
   * offset is at or below `after` has nothing to give and cannot have lost anything after it either
   * (evictedThrough ≤ last), so the tree's pruning is exact for both questions.
   */
  private readPattern(pattern: string, after: number, to: number, maxEvents: number): HistoryResult {
    const ranges: { log: ChannelLog; from: number; end: number }[] = [];
    let count = 0;
    let refusal: 'history_expired' | 'too_many' | null = null;
    const end = this.tree.match(
      pattern,
      after,
      (log) => {
        if (log.evictedThrough > after) refusal = 'history_expired';
        else {
          const from = firstAfter(log.events, log.head, after);
          const stop = firstAfter(log.events, from, to);
          count += stop - from;
          if (count > maxEvents) refusal = 'too_many';
          else if (stop > from) ranges.push({ log, from, end: stop });
        }
        return refusal === null;
      },
      INDEX_STEPS_MAX,
    );
    if (refusal !== null) return { ok: false, reason: refusal };
    if (end === 'steps_exhausted') return { ok: false, reason: 'too_many' };
    const events: Stored[] = [];
    for (const r of ranges) for (let i = r.from; i < r.end; i++) events.push(r.log.events[i]!);
    // At most maxEvents events: sorting them is the bounded part of the merge.
    if (ranges.length > 1) events.sort((a, b) => a.offset - b.offset);
    return { ok: true, events };
  }

  /**
   * Applies retention: age, event count and bytes. Over the byte bound the broker forgets the oldest thing
   * it holds first, and idle channels are older than any retained event (a channel goes idle when its
   * last event leaves, and events leave in offset order).
   */
  private expire(): void {
    const cutoffMs = this.clock.nowMs() - this.retention.ageMs;
    for (;;) {
      if (this.bytes > this.retention.bytesMax && this.idle.size > 0) {
        this.forgetOldestIdle();
        continue;
      }
      const event = this.log[this.head];
      if (event === undefined) break;
      const over = this.log.length - this.head > this.retention.eventsMax || this.bytes > this.retention.bytesMax;
      if (!over && event.atMs > cutoffMs) break;
      this.log[this.head++] = undefined as unknown as Stored;
      this.bytes -= event.data.length + EVENT_OVERHEAD_BYTES;
      const log = this.channels.get(event.channel)!;
      assert(log.events[log.head] === event, 'retention out of channel order');
      log.evictedThrough = event.offset;
      log.events[log.head++] = undefined as unknown as Stored;
      log.head = compact(log.events, log.head, 64);
      if (retained(log) === 0) this.idle.set(event.channel, log);
    }
    while (this.idle.size > IDLE_CHANNELS_MAX) this.forgetOldestIdle();
    this.head = compact(this.log, this.head, 4096);
  }

  /** Forgets the channel idle longest: its last offset joins the watermark every read must clear. */
  private forgetOldestIdle(): void {
    const [channel, log] = this.idle.entries().next().value as [string, ChannelLog];
    this.idle.delete(channel);
    this.channels.delete(channel);
    this.tree.delete(channel);
    this.bytes -= CHANNEL_OVERHEAD_BYTES;
    this.forgottenThrough = Math.max(this.forgottenThrough, log.last);
  }
}
