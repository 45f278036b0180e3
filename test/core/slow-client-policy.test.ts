// The slow-client policy as the table it is (src/core/slow-client-policy.ts; docs/protocol.md, "Slow
// clients: throttle and gap notices"): what happens to an event at each level and pressure, the throttle
// levels with their hysteresis, and when unread answers end a session.
import { describe, expect, it } from 'vitest';
import { defaultGatewayOptions, type ChannelClass, type Priority } from '../../src/core/options.js';
import { SlowClientPolicy } from '../../src/core/slow-client-policy.js';

const outbound = { ...defaultGatewayOptions.outbound, queueBytesMax: 1_000, socketHighWaterBytes: 400, throttleLevels: [0.5, 0.75, 0.9] as const };
const policy = new SlowClientPolicy(outbound);
const cls = (priority: Priority, conflate = false): ChannelClass => ({ pattern: '>', priority, conflate });

describe('SlowClientPolicy', () => {
  it('sheds by priority as the level rises, everything but critical past the bound', () => {
    //            level:     0       1       2       3
    const table: Record<Priority, string[]> = {
      low: ['push', 'push', 'shed', 'shed'],
      normal: ['push', 'push', 'push', 'shed'],
      high: ['push', 'push', 'push', 'push'],
      critical: ['push', 'push', 'push', 'push'],
    };
    for (const [priority, row] of Object.entries(table) as [Priority, string[]][]) {
      expect(row.map((_, level) => policy.onEvent(100, 50, level, cls(priority)))).toEqual(row);
      // Exactly at the bound still fits; one byte past it does not.
      expect(policy.onEvent(950, 50, 0, cls(priority))).toBe('push');
      expect(policy.onEvent(951, 50, 0, cls(priority))).toBe(priority === 'critical' ? 'evict_or_hold' : 'shed');
    }
  });

  it('a critical event makes room, waits over the bound, and past twice the bound closes', () => {
    expect(policy.onEvent(1_500, 500, 3, cls('critical'))).toBe('evict_or_hold');
    expect(policy.onEvent(1_500, 501, 3, cls('critical'))).toBe('evict_or_close');
  });

  it('conflates conflatable channels from level 1 only', () => {
    expect([0, 1, 2, 3].map((level) => policy.conflates(level, cls('normal', true)))).toEqual([false, true, true, true]);
    expect(policy.conflates(3, cls('normal', false))).toBe(false);
  });

  it('throttle levels follow the thresholds up and step down only 0.1 below them', () => {
    expect([0, 0.49, 0.5, 0.75, 0.9, 1.2].map((fill) => policy.throttleLevel(fill, 0))).toEqual([0, 0, 1, 2, 3, 3]);
    expect(policy.throttleLevel(0.81, 3)).toBe(3);
    expect(policy.throttleLevel(0.8, 3)).toBe(2);
    expect(policy.throttleLevel(0.41, 1)).toBe(1);
    expect(policy.throttleLevel(0.4, 1)).toBe(0);
    expect(policy.throttleLevel(0.6, 2)).toBe(1);
  });

  it('notices say the level, the fill (capped at 100 %) and what is dropped', () => {
    expect(policy.throttleNotice(0, 0.2)).toEqual({ type: 'throttle', level: 0, percent: 20, message: 'caught up: full delivery resumed' });
    expect(policy.throttleNotice(1, 0.555)).toEqual({
      type: 'throttle',
      level: 1,
      percent: 56,
      message: 'falling behind (outbound queue 56% full): conflating lower-priority channels',
    });
    expect(policy.throttleNotice(3, 2.5)).toMatchObject({
      level: 3,
      percent: 100,
      message: 'falling behind (outbound queue 100% full): shedding lower-priority channels',
    });
  });

  it('answers nobody reads end a session only past twice the bound with the socket backed up', () => {
    expect(policy.closesOnControl(1_601, 400)).toBe(true);
    expect(policy.closesOnControl(1_600, 400)).toBe(false);
    expect(policy.closesOnControl(1_700, 399)).toBe(false);
  });
});
