import { describe, expect, it } from 'vitest';
import { AcceptLoop, NODE } from '../../sim/kernel/runtime.js';
import type { Listener } from '../../sim/kernel/tcp.js';
import { holdHandler, pair, Recorder } from './kernel-helpers.js';

const SEC = 1000;

function listen(p: ReturnType<typeof pair>, backlog: number): Listener {
  const l = p.server.listen('*', 8080, backlog);
  if (typeof l === 'string') throw new Error(l);
  return l;
}

/**
 * 100 clients one by one (each handshake completes: the accept queue holds 100), then at 200 ms a burst of
 * 40 whose SYNs all arrive before any final ACK: 40 requests (the SYN queue holds backlog + 1 = 129), then
 * their ACKs: 29 fit the accept queue (129), 11 find it full and are ignored.
 */
function burstOnto100(p: ReturnType<typeof pair>, rec: Recorder): void {
  for (let i = 0; i < 100; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 8080, rec, i)), null);
  p.world.sched.at(
    200,
    () => {
      for (let i = 100; i < 140; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    },
    null,
  );
}

describe('Linux accept queue (server not accepting)', () => {
  it('holds backlog + 1 connections (sk_acceptq_is_full uses >); later SYNs are dropped until ETIMEDOUT at 131 s', () => {
    const p = pair();
    const l = listen(p, 128);
    const rec = new Recorder(p.world);
    // One client per millisecond: each handshake finishes before the next starts (LAN RTT ≈ 0.2 ms).
    for (let i = 0; i < 140; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 8080, rec, i)), null);
    p.world.sched.runUntil(200 * SEC);
    const out = rec.list();
    const connected = out.filter((o) => o.connectedMs !== undefined);
    expect(connected).toHaveLength(129);
    expect(l.q.acceptQueueLength).toBe(129);
    const timedOut = rec.errors('ETIMEDOUT');
    expect(timedOut).toHaveLength(11);
    // tcp_syn_linear_timeouts 4 on top of tcp_syn_retries 6: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s.
    for (const o of timedOut) expect(o.errorMs! - o.startMs).toBe(131 * SEC);
    expect(l.q.stats.dropsAcceptQueueFull).toBe(11 * 11); // the SYN and its 10 retransmissions, each dropped
  });

  it.each([
    { linear: 4, steps: [1, 2, 5] }, // SYNs at 1, 2, 3, 4, 5, 7 s (this machine's kernel)
    { linear: 0, steps: [1, 3, 7] }, // SYNs at 1, 3, 7 s (older kernels)
  ])('a waiting client gets in at the retransmission after a slot frees: tcp_syn_linear_timeouts $linear → latency steps $steps s', ({ linear, steps }) => {
    const p = pair({ clientSysctls: { synLinearTimeouts: linear } });
    const l = listen(p, 128);
    const rec = new Recorder(p.world);
    for (let i = 0; i < 132; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 8080, rec, i)), null);
    // The server accepts one connection at 0.5 s, 2 s and 5 s (between the client's retransmissions).
    for (const t of [0.5, 2, 5]) p.world.sched.at(t * SEC, () => void l.accept(), null);
    p.world.sched.runUntil(200 * SEC);
    const late = rec.list().slice(129);
    const latencies = late.map((o) => (o.connectedMs === undefined ? undefined : Math.round((o.connectedMs - o.startMs) / 10) * 10));
    expect(latencies).toEqual(steps.map((t) => t * SEC));
  });

  it('with an ACK arriving on a full queue the client believes it is connected, then reads ECONNRESET at ≈63 s', () => {
    const p = pair();
    listen(p, 128);
    const rec = new Recorder(p.world, 300); // each client sends its HTTP Upgrade once connected
    burstOnto100(p, rec);
    p.world.sched.runUntil(200 * SEC);
    const out = rec.list();
    expect(out.every((o) => o.connectedMs !== undefined && o.connectedMs - o.startMs < 1)).toBe(true);
    const resets = rec.errors('ECONNRESET');
    expect(resets).toHaveLength(140 - 129);
    // SYN-ACK retransmits at 1, 3, 7, 15, 31 s (tcp_synack_retries 5) find the queue still full; the request
    // dies one RTO after the last, 63 s after it began, and the client's pending data meets a RST.
    for (const o of resets) expect((o.errorMs! - o.startMs) / SEC).toBeCloseTo(63, 1);
  });

  it('a client that closes while its ACK sits ignored sends its FIN when the request dies; the RST reaps the socket', () => {
    const p = pair();
    listen(p, 128);
    const rec = new Recorder(p.world); // sends nothing: only its FIN can tell the server anything
    burstOnto100(p, rec);
    // Every client closes at 1 s, long before the ignored requests die at 63 s.
    p.world.sched.at(
      SEC,
      () => {
        for (const s of [...p.client.sockets]) s.close();
      },
      null,
    );
    // The 129 queued ones got their FIN in and died in FIN_WAIT2 at 61 s (tcp_fin_timeout); the 11 others
    // are still in FIN_WAIT1: their FIN waits behind the handshake.
    p.world.sched.runUntil(62 * SEC);
    expect(p.client.sockets.size).toBe(140 - 129);
    expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:8080')).toBe(140 - 129);
    p.world.sched.runUntil(64 * SEC);
    // The listener no longer knows the flow and answers the FIN with RST: the orphan is gone, its port
    // free (no TIME_WAIT after a RST), and its program, which already closed, hears nothing.
    expect(p.client.sockets.size).toBe(0);
    expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:8080')).toBe(0);
    expect(p.client.host.ports.timeWaitCount(p.world.sched.nowMs)).toBe(0);
    expect(rec.list().filter((o) => o.error !== undefined)).toEqual([]);
  });

  it('tcp_abort_on_overflow=1 turns the ignored ACK into an immediate RST', () => {
    const p = pair({ serverSysctls: { tcpAbortOnOverflow: true } });
    listen(p, 128);
    const rec = new Recorder(p.world);
    for (let i = 0; i < 140; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    p.world.sched.runUntil(10 * SEC);
    const resets = rec.errors('ECONNRESET');
    expect(resets).toHaveLength(11);
    for (const o of resets) expect(o.errorMs!).toBeLessThan(5);
  });

  it('the effective backlog is min(backlog, somaxconn)', () => {
    const p = pair({ serverSysctls: { somaxconn: 64 } });
    const l = listen(p, 511);
    expect(l.q.backlog).toBe(64);
  });

  it('nothing listening → RST in SYN_SENT → ECONNREFUSED after one round trip', () => {
    const p = pair();
    const rec = new Recorder(p.world);
    rec.track(p.client.connect(p.serverAddr, 9999, rec, 0));
    p.world.sched.runUntil(SEC);
    const [o] = rec.list();
    expect(o?.error).toBe('ECONNREFUSED');
    expect(o!.errorMs!).toBeLessThan(1);
  });

  it('without syncookies, tcp_max_syn_backlog drops SYNs once ¾ of it is taken', () => {
    // Server never answers the handshake's last step: clients on a lossy reverse path keep requests embryonic.
    const p = pair({ serverSysctls: { tcpSyncookies: 0, tcpMaxSynBacklog: 64, somaxconn: 4096 } });
    const l = listen(p, 4096);
    p.world.net.setLink('client', 'server', { latencyMs: 0.1, jitterMs: 0, bandwidthBytesPerMs: 0, lossRate: 0 });
    p.world.net.setLink('server', 'client', { latencyMs: 50, jitterMs: 0, bandwidthBytesPerMs: 0, lossRate: 0 });
    const rec = new Recorder(p.world);
    for (let i = 0; i < 100; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    p.world.sched.runUntil(1);
    // Admitted while 64 − len ≥ 64/4, i.e. len ≤ 48: 49 requests; "fewer than ¼ left" drops the other 51.
    expect(l.q.embryonicCount).toBe(49);
    expect(l.q.stats.dropsSynBacklog).toBe(51);
  });

  it('with syncookies the SYN queue overflow is answered with cookies, not drops', () => {
    const p = pair({ serverSysctls: { somaxconn: 16 } });
    const l = listen(p, 16);
    const loop = new AcceptLoop(l, NODE, (s) => s.attach(holdHandler, null));
    const rec = new Recorder(p.world);
    for (let i = 0; i < 100; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    p.world.sched.runUntil(SEC);
    expect(l.q.stats.cookiesSent).toBe(100 - 17); // the SYN queue holds backlog + 1 requests (> since 2025)
    expect(loop.stats.accepted).toBe(100);
    expect(rec.list().every((o) => o.connectedMs !== undefined && o.connectedMs < 1)).toBe(true);
  });

  it('a syncookie connection whose ACK arrives after the listener closed is reset: no socket knows the flow', () => {
    const p = pair({ link: { latencyMs: 5, jitterMs: 0, bandwidthBytesPerMs: 0, lossRate: 0 } });
    const l = listen(p, 2);
    const rec = new Recorder(p.world);
    for (let i = 0; i < 6; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    // SYNs arrive at 5 ms (three requests, three cookies), SYN-ACKs at 10 ms, the final ACKs at 15 ms.
    p.world.sched.at(12, () => l.close(), null);
    p.world.sched.runUntil(SEC);
    expect(l.q.stats.cookiesSent).toBe(3);
    // Closing the listener resets its three requests at once; the cookies were state nowhere, so their ACKs
    // meet a port with no socket and draw RST: every client believed it was connected and reads ECONNRESET.
    const out = rec.list();
    expect(out.every((o) => o.connectedMs === 10)).toBe(true);
    expect(out.map((o) => o.error)).toEqual(Array(6).fill('ECONNRESET'));
    expect(p.client.sockets.size).toBe(0);
  });
});

describe('macOS listen queue', () => {
  it('one queue counts incomplete + complete; a full queue drops SYNs silently; connect gives up at 75 s', () => {
    const p = pair({ serverOs: 'macos' });
    const l = listen(p, 511); // Node's default backlog, clamped to kern.ipc.somaxconn = 128
    expect(l.q.backlog).toBe(128);
    const rec = new Recorder(p.world);
    for (let i = 0; i < 130; i++) p.world.sched.at(i, () => rec.track(p.client.connect(p.serverAddr, 8080, rec, i)), null);
    p.world.sched.runUntil(100 * SEC);
    expect(rec.list().filter((o) => o.connectedMs !== undefined)).toHaveLength(128);
    const timedOut = rec.errors('ETIMEDOUT');
    expect(timedOut).toHaveLength(2);
    for (const o of timedOut) expect(o.errorMs! - o.startMs).toBe(75 * SEC);
  });

  it('a SYN on a full queue evicts a random embryonic connection, whose client is reset', () => {
    // Slow server→client path keeps connections embryonic for 50 ms.
    const p = pair({ serverOs: 'macos' });
    p.world.net.setLink('server', 'client', { latencyMs: 50, jitterMs: 0, bandwidthBytesPerMs: 0, lossRate: 0 });
    const l = listen(p, 128);
    const rec = new Recorder(p.world);
    for (let i = 0; i < 150; i++) rec.track(p.client.connect(p.serverAddr, 8080, rec, i));
    p.world.sched.runUntil(10 * SEC);
    expect(l.q.stats.evictions).toBe(22);
    const out = rec.list();
    expect(out.filter((o) => o.connectedMs !== undefined && o.error === undefined)).toHaveLength(128);
    // An evicted client saw its SYN-ACK and then the RST (both 50 ms away): connected, then reset.
    expect(out.filter((o) => o.error === 'ECONNRESET' || o.error === 'ECONNREFUSED')).toHaveLength(22);
  });
});
