// Which class a channel belongs to (docs/operations.md, "Slow clients"): its priority and whether it may be
// conflated. The first configured pattern that matches wins; unmatched channels are normal and never
// conflated. Looked up once per published event, so answers are cached, in a cache with a bound.
import type { ChannelClass } from './options.js';
import { subjectMatches } from './protocol.js';

const DEFAULT_CLASS: ChannelClass = { pattern: '>', priority: 'normal', conflate: false };
/** Past this many channels the cache starts again (a lookup is a scan of the configured classes). */
const CACHED_CHANNELS_MAX = 10_000;

export class ChannelClasses {
  private readonly cache = new Map<string, ChannelClass>();

  constructor(private readonly classes: readonly ChannelClass[]) {}

  of(channel: string): ChannelClass {
    let cls = this.cache.get(channel);
    if (cls === undefined) {
      cls = this.classes.find((c) => subjectMatches(c.pattern, channel)) ?? DEFAULT_CLASS;
      if (this.cache.size > CACHED_CHANNELS_MAX) this.cache.clear();
      this.cache.set(channel, cls);
    }
    return cls;
  }
}
