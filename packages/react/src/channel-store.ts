// One channel's live view, without React: subscribes through an OdinClient, keeps the newest events (a
// bounded window), the gaps and resets reported, and hands out immutable snapshots for
// useSyncExternalStore. A snapshot is built only when asked for after a change, so a burst of events
// between two renders costs one copy of the window, not one per event.
import type { EventMeta, GapInfo, OdinClient, Position, RecoveryFailure, Subscription } from '@odin-gateway/client';

export interface ChannelEvent<T> {
  readonly data: T;
  readonly meta: EventMeta;
}

export interface ChannelGap extends GapInfo {
  /** The concrete channel (a pattern subscription reports gaps per channel). */
  readonly channel: string;
}

/** The application's callbacks; read at each event, so they may change between renders. */
export interface ChannelHandlers<T> {
  onEvent?(data: T, meta: EventMeta): void;
  onGap?(channel: string, gap: GapInfo): void;
  onReset?(channel: string, reason: RecoveryFailure): void;
}

export interface ChannelView<T> {
  /** The newest events, oldest first: at most `keep` of them. A reset empties it (they were the old timeline). */
  readonly events: readonly ChannelEvent<T>[];
  /** The newest event, kept also when `keep` is 0; undefined until one arrives, and after a reset. */
  readonly last: ChannelEvent<T> | undefined;
  /** Events delivered since subscribing (a count, not bounded by `keep`). */
  readonly received: number;
  /** Ranges reported lost, newest last: at most GAPS_KEPT. */
  readonly gaps: readonly ChannelGap[];
  /** Why the channel was last reset (reload it from your backend), or null. */
  readonly reset: RecoveryFailure | null;
  readonly resets: number;
  /** Where the subscription stood at the last change: what a resume sends as `since`. */
  readonly position: Position | undefined;
  /** Why subscribing failed (an invalid name, a closed client), or null. */
  readonly error: string | null;
}

/** Events kept per channel when the caller does not say. */
export const DEFAULT_KEEP = 100;
/** The window's ceiling: a view is copied on every render that follows a change. */
export const KEEP_MAX = 10_000;
export const GAPS_KEPT = 20;

export const EMPTY_VIEW: ChannelView<never> = Object.freeze({
  events: Object.freeze([]),
  last: undefined,
  received: 0,
  gaps: Object.freeze([]),
  reset: null,
  resets: 0,
  position: undefined,
  error: null,
});

export function keepOf(keep: number | undefined): number {
  if (keep === undefined) return DEFAULT_KEEP;
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`odin: keep must be a whole number ≥ 0, got ${keep}`);
  return Math.min(keep, KEEP_MAX);
}

export class ChannelStore<T> {
  private window: ChannelEvent<T>[] = [];
  private last: ChannelEvent<T> | undefined = undefined;
  private received = 0;
  private gaps: ChannelGap[] = [];
  private reset: RecoveryFailure | null = null;
  private resets = 0;
  private error: string | null = null;
  private subscription: Subscription | null = null;
  private readonly listeners = new Set<() => void>();
  private changed = true;
  private view: ChannelView<T> = EMPTY_VIEW;

  constructor(
    private readonly client: OdinClient,
    readonly name: string,
    private readonly keep: number,
    private readonly handlers: () => ChannelHandlers<T>,
  ) {}

  /** Subscribes; returns the function that unsubscribes (an effect's clean-up). Safe to call again after. */
  start(): () => void {
    if (this.subscription !== null) return () => this.stop();
    try {
      this.subscription = this.client.subscribe(this.name, {
        onEvent: (data, meta) => this.onEvent(data as T, meta),
        onGap: (channel, gap) => this.onGap(channel, gap),
        onReset: (channel, reason) => this.onReset(channel, reason),
      });
      this.error = null;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.notify();
    return () => this.stop();
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  /** For useSyncExternalStore: stable, so React does not resubscribe on every render. */
  readonly listen = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): ChannelView<T> => {
    if (!this.changed) return this.view;
    this.changed = false;
    if (this.window.length > this.keep) this.window = this.window.slice(this.window.length - this.keep);
    this.view = Object.freeze({
      events: Object.freeze(this.window.slice()),
      last: this.last,
      received: this.received,
      gaps: Object.freeze(this.gaps.slice()),
      reset: this.reset,
      resets: this.resets,
      position: this.client.position(this.name),
      error: this.error,
    });
    return this.view;
  };

  private onEvent(data: T, meta: EventMeta): void {
    const event: ChannelEvent<T> = Object.freeze({ data, meta });
    this.last = event;
    this.received++;
    if (this.keep > 0) {
      this.window.push(event);
      // Trimmed in bulk: at most 2·keep entries between snapshots, O(1) per event.
      if (this.window.length >= 2 * this.keep) this.window = this.window.slice(this.window.length - this.keep);
    }
    this.notify();
    this.handlers().onEvent?.(data, meta);
  }

  private onGap(channel: string, gap: GapInfo): void {
    this.gaps.push(Object.freeze({ ...gap, channel }));
    if (this.gaps.length > GAPS_KEPT) this.gaps.splice(0, this.gaps.length - GAPS_KEPT);
    this.notify();
    this.handlers().onGap?.(channel, gap);
  }

  private onReset(channel: string, reason: RecoveryFailure): void {
    this.window = [];
    this.last = undefined;
    this.reset = reason;
    this.resets++;
    this.notify();
    this.handlers().onReset?.(channel, reason);
  }

  private notify(): void {
    this.changed = true;
    for (const listener of this.listeners) listener();
  }
}
