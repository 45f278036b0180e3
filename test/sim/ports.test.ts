import { describe, expect, it } from 'vitest';
import { Prng } from '../../sim/engine/prng.js';
import { EphemeralPorts } from '../../sim/kernel/ports.js';
import { AcceptLoop, NODE } from '../../sim/kernel/runtime.js';
import type { TcpSocket } from '../../sim/kernel/socket.js';
import { holdHandler, pair, Recorder } from './kernel-helpers.js';

const SEC = 1000;

function ports(size: number, timeWaitMs = 60 * SEC) {
  return new EphemeralPorts({ lo: 40_000, hi: 40_000 + size - 1, timeWaitMs, twReuseAfterMs: 1 * SEC }, new Prng(3));
}

function fill(p: EphemeralPorts, src: string, dst: string, now = 0, reuse = false): number {
  let n = 0;
  while (p.allocate(src, dst, now, reuse) !== 'EADDRNOTAVAIL') n++;
  return n;
}

describe('ephemeral ports', () => {
  it('the 4-tuple rule: each destination and each source address has its own R ports', () => {
    const p = ports(500);
    expect(fill(p, 'A', 'S:80')).toBe(500);
    expect(fill(p, 'A', 'S:81')).toBe(500); // another server port: the same source ports again
    expect(fill(p, 'B', 'S:80')).toBe(500); // a second source address doubles the space
    expect(p.allocate('A', 'S:80', 0, false)).toBe('EADDRNOTAVAIL');
  });

  it('a port in TIME_WAIT comes back after timeWaitMs, not before', () => {
    const p = ports(10);
    const got: number[] = [];
    for (let i = 0; i < 10; i++) got.push(p.allocate('A', 'D', 0, false) as number);
    p.release('A', 'D', got[0]!, 0, true);
    expect(p.allocate('A', 'D', 59_999, false)).toBe('EADDRNOTAVAIL');
    expect(p.allocate('A', 'D', 60_000, false)).toBe(got[0]);
  });

  it('tcp_tw_reuse takes a TIME_WAIT port once its entry is older than 1 s', () => {
    const p = ports(10);
    const got: number[] = [];
    for (let i = 0; i < 10; i++) got.push(p.allocate('A', 'D', 0, true) as number);
    p.release('A', 'D', got[4]!, 0, true);
    expect(p.allocate('A', 'D', 999, true)).toBe('EADDRNOTAVAIL');
    expect(p.allocate('A', 'D', 1_000, true)).toBe(got[4]);
    expect(p.reused).toBe(1);
    expect(p.timeWaitCount(1_000)).toBe(0);
  });

  /** Greedy client: closes `closesPerSec` connections per second (entering TIME_WAIT), opens all it can. */
  function steadyCeiling(size: number, closesPerSec: number, reuse: boolean, sources = ['A']): number {
    const p = ports(size);
    const open: Array<[string, number]> = [];
    let peakLate = 0;
    const stepMs = 100;
    for (let t = 0; t <= 180 * SEC; t += stepMs) {
      for (let k = 0; k < (closesPerSec * stepMs) / SEC && open.length > 0; k++) {
        const [src, port] = open.shift()!;
        p.release(src, 'D', port, t, true);
      }
      for (const src of sources) {
        for (;;) {
          const port = p.allocate(src, 'D', t, reuse);
          if (port === 'EADDRNOTAVAIL') break;
          open.push([src, port]);
        }
      }
      if (t > 90 * SEC) peakLate = Math.max(peakLate, open.length);
    }
    return peakLate;
  }

  it('concurrent ceiling ≈ R − TIME_WAIT · close rate', () => {
    const R = 5_000;
    const c = 30;
    expect(steadyCeiling(R, c, false)).toBeCloseTo(R - 60 * c, -1); // 3,200 ± 5
  });

  it('twice the source addresses → twice the port space', () => {
    const R = 5_000;
    const c = 30;
    // Closes are shared across both addresses, so TIME_WAIT parks c·60 ports in total.
    expect(steadyCeiling(R, c, false, ['A', 'B'])).toBeCloseTo(2 * R - 60 * c, -1);
  });

  it('tw_reuse shrinks the parked ports to ≈ 1 s of closes', () => {
    const R = 5_000;
    const c = 30;
    const ceiling = steadyCeiling(R, c, true);
    expect(ceiling).toBeGreaterThanOrEqual(R - 2 * c);
    expect(ceiling).toBeLessThanOrEqual(R);
  });
});

describe('TIME_WAIT belongs to the side that closes first', () => {
  function closeOne(closer: 'client' | 'server') {
    const p = pair({ clientSysctls: { portLo: 50_000, portHi: 50_009 } });
    const l = p.server.listen('*', 80, 128);
    if (typeof l === 'string') throw new Error(l);
    let srv: TcpSocket | undefined;
    new AcceptLoop(l, NODE, (s) => {
      srv = s;
      s.attach(
        {
          ...holdHandler,
          onEnd: (x) => x.close(),
        },
        null,
      );
    });
    const rec = new Recorder(p.world, 0, true);
    const c = rec.track(p.client.connect(p.serverAddr, 80, rec, 0));
    p.world.sched.runUntil(SEC);
    if (closer === 'client') c.close();
    else srv!.close();
    p.world.sched.runUntil(2 * SEC);
    return { p, c, srv: srv! };
  }

  it('client closes first: its port is parked for 60 s; the server holds nothing', () => {
    const { p } = closeOne('client');
    expect(p.client.host.ports.timeWaitCount(p.world.sched.nowMs)).toBe(1);
    expect(p.server.host.serverTimeWait).toBe(0);
    p.world.sched.runUntil(62 * SEC);
    expect(p.client.host.ports.timeWaitCount(p.world.sched.nowMs)).toBe(0);
    expect(p.server.host.serverTimeWait).toBe(0);
  });

  it('server closes first: the server holds TIME_WAIT and the client port is free at once', () => {
    const { p } = closeOne('server');
    expect(p.client.host.ports.timeWaitCount(p.world.sched.nowMs)).toBe(0);
    expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:80')).toBe(0);
    expect(p.server.host.serverTimeWait).toBe(1);
    p.world.sched.runUntil(63 * SEC);
    expect(p.server.host.serverTimeWait).toBe(0);
  });

  it('connect() → EADDRNOTAVAIL once every port toward the destination is taken or in TIME_WAIT', () => {
    const p = pair({ clientSysctls: { portLo: 50_000, portHi: 50_009 } });
    const l = p.server.listen('*', 80, 128);
    if (typeof l === 'string') throw new Error(l);
    new AcceptLoop(l, NODE, (s) => s.attach(holdHandler, null));
    const rec = new Recorder(p.world);
    const socks = [];
    for (let i = 0; i < 10; i++) socks.push(rec.track(p.client.connect(p.serverAddr, 80, rec, i)));
    expect(p.client.connect(p.serverAddr, 80, rec, 99)).toBe('EADDRNOTAVAIL');
    // Another server port is a different 4-tuple space.
    expect(typeof rec.track(p.client.connect(p.serverAddr, 81, rec, 100))).toBe('object');
    p.world.sched.runUntil(SEC);
    socks[0]!.close();
    p.world.sched.runUntil(2 * SEC);
    expect(p.client.connect(p.serverAddr, 80, rec, 101)).toBe('EADDRNOTAVAIL'); // parked in TIME_WAIT
    p.world.sched.runUntil(62 * SEC);
    expect(typeof rec.track(p.client.connect(p.serverAddr, 80, rec, 102))).toBe('object');
  });
});
