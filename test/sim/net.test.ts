import { describe, expect, it } from 'vitest';
import { Prng } from '../../sim/engine/prng.js';
import { Link } from '../../sim/net/link.js';
import { Pipe } from '../../sim/net/socket-buffer.js';
import { AcceptLoop, NODE } from '../../sim/kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../../sim/kernel/socket.js';
import { holdHandler, pair } from './kernel-helpers.js';

describe('Link', () => {
  it('serialises a burst at the bandwidth and adds latency', () => {
    const l = new Link({ latencyMs: 5, jitterMs: 0, bandwidthBytesPerMs: 1000, lossRate: 0 }, new Prng(1));
    expect(l.transit(0, 1000)).toBe(6);
    expect(l.transit(0, 1000)).toBe(7); // queued behind the first
    expect(l.transit(10, 500)).toBe(15.5); // the interface was idle again
  });

  it('loses packets at its loss rate, from its own seeded stream', () => {
    const mk = () => new Link({ latencyMs: 1, jitterMs: 2, bandwidthBytesPerMs: 0, lossRate: 0.1 }, new Prng('l'));
    const a = mk();
    const b = mk();
    const ta = Array.from({ length: 20_000 }, () => a.transit(0, 100));
    const tb = Array.from({ length: 20_000 }, () => b.transit(0, 100));
    expect(ta).toEqual(tb);
    const lost = ta.filter((t) => t < 0).length;
    expect(lost / ta.length).toBeGreaterThan(0.09);
    expect(lost / ta.length).toBeLessThan(0.11);
    for (const t of ta) if (t >= 0) expect(t >= 1 && t < 3).toBe(true);
  });
});

describe('Pipe (socket buffers)', () => {
  it('a receiver that does not read fills rcv then snd; further writes stay in user space', () => {
    const p = new Pipe(16_384, 131_072);
    p.open = true;
    for (let i = 0; i < 300; i++) p.write(1_000, i);
    for (let seg = p.nextSegment(); seg !== null; seg = p.nextSegment()) p.arrive(seg);
    expect(p.rcvBytes).toBe(131_072);
    expect(p.sndBytes).toBe(16_384);
    expect(p.userBytes).toBe(300_000 - 131_072 - 16_384);
    // Reading opens the window and the data moves on.
    let read = 0;
    for (let c = p.read(); c !== null; c = p.read()) read++;
    expect(read).toBe(131); // whole chunks only: the 132nd is split by the window
    for (let seg = p.nextSegment(); seg !== null; seg = p.nextSegment()) p.arrive(seg);
    expect(p.userBytes).toBeLessThan(300_000 - 131_072 - 16_384);
  });
});

describe('slow reader over TCP', () => {
  it('the writer sees its buffered amount grow while the reader is paused, and drain after resume', () => {
    const p = pair();
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    let srv: TcpSocket | undefined;
    let drained = 0;
    new AcceptLoop(l, NODE, (s) => {
      srv = s;
      s.attach({ ...holdHandler, onDrain: () => drained++ }, null);
    });
    let received = 0;
    const reader: SocketHandler = { ...holdHandler, onData: () => received++ };
    const c = p.client.connect(p.serverAddr, 80, reader, null);
    if (typeof c === 'string') throw new Error(c);
    c.pause();
    p.world.sched.runUntil(100);
    const bufferedAfter: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 100; k++) srv!.write(1_000, k);
      p.world.sched.runUntil(200 + i * 100);
      bufferedAfter.push(srv!.bufferedBytes());
    }
    // 400 kB written; the kernel holds rmem (131,072 at the client) + wmem (16,384 at the server).
    expect(bufferedAfter[3]).toBe(400_000 - 131_072 - 16_384);
    expect(bufferedAfter).toEqual([...bufferedAfter].sort((a, b) => a - b));
    expect(c.unreadBytes()).toBe(131_072);
    c.resume();
    p.world.sched.runUntil(5_000);
    expect(received).toBe(400);
    expect(srv!.bufferedBytes()).toBe(0);
    expect(drained).toBe(1);
  });

  it('closing with unread data sends RST: the writer reads ECONNRESET', () => {
    const p = pair();
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    let srvError = '';
    new AcceptLoop(l, NODE, (s) => {
      s.attach({ ...holdHandler, onError: (_x, code) => (srvError = code) }, null);
      s.write(500, 'hello');
    });
    const c = p.client.connect(p.serverAddr, 80, holdHandler, null);
    if (typeof c === 'string') throw new Error(c);
    c.pause();
    p.world.sched.runUntil(100);
    expect(c.unreadBytes()).toBe(500);
    c.close();
    p.world.sched.runUntil(200);
    expect(srvError).toBe('ECONNRESET');
    expect(p.client.host.ports.timeWaitCount(200)).toBe(0); // an abort leaves no TIME_WAIT
  });

  it('data sent to a socket its program closed is answered with RST (the sender reads ECONNRESET)', () => {
    const p = pair();
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    new AcceptLoop(l, NODE, (s) => {
      s.attach(holdHandler, null);
      p.world.sched.after(50, () => s.close(), null);
    });
    let err = '';
    const c = p.client.connect(p.serverAddr, 80, { ...holdHandler, onError: (_s, code) => (err = code) }, null);
    if (typeof c === 'string') throw new Error(c);
    // The client does not react to the FIN and writes after the server closed (a late bet).
    p.world.sched.at(100, () => c.write(200, 'bet'), null);
    p.world.sched.runUntil(200);
    expect(err).toBe('ECONNRESET');
  });
});

