// The slow-client policy (docs/design.md, "Slow clients"; docs/protocol.md, "Slow clients: throttle and
// gap notices") as a pure decision: given how full a session's outbound side is, what happens to the next
// live event, which throttle level the session is at, and whether an answer that cannot be shed ends the
// session. No state and no I/O: src/core/outbox.ts carries the decisions out on the session's queue, so the
// rules can be read here in one place and a broken policy can be planted whole (properties/catches).
//
// Pressure is what the session holds: its queue bytes plus what its socket has not yet sent. As it grows:
//   level 1 (throttleLevels[0] full)  conflatable channels keep only their newest event;
//   level 2                           low-priority channels are shed (each shed range becomes a gap notice);
//   level 3                           normal ones too;
//   past the bound                    everything but critical events is shed; a critical event evicts
//                                     lower-priority ones to make room, or waits over the bound (for at
//                                     most slowCloseAfterMs), or — past twice the bound — ends the session
//                                     with 1008. Critical events are never shed (I3, I6).
import type { ChannelClass, OutboundOptions, Priority } from './options.js';
import { priorityRank } from './outbound-queue.js';
import type { ThrottleMessage } from './protocol.js';

/**
 * What happens to one live event that was not conflated:
 * - `push`: queue it;
 * - `shed`: queue a gap notice in its place;
 * - `evict_or_hold`: evict lower-priority events to make room; if that is not enough, queue it over the
 *   bound and start the slow-consumer deadline;
 * - `evict_or_close`: evict to make room; if that is not enough, close the session as a slow consumer.
 */
export type EventAction = 'push' | 'shed' | 'evict_or_hold' | 'evict_or_close';

/** Hysteresis: a level is left only once the fill is this far below its threshold, so notices do not flap. */
const STEP_DOWN_MARGIN = 0.1;

export class SlowClientPolicy {
  constructor(protected readonly options: OutboundOptions) {}

  /** Whether the event should first be folded into its channel's newest queued event (level ≥ 1). */
  conflates(level: number, cls: ChannelClass): boolean {
    return level >= 1 && cls.conflate;
  }

  /** What to do with an event of `frameBytes` for a session holding `pressureBytes` at throttle `level`. */
  onEvent(pressureBytes: number, frameBytes: number, level: number, cls: ChannelClass): EventAction {
    const max = this.options.queueBytesMax;
    const after = pressureBytes + frameBytes;
    if (shedAtLevel(level, cls.priority) || (after > max && cls.priority !== 'critical')) return 'shed';
    if (after <= max) return 'push';
    return after > 2 * max ? 'evict_or_close' : 'evict_or_hold';
  }

  /** The throttle level for `fill` (pressure over queueBytesMax), given the session's `current` level. */
  throttleLevel(fill: number, current: number): number {
    const thresholds = this.options.throttleLevels;
    let level = 0;
    while (level < thresholds.length && fill >= thresholds[level]!) level++;
    if (level < current && fill > thresholds[current - 1]! - STEP_DOWN_MARGIN) return current;
    return level;
  }

  /** The notice a session gets when it enters `level`. */
  throttleNotice(level: number, fill: number): ThrottleMessage {
    const percent = Math.min(100, Math.round(fill * 100));
    const message =
      level === 0
        ? 'caught up: full delivery resumed'
        : `falling behind (outbound queue ${percent}% full): ${level === 1 ? 'conflating' : 'shedding'} lower-priority channels`;
    return { type: 'throttle', level, percent, message };
  }

  /**
   * Answers (control frames) are never shed, so a client that keeps asking but never reads would grow its
   * queue without end: past twice the bound with its socket backed up, it is a slow consumer (I6).
   */
  closesOnControl(queueBytes: number, bufferedBytes: number): boolean {
    return queueBytes + bufferedBytes > 2 * this.options.queueBytesMax && bufferedBytes >= this.options.socketHighWaterBytes;
  }
}

/** Level 2 sheds low-priority channels, level 3 normal ones too; high and critical only when full. */
function shedAtLevel(level: number, priority: Priority): boolean {
  return priorityRank(priority) < level - 1 && priority !== 'high' && priority !== 'critical';
}
