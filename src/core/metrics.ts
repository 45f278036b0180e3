// The catalogue of metrics the core reports through the Telemetry port. The Prometheus adapter registers
// exactly these; the simulator records them in memory. Names follow Prometheus conventions: a prefix,
// base units (seconds, bytes), `_total` on counters.

export interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

export const M = {
  connections: 'odin_connections',
  capacity: 'odin_connections_capacity',
  handshakes: 'odin_handshakes_total',
  disconnects: 'odin_disconnects_total',
  eventsPublished: 'odin_events_published_total',
  eventsDelivered: 'odin_events_delivered_total',
  bytesOut: 'odin_bytes_out_total',
  queueBytes: 'odin_outbound_queue_bytes',
  gaps: 'odin_gaps_total',
  throttle: 'odin_throttle_notices_total',
  throttledSessions: 'odin_throttled_sessions',
  slowDisconnects: 'odin_slow_disconnects_total',
  resumes: 'odin_resumes_total',
  replays: 'odin_replays_total',
  protocolErrors: 'odin_protocol_errors_total',
  inboundMessages: 'odin_inbound_messages_total',
  eventLoopDelay: 'odin_event_loop_delay_seconds',
  eventLoopUtilization: 'odin_event_loop_utilization_ratio',
  brokerUp: 'odin_broker_up',
  subscriptions: 'odin_subscriptions',
  channels: 'odin_history_channels',
} as const;

export const metrics: readonly MetricDefinition[] = [
  { name: M.connections, help: 'Open WebSocket connections.', type: 'gauge', labelNames: [] },
  { name: M.capacity, help: 'Connections admitted at most, and the term that binds it.', type: 'gauge', labelNames: ['bound_by'] },
  { name: M.handshakes, help: 'Handshakes by outcome: accepted, or the refusal reason.', type: 'counter', labelNames: ['outcome'] },
  { name: M.disconnects, help: 'Closed connections by close code.', type: 'counter', labelNames: ['code'] },
  { name: M.eventsPublished, help: 'Events received from the broker.', type: 'counter', labelNames: [] },
  { name: M.eventsDelivered, help: 'Event frames written to clients (one per subscriber).', type: 'counter', labelNames: [] },
  { name: M.bytesOut, help: 'Bytes of WebSocket payload written to clients.', type: 'counter', labelNames: [] },
  { name: M.queueBytes, help: 'Bytes waiting in outbound queues of all sessions.', type: 'gauge', labelNames: [] },
  { name: M.gaps, help: 'Gap notices sent, by reason.', type: 'counter', labelNames: ['reason'] },
  { name: M.throttle, help: 'Throttle notices sent, by level entered.', type: 'counter', labelNames: ['level'] },
  { name: M.throttledSessions, help: 'Sessions currently at each throttle level (1..3).', type: 'gauge', labelNames: ['level'] },
  { name: M.slowDisconnects, help: 'Connections closed 1008 as slow consumers.', type: 'counter', labelNames: [] },
  { name: M.resumes, help: 'Subscribe requests with `since`, by outcome.', type: 'counter', labelNames: ['outcome', 'source'] },
  { name: M.replays, help: 'Replay requests, by outcome.', type: 'counter', labelNames: ['outcome'] },
  { name: M.protocolErrors, help: 'Error frames sent to clients, by code.', type: 'counter', labelNames: ['code'] },
  { name: M.inboundMessages, help: 'Valid client messages, by type.', type: 'counter', labelNames: ['type'] },
  { name: M.eventLoopDelay, help: 'Event-loop delay (p99 of the last sample).', type: 'gauge', labelNames: [] },
  { name: M.eventLoopUtilization, help: 'Event-loop utilisation over the last sample (0..1).', type: 'gauge', labelNames: [] },
  { name: M.brokerUp, help: '1 while the broker feed is live.', type: 'gauge', labelNames: [] },
  { name: M.subscriptions, help: 'Active subscriptions over all sessions.', type: 'gauge', labelNames: [] },
  { name: M.channels, help: 'Channels with a history ring.', type: 'gauge', labelNames: [] },
];
