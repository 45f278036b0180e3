// The lab's twin of the load monitor (sim/adapters/load-sim.ts): its delay is the lag the simulated
// process actually has, so our gateway's brake (Gateway.setLoad) engages in the lab for the same reason
// it does in production.
import { describe, expect, it } from 'vitest';
import type { LoadSample } from '../../src/core/gateway.js';
import { startSimLoadMonitor } from '../../sim/adapters/load-sim.js';
import { NODE } from '../../sim/kernel/runtime.js';
import { World } from '../../sim/kernel/world.js';

function nodeProcess() {
  const world = new World('load-sim');
  const host = world.addHost({ name: 'h', os: 'linux', addresses: ['10.0.0.1'], memoryBytes: 1024 ** 3, cores: 2 });
  const proc = world.spawn(host, { name: 'p', runtime: NODE, nofileSoft: 1_024 });
  const samples: { atMs: number; s: LoadSample }[] = [];
  startSimLoadMonitor(proc, 100, (s) => samples.push({ atMs: world.sched.nowMs, s }));
  return { world, proc, samples };
}

describe('simulated load monitor', () => {
  it('an idle loop samples every period with no delay and no utilisation', () => {
    const { world, samples } = nodeProcess();
    world.sched.runUntil(1_000);
    expect(samples.map((x) => x.atMs)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]);
    for (const { s } of samples) expect(s).toEqual({ eventLoopDelayMs: 0, eventLoopUtilization: 0 });
  });

  it('a busy spell delays the sample to its end and shows as one delay the length of the spell', () => {
    const { world, proc, samples } = nodeProcess();
    world.sched.at(250, () => proc.busy(1_500), null);
    world.sched.runUntil(2_000);
    const during = samples.find((x) => x.atMs > 250)!;
    expect(during.atMs).toBe(1_750); // due at 300, it waited for the spell
    // The tick due at 250 (queued behind the spell that began at that instant) ran at 1,750: 1,500 ms late.
    expect(during.s.eventLoopDelayMs).toBeCloseTo(1_500, 6);
    expect(during.s.eventLoopUtilization).toBeCloseTo(1_500 / 1_550, 6);
    // One sample later the loop is idle again: the brake would be released.
    const after = samples[samples.indexOf(during) + 1]!;
    expect(after.atMs).toBe(1_850);
    expect(after.s.eventLoopDelayMs).toBe(0);
  });

  it('queued work (not only a spell) is lag: a timer waits behind it', () => {
    const { world, proc, samples } = nodeProcess();
    // 50 handshakes of 4 ms queued at once: the loop is occupied 200 ms (on the CPU directly: no GC stretch).
    world.sched.at(
      105,
      () => {
        for (let i = 0; i < 50; i++) proc.cpu.submit(4, () => undefined, null);
      },
      null,
    );
    world.sched.runUntil(600);
    const worst = Math.max(...samples.map((x) => x.s.eventLoopDelayMs));
    expect(worst).toBeCloseTo(195, 6); // the tick due at 110 ran at 305
  });

  it('stops sampling when the process dies', () => {
    const { world, proc, samples } = nodeProcess();
    world.sched.at(350, () => proc.kill('test'), null);
    world.sched.runUntil(1_000);
    expect(samples.map((x) => x.atMs)).toEqual([100, 200, 300]);
  });
});
