// The simulated twin of the load monitor (src/server/load.ts), so our gateway's load brake runs in the lab
// on the same core code (Gateway.setLoad) as in production. The mechanism is the real one: a drift timer
// every 10 ms and a sample every `sampleMs`, both timers on the process's one event loop. A timer cannot
// run while the loop is occupied, so each one, when due, waits for the work already on the process's CPU
// queue — a busy spell (SimProcess.busy), queued handshakes, writes — exactly as accept and reads do; the
// delay it then records is the lag the simulated process actually has. Like setInterval, each timer is
// re-armed from when its callback ran, so a long stall yields one long delay, not a burst of ticks.
import type { LoadSample } from '../../src/core/gateway.js';
import type { SimProcess } from '../kernel/process.js';

/** src/server/load.ts RESOLUTION_MS. */
export const LOAD_TICK_MS = 10;

export interface SimLoadMonitor {
  stop(): void;
}

/** p99 by nearest rank, as an HDR histogram reports it for a handful of values. */
function p99(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
}

export function startSimLoadMonitor(proc: SimProcess, sampleMs: number, onSample: (sample: LoadSample) => void): SimLoadMonitor {
  const sched = proc.world.sched;
  const cpu = proc.cpu;
  let stopped = false;
  let delays: number[] = [];
  let lastTickMs = sched.nowMs;
  let lastDoneMs = cpu.doneMs();
  let lastSampleMs = sched.nowMs;

  /** Arms a loop timer: due after `ms`, it runs once the work queued ahead of it on the loop is done. */
  const arm = (ms: number, fn: () => void): void => {
    sched.after(
      ms,
      () => {
        if (!stopped && proc.alive) cpu.submit(0, fn, undefined);
      },
      undefined,
    );
  };
  const tick = (): void => {
    const now = sched.nowMs;
    delays.push(Math.max(0, now - lastTickMs - LOAD_TICK_MS));
    lastTickMs = now;
    arm(LOAD_TICK_MS, tick);
  };
  const sample = (): void => {
    const now = sched.nowMs;
    const pendingMs = now - lastTickMs - LOAD_TICK_MS;
    const delayMs = Math.max(p99(delays), pendingMs, 0);
    delays = [];
    const done = cpu.doneMs();
    const elapsed = now - lastSampleMs;
    const utilization = elapsed > 0 ? Math.min(1, (done - lastDoneMs) / (elapsed * cpu.cores)) : 0;
    lastDoneMs = done;
    lastSampleMs = now;
    onSample({ eventLoopDelayMs: delayMs, eventLoopUtilization: utilization });
    arm(sampleMs, sample);
  };
  arm(LOAD_TICK_MS, tick);
  arm(sampleMs, sample);
  return {
    stop: () => {
      stopped = true;
    },
  };
}
