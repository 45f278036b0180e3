// Position tracking and gap repair for one concrete channel, pure: events, gap notices and replay outcomes
// go in; what to deliver, what to fetch and what to declare lost come out, in the order to act on them.
//
// Rules. `last` is the highest offset accounted for: delivered, or reported lost. An event with
// offset <= last is a duplicate. An event whose `prev` (the offset of the channel's previous event) is
// beyond `last` means (last, prev] holds at least one event we did not get: ask for a replay of that range,
// and hold every later event of the channel until the replay settles, so delivery stays in offset order.
//
// Worked example: last = 41. Event 58 arrives with prev 57 → replay (41, 57], hold 58. Live 60 (prev 58)
// arrives → held. The replayed events 45 and 57 arrive (the server sends them before its `replayed`
// answer) → held. `replayed` arrives → deliver 45, 57, 58, 60; last = 60. Had the replay failed instead:
// report 42..57 lost, then deliver 58, 60.
//
// Bounds. At most `bufferEventsMax` events are held. On overflow the highest offsets are evicted and
// remembered as "fetch again up to here" (`needTo`), so an overflow costs another replay, never an event.
// A range wider than `replayOffsetsMax` is reported lost without asking.
import type { GapInfo } from './types.js';

export interface ChannelEvent {
  readonly channel: string;
  readonly offset: number;
  readonly prev: number | null;
  readonly data: unknown;
}

export type TrackOutput =
  | { readonly kind: 'deliver'; readonly event: ChannelEvent }
  | { readonly kind: 'lost'; readonly gap: GapInfo }
  /** Ask the server for events in (from, to]; answer through onReplayDone with this ticket. */
  | { readonly kind: 'replay'; readonly ticket: number; readonly from: number; readonly to: number };

export interface TrackLimits {
  readonly bufferEventsMax: number;
  readonly replayOffsetsMax: number;
}

export interface TrackCounters {
  duplicatesDropped: number;
  gapsDetected: number;
}

interface Replay {
  readonly ticket: number;
  readonly from: number;
  readonly to: number;
}

export class ChannelTrack {
  // Invariant between calls: with no replay in flight, the buffer is empty and needTo <= last.
  private buffer: ChannelEvent[] = [];
  private needTo = 0;
  private inflight: Replay | null = null;
  /** Lowest offset evicted during the current replay: the replay's answer is complete only below it. */
  private evictedMin = Infinity;
  private tickets = 0;

  constructor(
    readonly channel: string,
    private epochValue: string,
    private last: number,
    private readonly limits: TrackLimits,
    private readonly counters: TrackCounters,
  ) {}

  get epoch(): string {
    return this.epochValue;
  }

  get offset(): number {
    return this.last;
  }

  get repairing(): boolean {
    return this.inflight !== null;
  }

  onEvent(event: ChannelEvent, out: TrackOutput[]): void {
    if (event.offset <= this.last) {
      this.counters.duplicatesDropped++;
      return;
    }
    this.insert(event);
    if (this.inflight === null) this.drain(out);
  }

  /**
   * The server did not send offsets up to `to` (the notice's `from` adds nothing: the range fetched or
   * reported always starts after `last`). `replayable` false means it never will (the
   * channel is conflated, or history is gone): report the range and move on. While a replay is in flight
   * every notice is fetched, so a loss report can never overtake held events.
   */
  onGapNotice(to: number, reason: string, replayable: boolean, out: TrackOutput[]): void {
    if (to <= this.last) return;
    this.counters.gapsDetected++;
    if (!replayable && this.inflight === null) {
      // Reported from last + 1, not from `from`: a notice carries no prev, so nothing proves the channel
      // had no event between the last one we hold and the notice. Saying too much beats missing a loss.
      out.push({ kind: 'lost', gap: { from: this.last + 1, to, reason } });
      this.last = to;
      return;
    }
    this.needTo = Math.max(this.needTo, to);
    if (this.inflight === null) this.drain(out);
  }

