// One shared history ring per channel (docs/design.md, "History and recovery"), bounded by count, bytes and age. No per-connection
// replay buffers: a resume reads the ring, and only when the ring cannot prove it holds the whole suffix
// does the gateway ask the broker.
//
// When does the ring hold every event of channel c after offset `after`? Events leave a ring only by
// eviction, and each ring records `evictedThrough`, the highest offset it evicted. A ring created while
// the gateway runs starts with evictedThrough = prev of its first event: everything on c up to that offset
// happened before the ring existed. So the ring answers exactly when after >= evictedThrough.
// Example: c has events 3, 9, 12 and the ring was created at 9 (prev 3), so evictedThrough = 3. A client
// at 3 gets [9, 12]; a client at 2 would need event 3, which the ring never held: ask the broker.
//
// The feed itself can lose events: after a broker outage longer than its retention, the stream resumes
// past offsets that expired meanwhile. The stream's offsets are dense (one sequence over the whole stream,
// which the gateway reads entire), so a jump from 7 to 12 means 8–11 never arrived: every ring, and the
// coverage of channels without one, stops claiming anything at or before 11. A `prev` beyond a ring's
// last offset says the same for one channel.
//
// Memory: each ring is bounded per channel, and all rings together by `totalBytesMax`, counted as what
// they really hold (frame bytes plus the measured cost of a record and of a ring). Past that bound the
// oldest record of the whole history goes first, whatever its channel; that is an eviction like any
// other, so a resume that needed it is answered from the broker or with recovered:false, never partially.
import { assert } from './assert.js';
import type { BrokerEvent, Frame } from './ports.js';

export interface EventRecord {
  readonly channel: string;
  readonly offset: number;
  readonly prev: number | null;
  readonly frame: Frame;
  readonly atMs: number;
  evicted: boolean;
}

export interface HistoryLimits {
  readonly eventsMax: number;
  readonly bytesMax: number;
  readonly ageMs: number;
  /** Bytes all rings together may hold (see recordBytes and RING_BYTES). */
  readonly totalBytesMax: number;
}

/**
 * What one record costs beyond its frame bytes — the record, its Uint8Array and ArrayBuffer, two array
 * slots — and one ring with its array and map entry: ~355 B and ~270 B measured on Node 20 by
 * `npm run bench -- retained-memory` (heap and external memory over 200,000 items), rounded up.
 */
export const RECORD_OVERHEAD_BYTES = 384;
export const RING_BYTES = 288;

export function recordBytes(record: EventRecord): number {
  return record.frame.bytes.byteLength + RECORD_OVERHEAD_BYTES;
}

class ChannelRing {
  private readonly records: EventRecord[] = [];
  private head = 0;
  bytes = 0;
  lastOffset: number;
  evictedThrough: number;

  constructor(first: BrokerEvent) {
    this.lastOffset = first.offset;
    // prev null: the gateway cannot know what came before, so claim nothing before this event.
    this.evictedThrough = first.prev ?? first.offset - 1;
  }

  get size(): number {
    return this.records.length - this.head;
  }

  append(record: EventRecord): void {
    // The channel had an event this ring never saw (or the gateway cannot tell): claim nothing before it.
    if (record.prev === null || record.prev > this.lastOffset) this.evictedThrough = Math.max(this.evictedThrough, record.prev ?? record.offset - 1);
    this.records.push(record);
    this.bytes += record.frame.bytes.byteLength;
    this.lastOffset = record.offset;
  }

  oldest(): EventRecord | undefined {
    return this.records[this.head];
  }

  evictOldest(): void {
    const record = this.records[this.head];
    assert(record !== undefined, 'evict from an empty ring');
    record.evicted = true;
    this.evictedThrough = Math.max(this.evictedThrough, record.offset);
    this.bytes -= record.frame.bytes.byteLength;
    this.records[this.head] = undefined as unknown as EventRecord;
    this.head++;
    // Compact once the dead prefix dominates, so the array stays O(live records).
    if (this.head > 64 && this.head * 2 > this.records.length) {
      this.records.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Records with offset in (after, to], in order. */
  slice(after: number, to: number): EventRecord[] {
    let lo = this.head;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid]!.offset <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: EventRecord[] = [];
    for (let i = lo; i < this.records.length; i++) {
      const record = this.records[i]!;
      if (record.offset > to) break;
      out.push(record);
    }
    return out;
  }
}

export type RingAnswer = { readonly covered: true; readonly records: readonly EventRecord[] } | { readonly covered: false };

export class History {
  private readonly rings = new Map<string, ChannelRing>();
  /** Every record in append order: age eviction pops from the front, whatever the channel. */
  private readonly byAge: EventRecord[] = [];
  private byAgeHead = 0;
  /** The gateway has seen every event of the stream with an offset above this; null before the first. */
  private coverageFrom: number | null = null;
  /** Highest offset of any ring that was dropped after its last record aged out. */
  private forgottenThrough = 0;
  /** Offset of the newest event seen on the stream. */
  streamOffset = 0;
  /** Bytes held by every ring, counted as recordBytes and RING_BYTES (bounded by totalBytesMax). */
  bytes = 0;

