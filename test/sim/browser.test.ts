import { describe, expect, it } from 'vitest';
import type { CloseInfo } from '../../src/client/ports.js';
import { BrowserRenderer, CHROME_PENDING_HANDSHAKES_MAX } from '../../sim/robots/browser.js';
import { AcceptLoop, NODE } from '../../sim/kernel/runtime.js';
import { SimSocketFactory } from '../../sim/adapters/socket-sim.js';
import { holdHandler, pair } from './kernel-helpers.js';

describe('browser renderer WebSocket throttle', () => {
  it('with 255 handshakes pending, the next WebSocket fails at once with ERR_INSUFFICIENT_RESOURCES', () => {
    // A hub that accepts TCP but never answers the upgrade: every handshake stays pending.
    const p = pair();
    const l = p.server.listen('*', 80, 4096);
    if (typeof l === 'string') throw new Error(l);
    new AcceptLoop(l, NODE, (s) => s.attach(holdHandler, null));
    const tab = new BrowserRenderer(p.world.sched, new SimSocketFactory(p.client, p.serverAddr, 80).factory);
    const closes: Array<{ i: number; atMs: number; info: CloseInfo }> = [];
    for (let i = 0; i < 300; i++) {
      tab.factory('ws://hub/ws', ['odin.v1'], {
        onMessage: () => undefined,
        onClose: (info) => closes.push({ i, atMs: p.world.sched.nowMs, info }),
      });
    }
    p.world.sched.runUntil(1_000);
    expect(tab.peakPending).toBe(CHROME_PENDING_HANDSHAKES_MAX);
    expect(tab.refused).toBe(300 - CHROME_PENDING_HANDSHAKES_MAX);
    expect(closes.map((c) => c.i)).toEqual(Array.from({ length: 45 }, (_, k) => 255 + k));
    expect(closes.every((c) => c.atMs === 0 && c.info.reason === 'ERR_INSUFFICIENT_RESOURCES')).toBe(true);
  });

  it('a settled handshake frees its slot', () => {
    const p = pair();
    const tab = new BrowserRenderer(p.world.sched, new SimSocketFactory(p.client, p.serverAddr, 9).factory, 2);
    const reasons: string[] = [];
    const h = { onMessage: () => undefined, onClose: (i: CloseInfo) => void reasons.push(i.reason) };
    tab.factory('ws://x/ws', [], h);
    tab.factory('ws://x/ws', [], h);
    tab.factory('ws://x/ws', [], h); // third: refused (2 pending)
    p.world.sched.runUntil(100); // nothing listens on port 9: both pending ones end with ECONNREFUSED
    expect(reasons.sort()).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ERR_INSUFFICIENT_RESOURCES']);
    expect(tab.pending).toBe(0);
    tab.factory('ws://x/ws', [], h);
    expect(tab.pending).toBe(1);
  });
});
