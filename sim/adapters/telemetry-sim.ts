// The simulated twin of the Telemetry port: counters, gauges and observations kept in memory for reports;
// logs kept (bounded) with their virtual time. Deterministic: no wall clock, insertion-ordered maps.
import type { Clock, Labels, LogLevel, Telemetry } from '../../src/core/ports.js';

function key(name: string, labels?: Labels): string {
  if (labels === undefined) return name;
  const names = Object.keys(labels);
  // One label, the common case (counted per message): no sort, no intermediate arrays.
  if (names.length === 1) {
    const k = names[0] as string;
    return `${name}{${k}=${String(labels[k])}}`;
  }
  const parts = names.sort().map((k) => `${k}=${String(labels[k])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export interface LogLine {
  readonly atMs: number;
  readonly level: LogLevel;
  readonly message: string;
}

export class SimTelemetry implements Telemetry {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly logs: LogLine[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly logsMax = 1_000,
  ) {}

  count(name: string, labels?: Labels, by = 1): void {
    const k = key(name, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    this.gauges.set(key(name, labels), value);
  }

  observe(): void {
    // Histograms are not kept: scenarios measure latencies at the robots, where users feel them.
  }

  log(level: LogLevel, message: string): void {
    if (this.logs.length < this.logsMax) this.logs.push({ atMs: this.clock.nowMs(), level, message });
  }

  /** Sum of a counter over all label sets. */
  total(name: string): number {
    let n = 0;
    for (const [k, v] of this.counters) if (k === name || k.startsWith(`${name}{`)) n += v;
    return n;
  }
}
