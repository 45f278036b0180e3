// Other work's share of the CPU during a bench (benchmarks/e2e/other-work.ts): the /proc parsers, the
// arithmetic, and — on this Linux machine — that our own CPU time, children included once reaped, is
// counted as ours and not as other work.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSample, machineBusyTicks, otherCores, processTicks } from '../../benchmarks/e2e/other-work.js';
import { takenUnderLoad } from '../../benchmarks/e2e/e2e-report.js';

const burn = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('other work during a bench', () => {
  it('counts user, nice, system and steal of /proc/stat as busy, not idle, iowait or interrupts', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    expect(machineBusyTicks('cpu  100 2 30 5000 7 11 13 17 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n')).toBe(100 + 2 + 30 + 17);
    expect(() => machineBusyTicks('intr 1 2 3')).toThrow(/unexpected \/proc\/stat/);
  });

  it('reads utime + stime + cutime + cstime after the process name, which may hold spaces and parentheses', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', /* 14.. */ '40', '30', '20', '10', '20', '0'];
    expect(processTicks(`4242 (node (a) b) ${fields.join(' ')}`)).toBe(100);
    expect(() => processTicks('4242 (node) S 1')).toThrow(/unexpected \/proc\/self\/stat/);
  });

  it('divides the busy time that is not ours by the wall time', () => {
    const start = { machineBusyS: 100, ownS: 10, atMs: 0 };
    expect(otherCores(start, { machineBusyS: 120, ownS: 25, atMs: 10_000 })).toBe(0.5); // 20 busy − 15 ours over 10 s
    expect(otherCores(start, { machineBusyS: 101, ownS: 12, atMs: 10_000 })).toBe(0); // tick rounding: never below 0
    expect(otherCores(start, { ...start })).toBe(0);
  });

  it('marks a bench as taken under load by other work when known, else by the load average', () => {
    const quiet = { one: 3.4, five: 2, fifteen: 1 }; // the bench's own processes lift the average on 2 cores
    expect(takenUnderLoad(0.1, [quiet], 2)).toBe(false);
    expect(takenUnderLoad(0.6, [quiet], 2)).toBe(true);
    expect(takenUnderLoad(null, [quiet], 2)).toBe(true);
    expect(takenUnderLoad(null, [{ one: 1.5, five: 1, fifteen: 1 }], 2)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('counts this process and a reaped child as ours', () => {
    const before = cpuSample()!;
    burn(300);
    spawnSync(process.execPath, ['-e', 'const u = performance.now() + 300; while (performance.now() < u);']);
    const after = cpuSample()!;
    const own = after.ownS - before.ownS;
    // Both burns (0.3 s each, give or take a tick and the child's start-up) are ours …
    expect(own).toBeGreaterThanOrEqual(0.5);
    // … and the machine was busy at least as long as we were.
    expect(after.machineBusyS - before.machineBusyS).toBeGreaterThanOrEqual(own - 0.05);
  });
});
