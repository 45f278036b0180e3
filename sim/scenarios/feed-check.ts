// The acknowledged feed of the stories of our own (broker-outage, rolling-restart) and each client's view
// of it. A publisher writes to a random channel at a fixed rate and keeps the offsets the broker
// acknowledged, per channel; each client's deliveries, gaps and resets are then checked against them:
// order (I1), no duplicates (I2), and every acknowledged event after its first delivery either delivered or
// announced by a gap or reset (I3) — anything else is silent loss.
import type { GapInfo } from '../../src/client/types.js';
import type { PublishResult } from '../../src/core/ports.js';
import type { World } from '../kernel/world.js';

/** What one client saw on its channel. */
export interface View {
  readonly channel: number;
  readonly offsets: number[];
  readonly gaps: GapInfo[];
  resets: number;
}

/** Views by client, made on the client's first event, gap or reset. */
export class Views<R> {
  private readonly byClient = new Map<R, View>();

  of(client: R, channel: number): View {
    let v = this.byClient.get(client);
    if (v === undefined) this.byClient.set(client, (v = { channel, offsets: [], gaps: [], resets: 0 }));
    return v;
  }

  all(): Iterable<View> {
    return this.byClient.values();
  }
}

/** The publisher: from `fromMs`, one event per 1/`perSecond` s to a random channel while the next one is before `untilMs`. */
export class Publisher {
  /** Acknowledged offsets per channel, in acknowledgement order. */
  readonly acked: number[][];
  failed = 0;

  constructor(
    world: World,
    publish: (channel: string, data: string, done: (r: PublishResult) => void) => void,
    channels: readonly string[],
    perSecond: number,
    fromMs: number,
    untilMs: number,
  ) {
    this.acked = channels.map(() => []);
    const rng = world.rng.fork('publisher');
    const every = 1000 / perSecond;
    const publishOne = (): void => {
      const c = rng.int(0, channels.length - 1);
      publish(channels[c] as string, `{"t":${Math.round(world.sched.nowMs)}}`, (r) => {
        if (r.ok) (this.acked[c] as number[]).push(r.offset);
        else this.failed++;
      });
      if (world.sched.nowMs + every < untilMs) world.sched.after(every, publishOne, null);
    };
    world.sched.at(fromMs, publishOne, null);
  }

  get total(): number {
    return this.acked.reduce((s, a) => s + a.length, 0);
  }
}

export interface FeedCheck {
  delivered: number;
  duplicates: number;
  outOfOrder: number;
  silentlyLost: number;
  /** Acknowledged events a client missed and was told about (a gap covering it, or a reset on its channel). */
  announced: number;
  gapNotices: number;
  resets: number;
}

/** I1–I3 over every view against the acknowledged offsets of its channel. */
export function checkViews(views: Iterable<View>, acked: readonly (readonly number[])[]): FeedCheck {
  const c: FeedCheck = { delivered: 0, duplicates: 0, outOfOrder: 0, silentlyLost: 0, announced: 0, gapNotices: 0, resets: 0 };
  for (const v of views) {
    c.delivered += v.offsets.length;
    c.gapNotices += v.gaps.length;
    c.resets += v.resets;
    for (let i = 1; i < v.offsets.length; i++) {
      const a = v.offsets[i - 1] as number;
      const b = v.offsets[i] as number;
      if (b === a) c.duplicates++;
      else if (b < a) c.outOfOrder++;
    }
    const first = v.offsets[0];
    if (first === undefined) continue;
    const got = new Set(v.offsets);
    for (const o of acked[v.channel] as number[]) {
      if (o <= first || got.has(o)) continue;
      if (v.gaps.some((g) => g.from <= o && o <= g.to) || v.resets > 0) c.announced++;
      else c.silentlyLost++;
    }
  }
  return c;
}

/** I1–I3 hold: nothing lost silently, duplicated or reordered. */
export function invariantsHold(c: FeedCheck): boolean {
  return c.silentlyLost === 0 && c.duplicates === 0 && c.outOfOrder === 0;
}
