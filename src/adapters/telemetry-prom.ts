// The real Telemetry port: metrics into a prom-client registry, logs through pino.
// Metric names and help texts come from the core's catalog (src/core/metrics.ts). A name missing from the
// catalog is created on first use rather than thrown on: telemetry must never take the gateway down.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Labels, LogLevel, Telemetry } from '../core/ports.js';

/** The shape of one entry of src/core/metrics.ts (structural, so this file compiles without it). */
export interface MetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

export type LoggerLevel = LogLevel | 'fatal' | 'trace' | 'silent';

export interface PromTelemetryOptions {
  readonly catalog: readonly MetricSpec[];
  readonly logLevel: LoggerLevel;
  /** Where log lines go; stdout when absent. Tests pass a stream they can read. */
  readonly destination?: DestinationStream;
  /** Process metrics (CPU, memory, GC, event-loop lag) from prom-client; on by default. */
  readonly processMetrics?: boolean;
  /** Fields on every log line besides `service` (a cluster worker adds its slot and pid). */
  readonly logBase?: Readonly<Record<string, unknown>>;
}

/**
 * Field names that may carry secrets anywhere in a log record, one and two levels deep (pino's redaction
 * has no recursive wildcard). Secrets must never reach log storage.
 */
export const REDACTED_PATHS: readonly string[] = (() => {
  const keys = ['authorization', 'Authorization', 'apiKey', 'token', 'password', 'secret', '"x-api-key"'];
  const paths: string[] = [];
  for (const key of keys) {
    const ref = key.startsWith('"') ? `[${key}]` : `.${key}`;
    paths.push(key.startsWith('"') ? `[${key}]` : key, `*${ref}`, `*.*${ref}`);
  }
  return paths;
})();

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export class PromTelemetry implements Telemetry {
  readonly registry = new Registry();
  readonly logger: Logger;
  private readonly specs = new Map<string, MetricSpec>();
  private readonly live = new Map<string, AnyMetric>();
  /** Names already reported as misused, so a hot-path mistake logs once, not once per event. */
  private readonly complained = new Set<string>();

  constructor(options: PromTelemetryOptions) {
    for (const spec of options.catalog) this.specs.set(spec.name, spec);
    this.logger = pino(
      {
        level: options.logLevel,
        base: { service: 'odin', ...options.logBase },
        redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      // Synchronous: the core logs rarely (never per message), and an async buffer can lose or reorder the
      // last lines when the process exits right after a drain.
      options.destination ?? pino.destination({ dest: 1, sync: true }),
    );
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Registered up front so dashboards and alerts see every series (at zero) before its first event.
    for (const spec of options.catalog) this.metric(spec.name, spec.type, undefined);
  }

  count(name: string, labels?: Labels, by = 1): void {
    const metric = this.metric(name, 'counter', labels);
    this.guard(name, () => {
      if (metric instanceof Histogram) throw new Error('count() on a histogram');
      if (labels === undefined) metric?.inc(by);
      else metric?.inc(labels, by);
    });
  }

  gauge(name: string, value: number, labels?: Labels): void {
    const metric = this.metric(name, 'gauge', labels);
    this.guard(name, () => {
      if (!(metric instanceof Gauge)) throw new Error('gauge() on a metric that is not a gauge');
      if (labels === undefined) metric.set(value);
      else metric.set(labels, value);
    });
  }

  observe(name: string, value: number, labels?: Labels): void {
    const metric = this.metric(name, 'histogram', labels);
    this.guard(name, () => {
      if (!(metric instanceof Histogram)) throw new Error('observe() on a metric that is not a histogram');
      if (labels === undefined) metric.observe(value);
      else metric.observe(labels, value);
    });
  }

  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void {
    if (fields === undefined) this.logger[level](message);
    else this.logger[level](fields, message);
  }

  /** Prometheus text exposition of every metric in this registry. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Flushes buffered log lines (pino's async destination) before the process exits. */
  flush(): void {
    try {
      this.logger.flush();
    } catch {
      // A destination without flush support has nothing buffered.
    }
  }

  private metric(name: string, used: MetricSpec['type'], labels: Labels | undefined): AnyMetric | undefined {
    const existing = this.live.get(name);
    if (existing !== undefined) return existing;
    const spec =
      this.specs.get(name) ??
      ({ name, help: `${name} (not in the metrics catalog)`, type: used, labelNames: labels === undefined ? [] : Object.keys(labels) } satisfies MetricSpec);
    let metric: AnyMetric | undefined;
    this.guard(name, () => {
      const config = { name: promName(spec.name), help: spec.help, labelNames: [...spec.labelNames], registers: [this.registry] };
      metric =
        spec.type === 'counter'
          ? new Counter(config)
          : spec.type === 'gauge'
            ? new Gauge(config)
            : new Histogram({ ...config, buckets: [...(spec.buckets ?? DEFAULT_BUCKETS)] });
    });
    if (metric !== undefined) this.live.set(name, metric);
    return metric;
  }

  private guard(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (this.complained.has(name)) return;
      this.complained.add(name);
      this.logger.warn({ metric: name, err: (error as Error).message }, 'metric misuse ignored');
    }
  }
}

/** Prometheus names allow [a-zA-Z0-9_:] and no leading digit; the catalog may use dots. */
export function promName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}
