// A session's outbound queue, bounded in bytes, and the slow-client policy of DESIGN §4. Frames wait here
// only while the socket is backed up; while they wait they can still be conflated or shed, and every
// event that will not be sent leaves a gap notice in its place, so a slow client is degraded explicitly,
// never silently.
//
// A slot is an event, a gap notice, or both: conflating channel c replaces the queued event of c with the
// newest one and widens the gap notice in front of it (gap 41..57, then event 58). Shedding appends or
// widens a gap-only slot. Conflation gaps say `conflated`: the client should not replay them, the channel
// was configured to want only its newest value. Order per channel is preserved: a slot is only rewritten while it is the newest
// of its channel.
import { encodeMessage } from './codec.js';
import type { EventRecord } from './history.js';
import type { Priority } from './options.js';
import type { Frame } from './ports.js';
import type { GapReason } from './protocol.js';

interface Slot {
  record: EventRecord | null;
  control: Frame | null;
  channel: string;
  priority: Priority;
  gapFrom: number;
  gapTo: number;
  gapReason: GapReason | null;
  bytes: number;
}

/** Rough size of a gap notice on the wire, counted against the queue bound. */
const GAP_FRAME_BYTES = 96;
const PRIORITY_RANK: Readonly<Record<Priority, number>> = { low: 0, normal: 1, high: 2, critical: 3 };

export type EnqueueOutcome = 'queued' | 'conflated' | 'shed' | 'overflow';

/** Bytes queued over all sessions, kept up to date by every queue (a gauge without a sweep). */
export interface QueueTotals {
  bytes: number;
}

export class OutboundQueue {
  private slots: Slot[] = [];
  /** The newest slot of each channel, while it is still the newest and unsent. */
  private readonly tail = new Map<string, Slot>();
  private queued = 0;

  constructor(private readonly totals: QueueTotals = { bytes: 0 }) {}

  get bytes(): number {
    return this.queued;
  }

  get length(): number {
    return this.slots.length;
  }

  pushControl(frame: Frame): void {
    this.slots.push({ record: null, control: frame, channel: '', priority: 'critical', gapFrom: 0, gapTo: 0, gapReason: null, bytes: frame.bytes.byteLength });
    this.grow(frame.bytes.byteLength);
  }

  pushEvent(record: EventRecord, priority: Priority): void {
    const slot: Slot = { record, control: null, channel: record.channel, priority, gapFrom: 0, gapTo: 0, gapReason: null, bytes: record.frame.bytes.byteLength };
    this.slots.push(slot);
    this.grow(slot.bytes);
    this.tail.set(record.channel, slot);
  }

  /** Replaces the channel's newest queued event with `record`, if there is one. */
  conflate(record: EventRecord): boolean {
    const slot = this.tail.get(record.channel);
    if (slot === undefined || slot.record === null) return false;
    this.widenGap(slot, slot.record.offset, 'conflated');
    this.grow(record.frame.bytes.byteLength - slot.record.frame.bytes.byteLength);
    slot.bytes += record.frame.bytes.byteLength - slot.record.frame.bytes.byteLength;
    slot.record = record;
    return true;
  }

  /** Records that `record` will not be sent: widens the channel's trailing gap or appends one. */
  shed(record: EventRecord, reason: GapReason): void {
    const slot = this.tail.get(record.channel);
    if (slot !== undefined && slot.record === null && slot.gapReason !== null) {
      slot.gapTo = record.offset;
      return;
    }
    const gap: Slot = { record: null, control: null, channel: record.channel, priority: 'critical', gapFrom: record.offset, gapTo: record.offset, gapReason: reason, bytes: GAP_FRAME_BYTES };
    this.slots.push(gap);
    this.grow(GAP_FRAME_BYTES);
    this.tail.set(record.channel, gap);
  }

  /**
   * Frees at least `needBytes` by turning queued events of priority below `above` into gap notices,
   * lowest priority first. Returns whether that much was freed.
   */
  evictBelow(above: Priority, needBytes: number): boolean {
    let freed = 0;
    for (let rank = 0; rank < PRIORITY_RANK[above] && freed < needBytes; rank++) {
      for (const slot of this.slots) {
        if (freed >= needBytes) break;
        if (slot.record === null || PRIORITY_RANK[slot.priority] !== rank) continue;
        const before = slot.bytes;
        this.widenGap(slot, slot.record.offset, 'shed'); // counts a new gap notice's bytes already
        slot.record = null;
        this.grow(GAP_FRAME_BYTES - slot.bytes);
        slot.bytes = GAP_FRAME_BYTES;
        freed += before - GAP_FRAME_BYTES;
      }
    }
    return freed >= needBytes;
  }

  /** Takes every queued frame, in order, for one coalesced write. */
  take(): Frame[] {
    const frames: Frame[] = [];
    for (const slot of this.slots) {
      if (slot.control !== null) frames.push(slot.control);
      if (slot.gapReason !== null) {
        frames.push(encodeMessage({ type: 'gap', ch: slot.channel, from: slot.gapFrom, to: slot.gapTo, reason: slot.gapReason }));
      }
      if (slot.record !== null) frames.push(slot.record.frame);
    }
    this.slots = [];
    this.tail.clear();
    this.grow(-this.queued);
    return frames;
  }

  /** Drops everything queued: the session is gone (its client resumes from history). */
  discard(): void {
    this.slots = [];
    this.tail.clear();
    this.grow(-this.queued);
  }

  /** Gap ranges and events currently queued, for tests and the verify mode. */
  snapshot(): readonly { channel: string; event: number | null; gap: readonly [number, number] | null }[] {
    return this.slots
      .filter((slot) => slot.control === null)
      .map((slot) => ({ channel: slot.channel, event: slot.record?.offset ?? null, gap: slot.gapReason === null ? null : ([slot.gapFrom, slot.gapTo] as const) }));
  }

  private grow(delta: number): void {
    this.queued += delta;
    this.totals.bytes += delta;
  }

  private widenGap(slot: Slot, offset: number, reason: GapReason): void {
    if (slot.gapReason === null) {
      slot.gapReason = reason;
      slot.gapFrom = offset;
      slot.bytes += GAP_FRAME_BYTES;
      this.grow(GAP_FRAME_BYTES);
    }
    slot.gapTo = offset;
  }
}

export function priorityRank(priority: Priority): number {
  return PRIORITY_RANK[priority];
}
