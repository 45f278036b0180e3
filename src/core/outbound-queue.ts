// A session's outbound queue, bounded in bytes, and the slow-client policy of docs/design.md, "Slow clients". Frames wait here
// only while the socket is backed up; while they wait they can still be conflated or shed, and every
// event that will not be sent leaves a gap notice in its place, so a slow client is degraded explicitly,
// never silently.
//
// The common case costs no allocation per subscriber: an event is queued as the shared EventRecord itself
// (its frame is the one every subscriber gets). Only the policy creates slots: a control frame, a gap
// notice, or a gap notice with the newest event of a conflated channel behind it (gap 41..57, then event
// 58). Conflation gaps say `conflated`: the client should not replay them, the channel was configured to
// want only its newest value. Order per channel is preserved: an item is rewritten only while it is the
// newest of its channel, and never across a subscription boundary (a `subscribed` reply): what was queued
// before the reply belongs to the subscription before it, so a later event must not be folded into it.
import { encodeMessage } from './codec.js';
import type { EventRecord } from './history.js';
import type { Priority } from './options.js';
import type { Frame } from './ports.js';
import type { GapReason } from './protocol.js';

class Slot {
  constructor(
    readonly channel: string,
    public record: EventRecord | null,
    readonly control: Frame | null,
    public gapFrom: number,
    public gapTo: number,
    public gapReason: GapReason | null,
  ) {}
}

type Item = EventRecord | Slot;

/** Rough size of a gap notice on the wire, counted against the queue bound. */
const GAP_FRAME_BYTES = 96;
const PRIORITY_RANK: Readonly<Record<Priority, number>> = { low: 0, normal: 1, high: 2, critical: 3 };
/** Past this many remembered channels the tail index is rebuilt from scratch (a pattern may span many). */
const TAIL_CHANNELS_MAX = 4_096;
/** Arrays up to this length are kept between turns (refilling them allocates nothing); longer ones are freed. */
const KEEP_ITEMS_MAX = 1_024;

/** Bytes queued over all sessions, kept up to date by every queue (a gauge without a sweep). */
export interface QueueTotals {
  bytes: number;
}

function sizeOf(item: Item): number {
  if (!(item instanceof Slot)) return item.frame.bytes.byteLength;
  return (item.control?.bytes.byteLength ?? 0) + (item.gapReason === null ? 0 : GAP_FRAME_BYTES) + (item.record?.frame.bytes.byteLength ?? 0);
}

export class OutboundQueue {
  /** items[0..count) are queued; later entries are stale leftovers kept only to reuse the array. */
  private readonly items: Item[] = [];
  /** Priority rank of each item, parallel to `items` (control frames and gaps count as critical). */
  private readonly ranks: number[] = [];
  private count = 0;
  /** Sequence number of each channel's newest item; valid while ≥ `base` (the sequence of items[0]). */
  private readonly tail = new Map<string, number>();
  private base = 0;
  /** Sequence of the item after the last boundary: older items are never rewritten again. */
  private boundary = 0;
  private queued = 0;

  constructor(private readonly totals: QueueTotals = { bytes: 0 }) {}

  get bytes(): number {
    return this.queued;
  }

  get length(): number {
    return this.count;
  }

  pushControl(frame: Frame): void {
    this.push(new Slot('', null, frame, 0, 0, null), PRIORITY_RANK.critical);
  }

  /**
   * Queues a frame that opens a subscription (the `subscribed` reply). A later shed or conflation starts a
   * new slot after it rather than widening one before it: otherwise a gap notice (or a conflated event)
   * queued for the old subscription would carry the new one's offsets ahead of its reply, where the client
   * reads them as the old subscription's and then takes the reply's position as its baseline.
   */
  pushBoundary(frame: Frame): void {
    this.pushControl(frame);
    this.boundary = this.base + this.count;
  }

  pushEvent(record: EventRecord, priority: Priority): void {
    this.markTail(record.channel);
    this.push(record, PRIORITY_RANK[priority]);
  }

  /** Replaces the channel's newest queued event with `record`, if there is one. */
  conflate(record: EventRecord): boolean {
    const i = this.newestIndex(record.channel);
    if (i < 0) return false;
    const item = this.items[i]!;
    const before = sizeOf(item);
    if (item instanceof Slot) {
      if (item.record === null) return false;
      widen(item, item.record.offset, 'conflated');
      item.record = record;
    } else {
      this.items[i] = new Slot(record.channel, record, null, item.offset, item.offset, 'conflated');
    }
    this.grow(sizeOf(this.items[i]!) - before);
    return true;
  }

