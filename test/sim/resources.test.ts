import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../sim/engine/scheduler.js';
import { Cpu } from '../../sim/kernel/cpu.js';
import { gcStretch, MemoryAccount } from '../../sim/kernel/memory.js';
import { linuxConntrackMax } from '../../sim/kernel/host.js';
import { AcceptLoop, GO, NODE } from '../../sim/kernel/runtime.js';
import type { TcpSocket } from '../../sim/kernel/socket.js';
import { GIB, holdHandler, pair, Recorder } from './kernel-helpers.js';

const SEC = 1000;
const MIB = 1024 ** 2;

describe('GC stretch', () => {
  const gc = GO.gc;
  it('is 1 + costRatio/growth while the heap goal fits under the limit', () => {
    expect(gcStretch(0, 100, gc)).toBeCloseTo(1 + gc.costRatio / gc.growth, 12);
    expect(gcStretch(40, 100, gc)).toBeCloseTo(1 + gc.costRatio / gc.growth, 12);
  });
  it('rises as L/(H−L) past the point where the limit sets the heap goal, up to the cap', () => {
    expect(gcStretch(80, 100, gc)).toBeCloseTo(1 + gc.costRatio * 4, 12); // 80/20 = 4
    expect(gcStretch(99, 100, gc)).toBe(gc.stretchMax);
    expect(gcStretch(100, 100, NODE.gc)).toBe(NODE.gc.stretchMax);
  });
  it('is monotone non-decreasing in usage', () => {
    let prev = 0;
    for (let u = 0; u <= 100; u += 0.5) {
      const s = gcStretch(u, 100, NODE.gc);
      expect(s).toBeGreaterThanOrEqual(prev);
      prev = s;
    }
  });
});

describe('memory limit', () => {
  it('a charge past the limit kills the process; charges below it do not', () => {
    let killed = 0;
    const m = new MemoryAccount(100 * MIB, GO.gc, () => killed++);
    expect(m.charge(60 * MIB)).toBe(true);
    expect(m.charge(40 * MIB)).toBe(true); // exactly at the limit is allowed
    expect(killed).toBe(0);
    expect(m.charge(1)).toBe(false);
    expect(killed).toBe(1);
    expect(m.charge(1)).toBe(false);
    expect(killed).toBe(1);
  });

  it('OOM kill closes every descriptor: unread data → RST (ECONNRESET), else FIN; then connects are refused', () => {
    const p = pair({ serverMemoryLimitBytes: 64 * MIB });
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    // Every accepted connection costs 1 MiB: 64 fit exactly, the 65th kills. Even-numbered connections
    // are paused, so their clients' 300-byte requests sit unread in the server's receive buffers.
    let n = 0;
    new AcceptLoop(l, NODE, (s: TcpSocket) => {
      s.attach(holdHandler, null);
      if (n++ % 2 === 0) s.pause();
      p.server.mem.charge(1 * MIB);
    });
    const rec = new Recorder(p.world, 300);
    for (let i = 0; i < 80; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 80, rec, i)), null);
    p.world.sched.runUntil(5 * SEC);
    expect(p.server.alive).toBe(false);
    expect(p.server.exitReason).toBe('oom');
    expect(p.server.diedAtMs).toBeGreaterThan(64);
    expect(p.server.diedAtMs).toBeLessThan(65);
    const out = rec.list();
    for (let i = 0; i < 64; i++) {
      if (i % 2 === 0) expect(out[i]!.error, `client ${i}`).toBe('ECONNRESET');
      else expect([out[i]!.error, out[i]!.ended], `client ${i}`).toEqual([undefined, true]);
    }
    expect(out.slice(65).every((o) => o.error === 'ECONNREFUSED')).toBe(true);
  });
});