  constructor(private readonly limits: HistoryLimits) {}

  append(event: BrokerEvent, frame: Frame, nowMs: number): EventRecord {
    assert(event.offset > this.streamOffset, `stream offset went from ${this.streamOffset} to ${event.offset}`);
    if (this.coverageFrom === null) this.coverageFrom = event.offset - 1;
    else if (event.offset > this.streamOffset + 1) this.lost(event.offset - 1);
    this.streamOffset = event.offset;
    const record: EventRecord = { channel: event.channel, offset: event.offset, prev: event.prev, frame, atMs: nowMs, evicted: false };
    let ring = this.rings.get(event.channel);
    if (ring === undefined) {
      this.rings.set(event.channel, (ring = new ChannelRing(event)));
      this.bytes += RING_BYTES;
    }
    ring.append(record);
    this.bytes += recordBytes(record);
    this.byAge.push(record);
    while (ring.size > this.limits.eventsMax || (ring.bytes > this.limits.bytesMax && ring.size > 1)) this.evict(ring);
    this.expire(nowMs);
    return record;
  }

  private evict(ring: ChannelRing): void {
    this.bytes -= recordBytes(ring.oldest()!);
    ring.evictOldest();
  }

  /** Offsets up to `through` that the feed skipped are gone: no ring may claim to cover them. */
  private lost(through: number): void {
    this.coverageFrom = Math.max(this.coverageFrom ?? 0, through);
    for (const ring of this.rings.values()) ring.evictedThrough = Math.max(ring.evictedThrough, through);
  }

  /**
   * Drops records older than the age bound, then the oldest records while all rings together hold more
   * than totalBytesMax, and rings left empty by either.
   */
  expire(nowMs: number): void {
    const cutoffMs = nowMs - this.limits.ageMs;
    while (this.byAgeHead < this.byAge.length) {
      const record = this.byAge[this.byAgeHead]!;
      if (record.atMs > cutoffMs && this.bytes <= this.limits.totalBytesMax) break;
      this.byAgeHead++;
      if (record.evicted) continue;
      const ring = this.rings.get(record.channel)!;
      assert(ring.oldest() === record, 'age eviction out of ring order');
      this.evict(ring);
      if (ring.size === 0) {
        this.forgottenThrough = Math.max(this.forgottenThrough, ring.lastOffset);
        this.rings.delete(record.channel);
        this.bytes -= RING_BYTES;
      }
    }
    if (this.byAgeHead > 1024 && this.byAgeHead * 2 > this.byAge.length) {
      this.byAge.splice(0, this.byAgeHead);
      this.byAgeHead = 0;
    }
  }

  /**
   * The channel's position for a subscribe reply: its last offset when known, else the stream offset (a
   * valid baseline too — nothing on the channel happened between its last event and the stream head that
   * the gateway would not have seen).
   */
  position(channel: string): number {
    return this.rings.get(channel)?.lastOffset ?? this.streamOffset;
  }

  /** The events of `channel` in (after, to], if the ring can prove it holds all of them. */
  read(channel: string, after: number, to: number = this.streamOffset): RingAnswer {
    const ring = this.rings.get(channel);
    if (ring === undefined) {
      const covered = this.coverageFrom !== null && after >= this.coverageFrom && after >= this.forgottenThrough;
      return covered ? { covered: true, records: [] } : { covered: false };
    }
    if (after < ring.evictedThrough) return { covered: false };
    return { covered: true, records: ring.slice(after, to) };
  }

  /** Drops everything: the broker's history timeline changed (new epoch). */
  reset(): void {
    this.rings.clear();
    this.byAge.length = 0;
    this.byAgeHead = 0;
    this.coverageFrom = null;
    this.forgottenThrough = 0;
    this.streamOffset = 0;
    this.bytes = 0;
  }

  get channelCount(): number {
    return this.rings.size;
  }
}
