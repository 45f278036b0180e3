// slow-clients' ledger for our gateway: what each client was told about every published offset, and the
// sum over all clients — per client, delivered + named in a gap + covered by a reset = published, or the
// rest was lost silently. Counting only; the story file says what the counts mean.
import { bump } from './tally.js';

/**
 * One client's account of the feed, kept as events and gaps arrive: each published offset is unaccounted,
 * delivered, or named in a gap the client reported (onGap). Offsets are the stream's 1..N, so a byte each.
 */
export class Ledger {
  readonly marks: Uint8Array;
  delivered = 0;
  gapNamed = 0;
  /** Offsets named in a gap and delivered later anyway (the client reports "from last + 1": too much, never too little). */
  overlap = 0;
  readonly gapReasons: Record<string, number> = {};
  readonly resets: { readonly channel: number; readonly atMs: number }[] = [];

  constructor(offsetsMax: number) {
    this.marks = new Uint8Array(offsetsMax + 1);
  }

  deliver(offset: number): void {
    const m = this.marks[offset];
    if (m === 1) return;
    if (m === 2) {
      this.gapNamed--;
      this.overlap++;
    }
    this.marks[offset] = 1;
    this.delivered++;
  }

  gap(channel: number, from: number, to: number, reason: string, channelOf: readonly number[]): void {
    bump(this.gapReasons, reason);
    for (let o = Math.max(1, from); o <= to && o < this.marks.length; o++) {
      if (channelOf[o] !== channel) continue;
      if (this.marks[o] === 0) {
        this.marks[o] = 2;
        this.gapNamed++;
      } else if (this.marks[o] === 1) this.overlap++;
    }
  }
}

/** The feed as published: offset → publish time and channel (offsets are the stream's 1..N). */
export interface PublishedFeed {
  readonly publishedAt: readonly number[];
  readonly channelOf: readonly number[];
  /** Offsets of the critical channels (confirmations), which must never reach a client only as a gap. */
  readonly criticalOffsets: readonly number[];
}

export interface LedgerTotals {
  slowPublished: number;
  slowDelivered: number;
  slowGapNamed: number;
  slowResetNamed: number;
  unaccounted: number;
  overlap: number;
  slowCriticalGapNamed: number;
  /** Slow clients with every offset delivered or named. */
  exact: number;
  fastIncomplete: number;
}

/** Settles every client's ledger against the feed: totals, each client's outcome, slow clients' gap reasons. */
export function settleLedgers(
  clients: readonly { readonly ledger: Ledger; readonly slow: boolean }[],
  feed: PublishedFeed,
): { totals: LedgerTotals; outcomes: Record<string, number>; gapReasons: Record<string, number> } {
  const published = feed.publishedAt.length - 1;
  const totals: LedgerTotals = {
    slowPublished: 0,
    slowDelivered: 0,
    slowGapNamed: 0,
    slowResetNamed: 0,
    unaccounted: 0,
    overlap: 0,
    slowCriticalGapNamed: 0,
    exact: 0,
    fastIncomplete: 0,
  };
  const outcomes: Record<string, number> = {};
  const gapReasons: Record<string, number> = {};
  for (const { ledger: l, slow } of clients) {
    // An offset never delivered nor named in a gap is still named if a reset (recovered:false) on its
    // channel came after it was published: the client was told everything since its position is gone.
    let resetNamed = 0;
    for (let o = 1; o <= published; o++) {
      if (l.marks[o] !== 0) continue;
      if (l.resets.some((x) => x.channel === feed.channelOf[o] && x.atMs >= (feed.publishedAt[o] as number))) resetNamed++;
    }
    const unaccounted = published - l.delivered - l.gapNamed - resetNamed;
    totals.unaccounted += unaccounted;
    totals.overlap += l.overlap;
    if (slow) {
      totals.slowPublished += published;
      totals.slowDelivered += l.delivered;
      totals.slowGapNamed += l.gapNamed;
      totals.slowResetNamed += resetNamed;
      for (const [k, v] of Object.entries(l.gapReasons)) bump(gapReasons, `slowGaps ${k}`, v);
      for (const o of feed.criticalOffsets) if (l.marks[o] === 2) totals.slowCriticalGapNamed++;
      if (unaccounted === 0) totals.exact++;
      bump(
        outcomes,
        unaccounted > 0
          ? 'slow: events lost silently'
          : l.delivered < published
            ? 'slow: degraded explicitly (delivered + named = published)'
            : 'slow: every event delivered',
      );
    } else {
      if (l.delivered !== published) totals.fastIncomplete++;
      bump(outcomes, l.delivered === published ? 'fast: every event delivered' : unaccounted > 0 ? 'fast: events lost silently' : 'fast: degraded explicitly');
    }
  }
  return { totals, outcomes, gapReasons };
}