describe('CPU', () => {
  it('N cores serve a FIFO queue: 100 items of 10 ms on 4 cores finish at 250 ms, in order', () => {
    const s = new Scheduler();
    const cpu = new Cpu(s, 4);
    const done: number[] = [];
    for (let i = 0; i < 100; i++) cpu.submit(10, (k: number) => done.push(k), i);
    expect(cpu.queueDelayMs()).toBe(250);
    s.runUntilIdle(1000);
    expect(s.nowMs).toBe(250);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(cpu.utilisation()).toBeCloseTo(1, 12);
  });

  it('a herd queues: the k-th of simultaneous items waits (k−1)/cores × cost', () => {
    const s = new Scheduler();
    const cpu = new Cpu(s, 2);
    const at: number[] = [];
    for (let i = 0; i < 6; i++) cpu.submit(3, () => at.push(s.nowMs), null);
    s.runUntilIdle(100);
    expect(at).toEqual([3, 3, 6, 6, 9, 9]);
  });

  it('GC stretch multiplies the cost', () => {
    const s = new Scheduler();
    const cpu = new Cpu(s, 1, () => 2.5);
    cpu.submit(4, () => undefined, null);
    s.runUntilIdle(10);
    expect(s.nowMs).toBe(10);
  });
});

describe('conntrack', () => {
  it('default max = RAM/16384 within 1024..262144', () => {
    expect(linuxConntrackMax(2 * GIB)).toBe(131_072);
    expect(linuxConntrackMax(1 * MIB)).toBe(1_024);
    expect(linuxConntrackMax(64 * GIB)).toBe(262_144);
  });

  it('a full table drops new flows: the client retransmits and gets in once entries expire', () => {
    const p = pair({ serverSysctls: { conntrackMax: 5 } });
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    new AcceptLoop(l, NODE, (s) => s.attach({ ...holdHandler, onEnd: (x) => x.close() }, null));
    const rec = new Recorder(p.world, 0, true);
    const first = [];
    for (let i = 0; i < 5; i++) first.push(rec.track(p.client.connect(p.serverAddr, 80, rec, i)));
    let late: TcpSocket | undefined;
    p.world.sched.at(1, () => (late = rec.track(p.client.connect(p.serverAddr, 80, rec, 5))), null);
    p.world.sched.runUntil(2 * SEC);
    if (late === undefined) throw new Error('late client not started');
    expect(p.server.host.conntrack!.drops).toBeGreaterThan(0);
    expect(rec.outcomes.get(late)!.connectedMs).toBeUndefined();
    for (const s of first) s.close(); // clean close: entries linger 120 s (nf_conntrack_tcp_timeout_time_wait)
    p.world.sched.runUntil(132 * SEC);
    const o = rec.outcomes.get(late)!;
    // Its last SYN goes at 67 s (then ETIMEDOUT at 131 s), before the entries free at 2 s + 120 s linger.
    expect(o.error).toBe('ETIMEDOUT');
    const again = rec.track(p.client.connect(p.serverAddr, 80, rec, 6));
    p.world.sched.runUntil(133 * SEC);
    expect(rec.outcomes.get(again)!.connectedMs).toBeDefined();
  });
});

describe('conntrack accounting', () => {
  it('every admitted flow releases its entry exactly once, whatever its fate', () => {
    // Mixed fates: accepted and closed cleanly, dropped on a full accept queue until ETIMEDOUT, refused.
    const p = pair({ serverSysctls: { conntrackMax: 10_000 } });
    const l = p.server.listen('*', 80, 4);
    if (typeof l === 'string') throw new Error(l);
    const rec = new Recorder(p.world, 0, true);
    for (let i = 0; i < 20; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 80, rec, i)), null);
    p.world.sched.at(2, () => rec.track(p.client.connect(p.serverAddr, 81, rec, 99)), null);
    p.world.sched.at(
      200 * SEC,
      () => {
        for (;;) {
          const s = l.accept();
          if (typeof s === 'string') break;
          s.close();
        }
      },
      null,
    );
    p.world.sched.runUntil(600 * SEC);
    const ct = p.server.host.conntrack!;
    expect(ct.peak).toBeGreaterThan(0);
    expect(ct.entries).toBe(0);
  });
});
