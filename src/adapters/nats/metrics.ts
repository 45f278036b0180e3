// Metrics only the NATS broker can report, through the same Telemetry port as the core's (registered with
// them at start-up, src/server/server.ts): how far this gateway's stream consumer is behind the stream,
// and how long events take from the stream to this gateway's fan-out. Dashboards and alerts use both
// (deploy/grafana, deploy/prometheus; docs/deploy.md).
import type { MetricDefinition } from '../../core/metrics.js';

export const NATS_METRICS = {
  pending: 'odin_broker_pending_events',
  eventAge: 'odin_broker_event_age_seconds',
} as const;

export const natsMetrics: readonly MetricDefinition[] = [
  {
    name: NATS_METRICS.pending,
    help: "Stream messages not yet read by this gateway's consumer (its lag behind the stream head; NATS only).",
    type: 'gauge',
    labelNames: [],
  },
  {
    name: NATS_METRICS.eventAge,
    help: 'Publish to fan-out: time from the stream storing an event to this gateway handing it to subscribers (NATS only; live reads, not catch-up).',
    type: 'histogram',
    labelNames: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
];
