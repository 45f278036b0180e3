import { describe, expect, it } from 'vitest';
import { FdTable } from '../../sim/kernel/fd-table.js';
import { AcceptLoop, GO, NODE, type RuntimeProfile } from '../../sim/kernel/runtime.js';
import type { TcpSocket } from '../../sim/kernel/socket.js';
import { holdHandler, pair, Recorder } from './kernel-helpers.js';

const SEC = 1000;

describe('FdTable', () => {
  it('allows exactly `limit` open descriptors, then EMFILE; a close makes room for one', () => {
    const t = new FdTable(10);
    t.reserve(3);
    const fds: number[] = [];
    for (;;) {
      const fd = t.open();
      if (fd === 'EMFILE') break;
      fds.push(fd);
    }
    expect(fds).toHaveLength(7);
    expect(new Set(fds).size).toBe(7);
    expect(t.emfileCount).toBe(1);
    t.close(fds[0]!);
    expect(t.open()).toBe(fds[0]);
    expect(t.open()).toBe('EMFILE');
  });
});

/**
 * A server with nofile N: 3 stdio + 1 listening socket (+ libuv's reserve) leave the rest for connections.
 * Clients send 300 bytes (their HTTP Upgrade) as soon as they connect. The server holds every accepted
 * connection for `holdMs`, then closes it.
 */
function run(runtime: RuntimeProfile, nofile: number, clients: number, holdMs: number) {
  const p = pair({ serverRuntime: runtime, serverNofile: nofile });
  const l = p.server.listen('*', 8080, 511);
  if (typeof l === 'string') throw new Error(l);
  const acceptedAt: number[] = [];
  const loop = new AcceptLoop(l, { ...runtime, raisesNofileToHard: false }, (s: TcpSocket) => {
    acceptedAt.push(p.world.sched.nowMs);
    s.attach(holdHandler, null);
    p.world.sched.after(holdMs, () => s.destroy(), null);
  });
  const rec = new Recorder(p.world, 300);
  for (let i = 0; i < clients; i++) p.world.sched.at(i * 0.5, () => rec.track(p.client.connect(p.serverAddr, 8080, rec, i)), null);
  return { p, l, loop, rec, acceptedAt };
}

describe('EMFILE at accept', () => {
  it('accept() fails with EMFILE at exactly the count the table allows, leaving the connection queued', () => {
    const { p, l, loop, acceptedAt } = run(GO, 20, 30, 1e9);
    p.world.sched.runUntil(2 * SEC);
    // 20 − 3 stdio − 2 of Go's netpoller − 1 listener = 14 accepted; the rest wait in the accept queue.
    expect(acceptedAt).toHaveLength(14);
    expect(p.server.fds.used).toBe(20);
    expect(loop.stats.emfile).toBeGreaterThan(0);
    expect(l.q.acceptQueueLength).toBe(16);
  });

  it('libuv (Node) accepts and closes the overflow: those clients read ECONNRESET right away', () => {
    const { p, loop, rec, acceptedAt } = run(NODE, 40, 30, 10 * SEC);
    p.world.sched.runUntil(5 * SEC);
    // Node holds 19 before its first client (measured at the limit: 3 stdio, NODE_START_FDS 15 with
    // libuv's reserve, the listener): 40 − 19 = 21 held connections, 9 closed by the EMFILE trick.
    expect(acceptedAt).toHaveLength(21);
    const resets = rec.errors('ECONNRESET');
    expect(resets).toHaveLength(9);
    expect(loop.stats.emfileClosed).toBe(9);
    for (const o of resets) expect(o.errorMs! - o.startMs).toBeLessThan(5); // milliseconds, not seconds
  });

  it('Go retries accept with backoff: the overflow sees latency, not errors', () => {
    // Twice the 14 connections the table holds: the second 14 wait for the first to close.
    const { p, loop, rec, acceptedAt } = run(GO, 20, 28, 2 * SEC);
    p.world.sched.runUntil(20 * SEC);
    expect(rec.list().filter((o) => o.error !== undefined)).toHaveLength(0);
    expect(acceptedAt).toHaveLength(28);
    // The first 14 get in at once; the others only after held connections close at ≈2 s, then at the next
    // backoff wake-up (5 ms doubling to ≤ 1 s), so strictly later than 2 s and before 2 s + 1 s.
    const late = acceptedAt.slice(14);
    for (const t of late) {
      expect(t).toBeGreaterThan(2 * SEC);
      expect(t).toBeLessThan(3 * SEC + 20);
    }
    expect(loop.stats.backoffs).toBeGreaterThanOrEqual(8); // 5,10,…,640 ms, 1 s: sleeps until 2 s have passed
  });

  it('Node raises the soft limit to the hard limit at start; a runtime that does not keeps the soft one', () => {
    const p = pair();
    const node = p.world.spawn(p.server.host, { name: 'n', runtime: NODE, nofileSoft: 1024, nofileHard: 524_288 });
    const go = p.world.spawn(p.server.host, {
      name: 'g',
      runtime: { ...GO, raisesNofileToHard: false },
      nofileSoft: 1024,
      nofileHard: 524_288,
    });
    expect(node.fds.softLimit).toBe(524_288);
    expect(go.fds.softLimit).toBe(1024);
  });

  it('the client side runs out too: connect() → EMFILE from the robots’ own table', () => {
    const p = pair({ clientNofile: 10 });
    const rec = new Recorder(p.world);
    const results: Array<string> = [];
    for (let i = 0; i < 9; i++) {
      const s = p.client.connect(p.serverAddr, 8080, rec, i);
      results.push(typeof s === 'string' ? s : 'ok');
    }
    // 10 − 3 stdio − 2 of Go's netpoller = 5 sockets.
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    expect(results.slice(5)).toEqual(['EMFILE', 'EMFILE', 'EMFILE', 'EMFILE']);
  });
});
