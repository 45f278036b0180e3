// Every subscription of every session, indexed by subject for fan-out (src/core/channel-index.ts), and
// their count. A session's own map (Session.subscriptions) and this index always change together.
import { ChannelIndex } from './channel-index.js';
import { isPattern } from './protocol.js';
import type { Session, Subscription } from './session.js';

export class Subscriptions {
  private readonly index = new ChannelIndex<Subscription>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Registers `key` for the session, replacing a subscription it already had to the same key. The new
   * one holds its live events back until its reply and replay are queued (src/core/resume.ts).
   */
  add(session: Session, key: string): Subscription {
    const existing = session.subscriptions.get(key);
    if (existing !== undefined) {
      this.index.remove(existing.key, existing, existing.pattern);
      this.count--;
    }
    const sub: Subscription = {
      key,
      pattern: isPattern(key),
      session,
      held: { records: [], overflowed: false, firstByChannel: new Map() },
      deliveredThrough: 0,
    };
    session.subscriptions.set(key, sub);
    this.index.add(key, sub, sub.pattern);
    this.count++;
    return sub;
  }

  /** Returns whether the session had the subscription. */
  remove(session: Session, key: string): boolean {
    const sub = session.subscriptions.get(key);
    if (sub === undefined) return false;
    session.subscriptions.delete(key);
    this.index.remove(key, sub, sub.pattern);
    this.count--;
    return true;
  }

  /** Drops every subscription of a session that ended. */
  removeAll(session: Session): void {
    for (const sub of session.subscriptions.values()) this.index.remove(sub.key, sub, sub.pattern);
    this.count -= session.subscriptions.size;
    session.subscriptions.clear();
  }

  forEachMatch(channel: string, visit: (sub: Subscription) => void): void {
    this.index.forEachMatch(channel, visit);
  }
}