  /** Records that `record` will not be sent: widens the channel's trailing gap or appends one. */
  shed(record: EventRecord, reason: GapReason): void {
    const i = this.newestIndex(record.channel);
    const item = i < 0 ? undefined : this.items[i];
    if (item instanceof Slot && item.record === null && item.gapReason !== null) {
      item.gapTo = record.offset;
      return;
    }
    this.markTail(record.channel);
    this.push(new Slot(record.channel, null, null, record.offset, record.offset, reason), PRIORITY_RANK.critical);
  }

  /**
   * Frees at least `needBytes` by turning queued events of priority below `above` into gap notices,
   * lowest priority first. Returns whether that much was freed.
   */
  evictBelow(above: Priority, needBytes: number): boolean {
    let freed = 0;
    for (let rank = 0; rank < PRIORITY_RANK[above] && freed < needBytes; rank++) {
      for (let i = 0; i < this.count && freed < needBytes; i++) {
        if (this.ranks[i] !== rank) continue;
        const item = this.items[i]!;
        const before = sizeOf(item);
        if (item instanceof Slot) {
          if (item.record === null) continue;
          widen(item, item.record.offset, 'shed');
          item.record = null;
        } else {
          this.items[i] = new Slot(item.channel, null, null, item.offset, item.offset, 'shed');
        }
        const after = sizeOf(this.items[i]!);
        this.ranks[i] = PRIORITY_RANK.critical;
        freed += before - after;
        this.grow(after - before);
      }
    }
    return freed >= needBytes;
  }

  /** Takes every queued frame, in order, for one coalesced write. */
  take(): Frame[] {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const item = this.items[i]!;
      n += item instanceof Slot ? Number(item.control !== null) + Number(item.gapReason !== null) + Number(item.record !== null) : 1;
    }
    const frames = new Array<Frame>(n);
    let f = 0;
    for (let i = 0; i < this.count; i++) {
      const item = this.items[i]!;
      if (!(item instanceof Slot)) {
        frames[f++] = item.frame;
        continue;
      }
      if (item.control !== null) frames[f++] = item.control;
      if (item.gapReason !== null) frames[f++] = encodeMessage({ type: 'gap', ch: item.channel, from: item.gapFrom, to: item.gapTo, reason: item.gapReason });
      if (item.record !== null) frames[f++] = item.record.frame;
    }
    this.discard();
    return frames;
  }

  /** Drops everything queued: sent, or the session is gone (its client resumes from history). */
  discard(): void {
    this.base += this.count;
    this.count = 0;
    if (this.items.length > KEEP_ITEMS_MAX) {
      this.items.length = 0;
      this.ranks.length = 0;
    }
    if (this.tail.size > TAIL_CHANNELS_MAX) this.tail.clear();
    this.grow(-this.queued);
  }

  /** Gap ranges and events currently queued, for tests and the verify mode. */
  snapshot(): readonly { channel: string; event: number | null; gap: readonly [number, number] | null }[] {
    const out: { channel: string; event: number | null; gap: readonly [number, number] | null }[] = [];
    for (const item of this.items.slice(0, this.count)) {
      if (!(item instanceof Slot)) out.push({ channel: item.channel, event: item.offset, gap: null });
      else if (item.control === null) out.push({ channel: item.channel, event: item.record?.offset ?? null, gap: item.gapReason === null ? null : [item.gapFrom, item.gapTo] });
    }
    return out;
  }

  private push(item: Item, rank: number): void {
    this.items[this.count] = item;
    this.ranks[this.count] = rank;
    this.count++;
    this.grow(sizeOf(item));
  }

  private markTail(channel: string): void {
    this.tail.set(channel, this.base + this.count);
  }

  private newestIndex(channel: string): number {
    const seq = this.tail.get(channel);
    return seq === undefined || seq < this.base || seq < this.boundary ? -1 : seq - this.base;
  }

  private grow(delta: number): void {
    this.queued += delta;
    this.totals.bytes += delta;
  }
}

function widen(slot: Slot, offset: number, reason: GapReason): void {
  if (slot.gapReason === null) {
    slot.gapReason = reason;
    slot.gapFrom = offset;
  }
  slot.gapTo = offset;
}

export function priorityRank(priority: Priority): number {
  return PRIORITY_RANK[priority];
}
