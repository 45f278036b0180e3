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
/** Below this many queued items a channel's newest item is found by scanning back; from it on, by the index. */
const TAIL_INDEX_FROM = 8;
/**
 * Arrays of a queue that held several items in a turn are kept between turns (refilling them allocates
 * nothing) up to this length. A queue that held one item gives its arrays up: an idle connection then holds
 * no queue storage at all (docs/benchmarks.md, "A lighter connection"), and a trickle of one event per turn
 * costs two one-element arrays, less than keeping them.
 */
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
  /** items[0..count) are queued; later entries are stale leftovers kept only to reuse the array. Null when empty and released. */
  private items: Item[] | null = null;
  /** Priority rank of each item, parallel to `items` (control frames and gaps count as critical). */
  private ranks: number[] | null = null;
  private count = 0;
  /**
   * Sequence number of each channel's newest item; valid while ≥ `base` (the sequence of items[0]). Built
   * only once the queue holds TAIL_INDEX_FROM items: a short queue is scanned instead.
   */
  private tail: Map<string, number> | null = null;
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
    const items = this.items!;
    const item = items[i]!;
    const before = sizeOf(item);
    if (item instanceof Slot) {
      if (item.record === null) return false;
      widen(item, item.record.offset, 'conflated');
      item.record = record;
    } else {
      items[i] = new Slot(record.channel, record, null, item.offset, item.offset, 'conflated');
    }
    this.grow(sizeOf(items[i]!) - before);
    return true;
  }

  /** Records that `record` will not be sent: widens the channel's trailing gap or appends one. */
  shed(record: EventRecord, reason: GapReason): void {
    const i = this.newestIndex(record.channel);
    const item = i < 0 ? undefined : this.items![i];
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
    const items = this.items;
    const ranks = this.ranks;
    if (items === null || ranks === null) return needBytes <= 0;
    for (let rank = 0; rank < PRIORITY_RANK[above] && freed < needBytes; rank++) {
      for (let i = 0; i < this.count && freed < needBytes; i++) {
        if (ranks[i] !== rank) continue;
        const item = items[i]!;
        const before = sizeOf(item);
        if (item instanceof Slot) {
          if (item.record === null) continue;
          widen(item, item.record.offset, 'shed');
          item.record = null;
        } else {
          items[i] = new Slot(item.channel, null, null, item.offset, item.offset, 'shed');
        }
        const after = sizeOf(items[i]!);
        ranks[i] = PRIORITY_RANK.critical;
        freed += before - after;
        this.grow(after - before);
      }
    }
    return freed >= needBytes;
  }

  /** Takes every queued frame, in order, for one coalesced write. */
  take(): Frame[] {
    const items = this.items;
    if (items === null || this.count === 0) return [];
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const item = items[i]!;
      n += item instanceof Slot ? Number(item.control !== null) + Number(item.gapReason !== null) + Number(item.record !== null) : 1;
    }
    const frames = new Array<Frame>(n);
    let f = 0;
    for (let i = 0; i < this.count; i++) {
      const item = items[i]!;
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
    const used = this.count;
    this.base += used;
    this.count = 0;
    if (this.items !== null && (used <= 1 || this.items.length > KEEP_ITEMS_MAX)) {
      this.items = null;
      this.ranks = null;
    }
    if (this.tail !== null && (used <= 1 || this.tail.size > TAIL_CHANNELS_MAX)) this.tail = null;
    this.grow(-this.queued);
  }

  /** Gives up the storage an empty queue kept for reuse (the session went quiet: see the heartbeat). */
  trim(): void {
    if (this.count > 0) return;
    this.items = null;
    this.ranks = null;
    this.tail = null;
  }

  /** Gap ranges and events currently queued, for tests and the verify mode. */
  snapshot(): readonly { channel: string; event: number | null; gap: readonly [number, number] | null }[] {
    const out: { channel: string; event: number | null; gap: readonly [number, number] | null }[] = [];
    for (const item of (this.items ?? []).slice(0, this.count)) {
      if (!(item instanceof Slot)) out.push({ channel: item.channel, event: item.offset, gap: null });
      else if (item.control === null)
        out.push({ channel: item.channel, event: item.record?.offset ?? null, gap: item.gapReason === null ? null : [item.gapFrom, item.gapTo] });
    }
    return out;
  }

  private push(item: Item, rank: number): void {
    if (this.items === null || this.ranks === null) {
      // Empty and released (count is 0): a one-element literal is the smallest array there is.
      this.items = [item];
      this.ranks = [rank];
    } else {
      this.items[this.count] = item;
      this.ranks[this.count] = rank;
    }
    this.count++;
    this.grow(sizeOf(item));
  }

  private markTail(channel: string): void {
    if (this.tail === null) {
      if (this.count + 1 < TAIL_INDEX_FROM) return;
      this.tail = new Map();
      for (let i = 0; i < this.count; i++) this.tail.set(this.items![i]!.channel, this.base + i);
    }
    this.tail.set(channel, this.base + this.count);
  }

  private newestIndex(channel: string): number {
    if (this.tail !== null) {
      const seq = this.tail.get(channel);
      return seq === undefined || seq < this.base || seq < this.boundary ? -1 : seq - this.base;
    }
    // Short queue, no index: the newest item of the channel since the last boundary, scanning back.
    const items = this.items;
    if (items === null) return -1;
    for (let i = this.count - 1, floor = this.boundary - this.base; i >= 0 && i >= floor; i--) if (items[i]!.channel === channel) return i;
    return -1;
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
