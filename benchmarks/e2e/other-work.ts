// How much CPU other work took from the machine while a bench ran. The load average cannot say: an
// end-to-end bench loads the machine itself (two servers, their load workers, the publisher), so on an
// otherwise idle 2-core box its own processes lift the 1-minute average above 2 — and the next bench starts
// under the average the last one left. Instead: the machine's busy CPU time over the run (/proc/stat),
// minus what this process and the processes it started and reaped used (/proc/self/stat: utime + stime +
// cutime + cstime, where the children's times arrive as each is reaped — servers and load workers are all
// stopped and awaited before a bench reports). What is left, per second of wall time, is the cores other
// work used. Linux only; elsewhere null, and the load average decides.
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU times in these ticks on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** CPU seconds the whole machine spent busy (every core; see machineBusyTicks). */
  readonly machineBusyS: number;
  /** CPU seconds of this process and its reaped descendants. */
  readonly ownS: number;
  readonly atMs: number;
}

/**
 * The busy ticks of /proc/stat's first line (user nice system idle iowait irq softirq steal …): user, nice,
 * system and steal (a hypervisor giving the cores to other machines is other work too). Interrupt and
 * softirq time is left out: on loopback it is mostly the bench's own traffic, which the kernel may account
 * there rather than to the processes that sent it.
 */
export function machineBusyTicks(procStat: string): number {
  const line = procStat.split('\n', 1)[0]!;
  const [label, ...fields] = line.trim().split(/\s+/);
  if (label !== 'cpu' || fields.length < 8) throw new Error(`unexpected /proc/stat first line: ${line}`);
  const [user, nice, system, , , , , steal] = fields.map(Number) as [number, number, number, number, number, number, number, number];
  return user + nice + system + steal;
}

/** utime + stime + cutime + cstime of a /proc/<pid>/stat line (fields 14–17; the name may hold spaces). */
export function processTicks(pidStat: string): number {
  const after = pidStat.slice(pidStat.lastIndexOf(')') + 2).split(' ');
  // `after` starts at field 3 (state): fields 14..17 are at 11..14.
  const ticks = after.slice(11, 15).map(Number);
  if (ticks.length !== 4 || ticks.some((t) => !Number.isFinite(t))) throw new Error(`unexpected /proc/self/stat: ${pidStat.slice(0, 80)}`);
  return ticks.reduce((a, b) => a + b, 0);
}

export function cpuSample(): CpuSample | null {
  try {
    return {
      machineBusyS: machineBusyTicks(readFileSync('/proc/stat', 'utf8')) / TICKS_PER_SECOND,
      ownS: processTicks(readFileSync('/proc/self/stat', 'utf8')) / TICKS_PER_SECOND,
      atMs: performance.now(),
    };
  } catch {
    return null;
  }
}

/** Cores other work used on average between two samples (never below 0: tick rounding). */
export function otherCores(start: CpuSample, end: CpuSample): number {
  const wallS = (end.atMs - start.atMs) / 1000;
  if (wallS <= 0) return 0;
  const other = end.machineBusyS - start.machineBusyS - (end.ownS - start.ownS);
  return Math.max(0, Math.round((other / wallS) * 100) / 100);
}
