// slow-clients' feed, read from its inputs: the channels (name, priority, rate, conflatable), when each
// publishes, and which clients read slowly. Inputs in, a schedule out; nothing here knows a result.
import type { Priority } from '../../src/core/options.js';
import { type Inputs, num, str } from './scenario.js';

export interface FeedChannel {
  readonly name: string;
  readonly priority: Priority;
  readonly perSecond: number;
  readonly conflate: boolean;
}

/** "trades:normal:40,ticker:low:20:conflate,…" → channels (name, priority, events per second, conflatable). */
export function feedChannels(inputs: Inputs): FeedChannel[] {
  return str(inputs, 'feed.channels')
    .split(',')
    .map((part) => {
      const [name, priority, rate, flag] = part.trim().split(':');
      if (name === undefined || !/^[a-z][a-z0-9_-]*$/.test(name)) throw new Error(`feed.channels: bad name in ${JSON.stringify(part)}`);
      if (priority !== 'critical' && priority !== 'high' && priority !== 'normal' && priority !== 'low')
        throw new Error(`feed.channels: bad priority in ${JSON.stringify(part)}`);
      const perSecond = Number(rate);
      if (!(perSecond > 0)) throw new Error(`feed.channels: bad rate in ${JSON.stringify(part)}`);
      return { name, priority, perSecond, conflate: flag === 'conflate' };
    });
}

export const subject = (c: FeedChannel): string => `odin.feed.${c.name}`;

/** Slow clients spread evenly over the fleet: client i is slow when ⌊(i+1)·k/N⌋ > ⌊i·k/N⌋, k = round(N·fraction). */
export function isSlow(i: number, total: number, fraction: number): boolean {
  const k = Math.round(total * fraction);
  return Math.floor(((i + 1) * k) / total) > Math.floor((i * k) / total);
}

/** Publish times of every channel, merged in time order (ties keep channel order). */
export function publishPlan(inputs: Inputs, channels: readonly FeedChannel[]): { atMs: number; channel: number }[] {
  const start = num(inputs, 'feed.startMs');
  const end = start + num(inputs, 'feed.durationMs');
  const plan: { atMs: number; channel: number }[] = [];
  channels.forEach((c, ci) => {
    for (let k = 0; ; k++) {
      const at = start + (k * 1000) / c.perSecond;
      if (at >= end) break;
      plan.push({ atMs: at, channel: ci });
    }
  });
  return plan.sort((a, b) => a.atMs - b.atMs || a.channel - b.channel);
}
