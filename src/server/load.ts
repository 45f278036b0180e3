// Samples event-loop delay and utilisation for the load brake (docs/design.md, "Admission and limits"): when the loop is saturated,
// new handshakes are refused so the connections already open keep being served.
//
// Delay is measured with our own drift timer rather than perf_hooks.monitorEventLoopDelay: that monitor
// drops the first delay after every reset(), so a stall that starts right after a sample boundary — e.g.
// housekeeping on the same one-second cadence — would never be seen. Our timer keeps its last tick across
// windows, so every stall lands in some window.
import { createHistogram, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { LoadSample } from '../core/gateway.js';

export interface LoadMonitor {
  stop(): void;
}

/** 10 ms: finer costs a wake-up per ms for no decision the brake would make differently. */
const RESOLUTION_MS = 10;

/** Calls `onSample` every `sampleMs` with the p99 delay (ms) and the utilisation (0..1) of that interval. */
export function startLoadMonitor(sampleMs: number, onSample: (sample: LoadSample) => void): LoadMonitor {
  const delays = createHistogram();
  let lastTickMs = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    // Microseconds, at least 1: the histogram only takes positive integers.
    delays.record(Math.max(1, Math.round((now - lastTickMs - RESOLUTION_MS) * 1000)));
    lastTickMs = now;
  }, RESOLUTION_MS);
  tick.unref();

  let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  const sample = setInterval(() => {
    // Count the time since the last tick too, so a stall still in progress at the boundary is not lost.
    const pendingMs = performance.now() - lastTickMs - RESOLUTION_MS;
    const p99Ms = Math.max(delays.count > 0 ? delays.percentile(99) / 1000 : 0, pendingMs, 0);
    delays.reset();
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, lastElu).utilization;
    lastElu = now;
    onSample({ eventLoopDelayMs: p99Ms, eventLoopUtilization: utilization });
  }, sampleMs);
  sample.unref();

  return {
    stop: () => {
      clearInterval(tick);
      clearInterval(sample);
    },
  };
}
