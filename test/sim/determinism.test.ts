import { describe, expect, it } from 'vitest';
import { runGuarded } from '../../sim/engine/determinism-guard.js';
import { AcceptLoop, GO } from '../../sim/kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../../sim/kernel/socket.js';
import { pair } from './kernel-helpers.js';

/**
 * A small lossy, jittery run with every model involved: queue overflow, retransmits, EMFILE backoff,
 * data, closes. The trace is every client-visible event with its virtual time.
 */
function traceRun(seed: number): string {
  const p = pair({
    seed,
    serverRuntime: GO,
    serverNofile: 60,
    serverSysctls: { somaxconn: 16 },
    link: { latencyMs: 0.5, jitterMs: 0.4, bandwidthBytesPerMs: 10_000, lossRate: 0.05 },
  });
  const trace: string[] = [];
  const t = () => p.world.sched.nowMs.toFixed(4);
  const l = p.server.listen('*', 80, 511);
  if (typeof l === 'string') throw new Error(l);
  new AcceptLoop(l, GO, (s: TcpSocket) => {
    s.attach(
      {
        onConnect: () => undefined,
        onData: (x) => x.write(200, 'reply'),
        onEnd: (x) => x.close(),
        onError: () => undefined,
        onDrain: () => undefined,
      },
      null,
    );
    p.world.sched.after(p.world.rng.fork(`hold${s.id}`).uniform(100, 3000), () => s.close(), null);
  });
  const client: SocketHandler = {
    onConnect: (s) => {
      trace.push(`${t()} connect ${s.ctx}`);
      s.write(300, 'upgrade');
    },
    onData: (s) => trace.push(`${t()} data ${s.ctx}`),
    onEnd: (s) => {
      trace.push(`${t()} end ${s.ctx}`);
      s.close();
    },
    onError: (s, code) => trace.push(`${t()} ${code} ${s.ctx}`),
    onDrain: () => undefined,
  };
  const rng = p.world.rng.fork('arrivals');
  let at = 0;
  for (let i = 0; i < 300; i++) {
    at += rng.exponential(5);
    p.world.sched.at(
      at,
      (k: number) => {
        const r = p.client.connect(p.serverAddr, 80, client, k);
        if (typeof r === 'string') trace.push(`${t()} ${r} ${k}`);
      },
      i,
    );
  }
  p.world.sched.runUntil(300_000);
  return trace.join('\n');
}

describe('determinism (I10)', () => {
  it('same seed → identical trace; another seed → a different one', () => {
    const a = traceRun(11);
    const b = traceRun(11);
    const c = traceRun(12);
    expect(a.length).toBeGreaterThan(1000);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('the whole kernel model runs under the guard: no wall clock, no Math.random', () => {
    const guarded = runGuarded(() => traceRun(11));
    expect(guarded).toBe(traceRun(11));
  });
});
