// /metrics over a cluster: prom-client's AggregatorRegistry asks every worker for its registry and adds the
// series up. Most of odin's series add up (connections, deliveries, bytes, capacity). A few describe the
// one stream every worker reads, or a per-process condition, and would be wrong as a sum; their
// aggregation is set on each worker's metric before the primary asks.
import { Counter, Gauge, Registry, type Aggregator } from 'prom-client';
import { M } from '../../core/metrics.js';
import { promName } from '../../adapters/telemetry-prom.js';
import { NATS_METRICS } from '../../adapters/nats/metrics.js';

export const WORKER_AGGREGATORS: Readonly<Record<string, Aggregator>> = {
  // Every worker reads every event: the cluster received each once.
  [M.eventsPublished]: 'max',
  [M.channels]: 'max',
  // Up only when every worker's feed is up.
  [M.brokerUp]: 'min',
  // The worst loop decides what clients feel; utilisation is the mean over cores.
  [M.eventLoopDelay]: 'max',
  [M.eventLoopUtilization]: 'average',
  // Each worker has its own consumer: the cluster is as far behind as its slowest one.
  [NATS_METRICS.pending]: 'max',
};

/** Sets the cluster aggregation of a worker's metrics (call once the catalog is registered). */
export function setWorkerAggregators(registry: Registry): void {
  for (const [name, aggregator] of Object.entries(WORKER_AGGREGATORS)) {
    const metric = registry.getSingleMetric(promName(name)) as { aggregator?: Aggregator } | undefined;
    if (metric !== undefined) metric.aggregator = aggregator;
  }
}

/** The primary's own series, appended to the workers' aggregate. */
export class PrimaryMetrics {
  readonly registry = new Registry();
  readonly workers = new Gauge({ name: 'odin_cluster_workers', help: 'Worker processes serving now (serve --workers).', registers: [this.registry] });
  readonly restarts = new Counter({
    name: 'odin_cluster_worker_restarts_total',
    help: 'Workers replaced after an exit the primary did not ask for.',
    registers: [this.registry],
  });
}