describe('who closes first', () => {
  it('a client that reads a response and closes after the server already sent FIN is the passive closer', () => {
    const p = pair({ clientSysctls: { portLo: 50_000, portHi: 50_009 } });
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    // The server answers (an HTTP 503) and closes at once: data then FIN.
    new AcceptLoop(l, NODE, (s) => {
      s.attach(holdHandler, null);
      s.write(150, '503');
      s.close();
    });
    const c = p.client.connect(p.serverAddr, 80, { ...holdHandler, onData: (s) => s.close() }, null);
    if (typeof c === 'string') throw new Error(c);
    p.world.sched.runUntil(1_000);
    expect(p.client.host.ports.timeWaitCount(1_000)).toBe(0);
    expect(p.server.host.serverTimeWait).toBe(1);
  });
});

describe('partition and repair', () => {
  it('a partition drops every packet both ways (connects retransmit); repair lets the next SYN through', () => {
    const p = pair();
    const l = p.server.listen('*', 80, 511);
    if (typeof l === 'string') throw new Error(l);
    new AcceptLoop(l, NODE, (s) => s.attach(holdHandler, null));
    p.world.net.partition('client', 'server');
    let connectedAt = -1;
    const c = p.client.connect(p.serverAddr, 80, { ...holdHandler, onConnect: () => (connectedAt = p.world.sched.nowMs) }, null);
    if (typeof c === 'string') throw new Error(c);
    p.world.sched.at(2_500, () => p.world.net.repair('client', 'server'), null);
    p.world.sched.runUntil(10_000);
    // SYNs at 0, 1 and 2 s are lost; the retransmission at 3 s (tcp_syn_linear_timeouts) gets through.
    expect(Math.floor(connectedAt / 1000)).toBe(3);
  });
});

describe('orphaned FIN_WAIT2', () => {
  it('a client that gives up on a never-accepted connection frees its port after tcp_fin_timeout', () => {
    const p = pair({ clientSysctls: { finTimeoutMs: 15_000 } });
    const l = p.server.listen('*', 80, 16); // nobody ever accepts
    if (typeof l === 'string') throw new Error(l);
    const c = p.client.connect(p.serverAddr, 80, holdHandler, null);
    if (typeof c === 'string') throw new Error(c);
    p.world.sched.runUntil(1_000);
    c.close(); // the FIN is ACKed by the server's kernel; the server program never reads it
    p.world.sched.runUntil(15_999);
    expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:80')).toBe(1);
    p.world.sched.runUntil(16_001);
    expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:80')).toBe(0);
    expect(p.client.host.ports.timeWaitCount(16_001)).toBe(0); // FIN_WAIT2 timeout: no TIME_WAIT
  });
});