  /** The replay with `ticket` was answered: completely (failure null) or not at all (failure says why). */
  onReplayDone(ticket: number, failure: string | null, out: TrackOutput[]): void {
    const replay = this.inflight;
    if (replay === null || replay.ticket !== ticket) return;
    this.inflight = null;
    let accountedTo = replay.to;
    if (failure === null) {
      accountedTo = Math.min(replay.to, this.evictedMin - 1);
    } else {
      out.push({ kind: 'lost', gap: { from: replay.from + 1, to: replay.to, reason: failure } });
    }
    this.settle(accountedTo, out);
    this.drain(out);
  }

  /** A new baseline (subscribe answered recovered:false): what was held or being fetched is moot. */
  reset(epoch: string, offset: number): void {
    this.abandon();
    this.epochValue = epoch;
    this.last = offset;
  }

  /** The connection is gone: a resume from `offset` will bring everything held or being fetched again. */
  abandon(): void {
    this.buffer = [];
    this.needTo = 0;
    this.inflight = null;
  }

  private insert(event: ChannelEvent): void {
    const buffer = this.buffer;
    let lo = 0;
    let hi = buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (buffer[mid]!.offset < event.offset) lo = mid + 1;
      else hi = mid;
    }
    if (buffer[lo]?.offset === event.offset) {
      this.counters.duplicatesDropped++;
      return;
    }
    buffer.splice(lo, 0, event);
    if (buffer.length > this.limits.bufferEventsMax) {
      // Evicting the highest keeps every held event below every evicted one, so "complete below
      // evictedMin" stays true however events and replayed events interleave.
      const evicted = buffer.pop()!;
      this.evictedMin = Math.min(this.evictedMin, evicted.offset);
      this.needTo = Math.max(this.needTo, evicted.offset);
    }
  }

  /** Everything up to `upTo` is accounted for: deliver what is held there, in order. */
  private settle(upTo: number, out: TrackOutput[]): void {
    let taken = 0;
    for (const event of this.buffer) {
      if (event.offset > upTo) break;
      taken++;
      this.deliver(event, out);
    }
    this.buffer.splice(0, taken);
    this.last = Math.max(this.last, upTo);
  }

  private drain(out: TrackOutput[]): void {
    // Each turn starts a replay (and returns), advances `last`, or takes one held event: it terminates.
    for (;;) {
      const next = this.buffer[0];
      // prev <= last proves nothing of the channel lies between: deliver it even while a range beyond is
      // still to be fetched, so an overflow re-fetch does not ask again for what is already here.
      if (next !== undefined && next.prev !== null && next.prev <= this.last) {
        this.buffer.shift();
        this.deliver(next, out);
        continue;
      }
      if (this.needTo > this.last) {
        if (this.fetch(this.needTo, out)) return;
        continue;
      }
      if (next === undefined) return;
      if (next.prev !== null) {
        this.counters.gapsDetected++;
        if (this.fetch(next.prev, out)) return;
        continue;
      }
      this.buffer.shift();
      this.deliver(next, out);
    }
  }

  /** Asks for (last, to]; returns false when the range is too wide and was reported lost instead. */
  private fetch(to: number, out: TrackOutput[]): boolean {
    if (to - this.last > this.limits.replayOffsetsMax) {
      out.push({ kind: 'lost', gap: { from: this.last + 1, to, reason: 'replay_range_too_large' } });
      this.settle(to, out);
      return false;
    }
    this.inflight = { ticket: ++this.tickets, from: this.last, to };
    this.evictedMin = Infinity;
    out.push({ kind: 'replay', ticket: this.inflight.ticket, from: this.last, to });
    return true;
  }

  private deliver(event: ChannelEvent, out: TrackOutput[]): void {
    if (event.offset <= this.last) {
      this.counters.duplicatesDropped++;
      return;
    }
    this.last = event.offset;
    out.push({ kind: 'deliver', event });
  }
}
