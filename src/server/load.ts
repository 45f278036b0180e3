// Samples event-loop delay and utilisation for the load brake (DESIGN §5): when the loop is saturated,
// new handshakes are refused so the connections already open keep being served.
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { LoadSample } from '../core/gateway.js';

export interface LoadMonitor {
  stop(): void;
}

/** Calls `onSample` every `sampleMs` with the p99 delay and the utilisation over that interval. */
export function startLoadMonitor(sampleMs: number, onSample: (sample: LoadSample) => void): LoadMonitor {
  // 10 ms resolution: finer costs a timer wake-up per ms for no decision the brake would make differently.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    // The histogram includes the resolution itself in every sample; subtract it so an idle loop reads ~0.
    const p99Ms = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e6 - 10) : 0;
    delay.reset();
    onSample({ eventLoopDelayMs: p99Ms, eventLoopUtilization: utilization });
  }, sampleMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      delay.disable();
    },
  };
}
