// The embedded broker: in-process, assigns offsets, keeps bounded history, so `npm start` needs nothing
// else. It implements the same Broker port as the JetStream adapter and follows the same rules: one
// stream, a global offset, `prev` per channel, and history answers that are exact or refused.
//
// Exactness per channel works like the gateway's rings (src/core/history.ts): each channel remembers the
// highest offset it lost to retention; a read after offset A is exact when A is at least that. A channel
// whose events have all expired is still remembered (its last offset gives the next event's `prev`), up to
// idleChannelsMax of them; beyond that the oldest is forgotten and its last offset joins a global
// watermark that every read must clear, and a new channel's `prev` becomes unknown (null).
import type { Broker, BrokerEvent, BrokerSink, Clock, HistoryRequest, HistoryResult, PublishResult, Random } from '../core/ports.js';
import { isPattern, subjectMatches } from '../core/protocol.js';

export interface MemoryBrokerRetention {
  readonly eventsMax: number;
  readonly bytesMax: number;
  readonly ageMs: number;
}

export const defaultRetention: MemoryBrokerRetention = { eventsMax: 100_000, bytesMax: 64 * 1024 * 1024, ageMs: 5 * 60_000 };

const IDLE_CHANNELS_MAX = 100_000;

interface Stored extends BrokerEvent {
  readonly atMs: number;
}

interface ChannelInfo {
  last: number;
  evictedThrough: number;
  retained: number;
}

export class MemoryBroker implements Broker {
  private readonly log: Stored[] = [];
  private head = 0;
  private bytes = 0;
  private offset = 0;
  private readonly channels = new Map<string, ChannelInfo>();
  /** Channels with no retained event, oldest first (Map keeps insertion order). */
  private readonly idle = new Map<string, ChannelInfo>();
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
    const info = this.channels.get(channel);
    const event: Stored = {
      channel,
      offset: ++this.offset,
      // Once any channel was forgotten, a channel we do not know may be one of them: prev unknown.
      prev: info !== undefined ? info.last : this.forgottenThrough === 0 ? 0 : null,
      data,
      atMs: this.clock.nowMs(),
    };
    this.log.push(event);
    this.bytes += data.length;
    if (info === undefined) this.channels.set(channel, { last: event.offset, evictedThrough: event.prev ?? event.offset - 1, retained: 1 });
    else {
      if (info.retained === 0) this.idle.delete(channel);
      info.last = event.offset;
      info.retained++;
    }
    this.expire();
    done({ ok: true, epoch: this.epochId, offset: event.offset });
    this.sink?.onEvent(event);
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.expire();
    const after = request.afterOffset;
    if (after > this.offset) return done({ ok: false, reason: 'beyond_head' });
    if (after < this.forgottenThrough || this.lostAfter(request.subject, after)) return done({ ok: false, reason: 'history_expired' });
    const to = request.toOffset ?? this.offset;
    const events: BrokerEvent[] = [];
    for (let i = this.firstIndexAfter(after); i < this.log.length; i++) {
      const event = this.log[i]!;
      if (event.offset > to) break;
      if (!subjectMatches(request.subject, event.channel)) continue;
      if (events.length === request.maxEvents) return done({ ok: false, reason: 'too_many' });
      events.push(event);
    }
    done({ ok: true, events });
  }

  /** The newest offset assigned (0 before the first publish). */
  get headOffset(): number {
    return this.offset;
  }

  private expire(): void {
    const cutoffMs = this.clock.nowMs() - this.retention.ageMs;
    while (this.head < this.log.length) {
      const event = this.log[this.head]!;
      const over = this.log.length - this.head > this.retention.eventsMax || this.bytes > this.retention.bytesMax;
      if (!over && event.atMs > cutoffMs) break;
      this.log[this.head++] = undefined as unknown as Stored;
      this.bytes -= event.data.length;
      const info = this.channels.get(event.channel)!;
      info.evictedThrough = event.offset;
      if (--info.retained === 0) this.idle.set(event.channel, info);
    }
    while (this.idle.size > IDLE_CHANNELS_MAX) {
      const [channel, info] = this.idle.entries().next().value as [string, ChannelInfo];
      this.idle.delete(channel);
      this.channels.delete(channel);
      this.forgottenThrough = Math.max(this.forgottenThrough, info.last);
    }
    if (this.head > 4096 && this.head * 2 > this.log.length) {
      this.log.splice(0, this.head);
      this.head = 0;
    }
  }

  private firstIndexAfter(offset: number): number {
    let lo = this.head;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Did retention drop an event after `after` on a channel matching `subject`? */
  private lostAfter(subject: string, after: number): boolean {
    if (!isPattern(subject)) return (this.channels.get(subject)?.evictedThrough ?? 0) > after;
    for (const [channel, info] of this.channels) if (info.evictedThrough > after && subjectMatches(subject, channel)) return true;
    return false;
  }
}
