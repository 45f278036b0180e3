// What the application subscribed to and where each concrete channel stands, pure. A *target* is one
// name sent to the server (a channel or a pattern), shared by every application subscription of that name;
// a *track* (positions.ts) is one concrete channel's position. Tracks exist while some target matches them.
//
// Patterns: the server answers a pattern subscribe with the stream position P. A channel first seen under
// the pattern starts from P (its *baseline*, kept across successful resumes, moved only by a reset), so an
// event whose prev is beyond P reveals a loss even on a channel never seen before. To resume, the pattern sends since = its *high-water*: the highest offset seen
// under it. That is sound because the server sends a connection's stream in offset order — having seen
// offset h means everything matching below h was sent or announced as a gap — except on channels whose
// repair was cut short, which lower the high-water to their own position when the connection drops.
import { subjectMatches, type ChannelState, type Position, type RecoveryFailure } from '../core/protocol.js';
import { ChannelTrack, type TrackCounters, type TrackLimits } from './positions.js';
import type { Subscription, SubscriptionHandlers } from './types.js';

export class SubscriptionImpl implements Subscription {
  private activeValue = true;

  constructor(
    readonly name: string,
    readonly handlers: SubscriptionHandlers,
    private readonly release: (sub: SubscriptionImpl) => void,
  ) {}

  get active(): boolean {
    return this.activeValue;
  }

  unsubscribe(): void {
    if (!this.activeValue) return;
    this.deactivate();
    this.release(this);
  }

  deactivate(): void {
    this.activeValue = false;
  }
}

interface PatternPosition {
  epoch: string;
  baseline: number;
  high: number;
}

export class Target {
  readonly subs = new Set<SubscriptionImpl>();
  /** Answered at least once: later subscribes of this name resume with since. */
  confirmed = false;
  /** Patterns only, once answered. */
  pattern: PatternPosition | null = null;

  constructor(
    readonly name: string,
    readonly isPattern: boolean,
  ) {}
}

export interface Reset {
  readonly reason: RecoveryFailure;
  /** Every subscription that receives the name's events. */
  readonly subs: readonly SubscriptionImpl[];
}

interface Matches {
  readonly subs: readonly SubscriptionImpl[];
  readonly patterns: readonly Target[];
}

export class Registry {
  private readonly targets = new Map<string, Target>();
  private readonly tracks = new Map<string, ChannelTrack>();
  // Per-channel lookups are hot (every event); target changes are rare and clear the whole cache.
  private readonly matches = new Map<string, Matches>();

  constructor(
    private readonly limits: TrackLimits,
    private readonly counters: TrackCounters,
  ) {}

  target(name: string): Target | undefined {
    return this.targets.get(name);
  }

  allTargets(): IterableIterator<Target> {
    return this.targets.values();
  }

  track(channel: string): ChannelTrack | undefined {
    return this.tracks.get(channel);
  }

  /** Returns the target and whether it is new (the server must be told). */
  add(sub: SubscriptionImpl, isPattern: boolean): { target: Target; created: boolean } {
    let target = this.targets.get(sub.name);
    const created = target === undefined;
    if (target === undefined) {
      target = new Target(sub.name, isPattern);
      this.targets.set(sub.name, target);
    }
    target.subs.add(sub);
    this.matches.clear();
    return { target, created };
  }

  /** Removes `sub`; returns its target when that was the last subscription of the name. */
  remove(sub: SubscriptionImpl): Target | null {
    const target = this.targets.get(sub.name);
    if (target === undefined || !target.subs.delete(sub)) return null;
    this.matches.clear();
    if (target.subs.size > 0) return null;
    this.drop(target);
    return target;
  }

  /** Forgets `target` and its subscriptions (the server refused it, or its last subscription left). */
  drop(target: Target): void {
    for (const sub of target.subs) sub.deactivate();
    target.subs.clear();
    this.targets.delete(target.name);
    this.matches.clear();
    for (const channel of this.tracks.keys()) {
      if (!this.isCovered(channel)) this.tracks.delete(channel);
    }
  }

  /** The position to resume `target` from, or undefined for a fresh subscribe. */
  sinceFor(target: Target): Position | undefined {
    if (!target.confirmed) return undefined;
    if (target.pattern !== null) return { epoch: target.pattern.epoch, offset: target.pattern.high };
    const track = this.tracks.get(target.name);
    return track === undefined ? undefined : { epoch: track.epoch, offset: track.offset };
  }

