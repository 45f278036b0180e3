// Channel classes (src/core/channel-classes.ts; docs/operations.md, "Slow clients"): the first configured
// pattern that matches a channel decides how it degrades for a slow client; a channel no pattern matches
// is normal and never conflated. Seen from a client behind a backed-up socket.
import { describe, expect, it } from 'vitest';
import type { ChannelClass } from '../../src/core/options.js';
import { harness } from '../support/core-harness.js';

const KB = 1024;

/** What a stalled client receives of `channel` after `n` events, once its socket drains (past level 1 by then). */
function degraded(channelClasses: ChannelClass[], channel: string, n: number) {
  const h = harness({ channelClasses, outbound: { queueBytesMax: 20 * KB, socketHighWaterBytes: KB, slowCloseAfterMs: 60_000 } });
  const c = h.connect();
  c.send({ type: 'subscribe', id: 1, channels: ['>'] });
  c.conn.clear();
  c.conn.buffered = 11 * KB; // past the first throttle level (50 %) from the start
  for (let i = 0; i < n; i++) h.publish(channel, i);
  c.conn.buffered = 0;
  h.gateway.onWritable(c.session);
  h.clock.settle();
  return { events: c.conn.ofType('event').map((e) => e.data), gaps: c.conn.ofType('gap').map((g) => g.reason) };
}

describe('channel classes', () => {
  const critical: ChannelClass = { pattern: 'px.>', priority: 'critical', conflate: false };
  const conflated: ChannelClass = { pattern: 'px.eu', priority: 'low', conflate: true };

  it('lets the first matching pattern decide, whatever later ones say', () => {
    expect(degraded([critical, conflated], 'px.eu', 3)).toEqual({ events: [0, 1, 2], gaps: [] });
    expect(degraded([conflated, critical], 'px.eu', 3)).toEqual({ events: [2], gaps: ['conflated'] });
  });

  it('decides per channel, event after event: px.eu conflated, its neighbour px.us critical', () => {
    const classes = [conflated, critical];
    expect(degraded(classes, 'px.eu', 5)).toEqual({ events: [4], gaps: ['conflated'] });
    expect(degraded(classes, 'px.us', 5)).toEqual({ events: [0, 1, 2, 3, 4], gaps: [] });
  });

  it('treats a channel no pattern matches as normal: never conflated', () => {
    expect(degraded([conflated], 'other', 3)).toEqual({ events: [0, 1, 2], gaps: [] });
  });
});