  /** Applies the server's answer for `target`; returns who must hear of a failed resume. */
  applySubscribed(target: Target, state: ChannelState, since: Position | undefined): Reset | null {
    target.confirmed = true;
    const failure = since === undefined ? null : recoveryFailure(state, since);
    if (target.isPattern) return this.applyPattern(target, state, since, failure);
    const track = this.tracks.get(target.name);
    if (track === undefined) {
      this.tracks.set(target.name, this.newTrack(target.name, state.epoch, state.offset));
      return null;
    }
    // A fresh answer for a channel a pattern already tracks keeps that track: it knows what was delivered.
    if (failure === null) return null;
    track.reset(state.epoch, state.offset);
    return { reason: failure, subs: this.subsFor(target.name) };
  }

  /** The channel's track, created from the patterns' baseline on first sight; undefined if not subscribed. */
  trackFor(channel: string): ChannelTrack | undefined {
    const existing = this.tracks.get(channel);
    if (existing !== undefined) return existing;
    let from: PatternPosition | null = null;
    for (const target of this.lookup(channel).patterns) {
      const position = target.pattern;
      // The lowest baseline: the connection has received the channel's events since then.
      if (position !== null && (from === null || position.baseline < from.baseline)) from = position;
    }
    if (from === null) return undefined;
    const track = this.newTrack(channel, from.epoch, from.baseline);
    this.tracks.set(channel, track);
    return track;
  }

  /** Raises the high-water of the patterns that cover `channel`. */
  observe(channel: string, offset: number): void {
    for (const target of this.lookup(channel).patterns) {
      if (target.pattern !== null && offset > target.pattern.high) target.pattern.high = offset;
    }
  }

  subsFor(channel: string): readonly SubscriptionImpl[] {
    return this.lookup(channel).subs;
  }

  /** The connection dropped: abandon repairs, and make patterns resume from below any cut-short one. */
  connectionLost(): void {
    for (const track of this.tracks.values()) {
      if (!track.repairing) continue;
      for (const target of this.lookup(track.channel).patterns) {
        if (target.pattern !== null) target.pattern.high = Math.min(target.pattern.high, track.offset);
      }
      track.abandon();
    }
  }

  position(name: string): Position | undefined {
    const pattern = this.targets.get(name)?.pattern ?? null;
    if (pattern !== null) return { epoch: pattern.epoch, offset: pattern.high };
    const track = this.tracks.get(name);
    return track === undefined ? undefined : { epoch: track.epoch, offset: track.offset };
  }

  private applyPattern(target: Target, state: ChannelState, since: Position | undefined, failure: RecoveryFailure | null): Reset | null {
    // A successful resume continues the pattern's timeline: the baseline stays. Raising it to `since` would
    // let a channel first seen now hide, behind a prev in (baseline, since], an event lost before the drop.
    if (since !== undefined && failure === null && target.pattern !== null) return null;
    target.pattern = { epoch: state.epoch, baseline: state.offset, high: state.offset };
    if (failure === null) return null;
    // Channels the pattern alone covers restart at the new position. One also subscribed by name keeps its
    // track: its own resume answer decides for it.
    for (const track of this.tracks.values()) {
      if (subjectMatches(target.name, track.channel) && !this.targets.has(track.channel)) {
        track.reset(state.epoch, state.offset);
      }
    }
    return { reason: failure, subs: [...target.subs] };
  }

  private newTrack(channel: string, epoch: string, offset: number): ChannelTrack {
    return new ChannelTrack(channel, epoch, offset, this.limits, this.counters);
  }

  private isCovered(channel: string): boolean {
    for (const name of this.targets.keys()) if (subjectMatches(name, channel)) return true;
    return false;
  }

  private lookup(channel: string): Matches {
    let found = this.matches.get(channel);
    if (found === undefined) {
      const subs: SubscriptionImpl[] = [];
      const patterns: Target[] = [];
      for (const target of this.targets.values()) {
        if (!subjectMatches(target.name, channel)) continue;
        subs.push(...target.subs);
        if (target.isPattern) patterns.push(target);
      }
      found = { subs, patterns };
      this.matches.set(channel, found);
    }
    return found;
  }
}

/** Why a resume from `since` failed, or null when the server vouches for it. */
function recoveryFailure(state: ChannelState, since: Position): RecoveryFailure | null {
  if (state.recovered !== true) return state.reason ?? 'history_expired';
  // "Recovered" across an epoch change would splice two timelines: offsets of the old one mean nothing.
  return state.epoch === since.epoch ? null : 'epoch_changed';
}
