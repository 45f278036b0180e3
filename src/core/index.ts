// The public entry of the sans-IO core (package.json exports "./core"): what a host needs to run the
// gateway with ports of its own — the Gateway facade, the ports it talks through, its options, and the
// protocol's shapes. Two hosts use exactly this surface today: the server (src/server) with real adapters,
// and the lab (sim/) with simulated twins (docs/design.md, "One core, two worlds"). Everything not listed
// here is internal to src/core and may change without notice; the components (src/core/parts.ts) are
// exported for hosts and tests that replace one.
export { Gateway, realParts } from './gateway.js';
export type {
  Admission,
  AdmissionTicket,
  CapacityInput,
  DrainOutcome,
  GatewayParts,
  GatewayPorts,
  GatewayStats,
  HandshakeOutcome,
  HandshakeRefusal,
  HandshakeRequest,
  LoadSample,
  PeerInfo,
  PublishOutcome,
  PublishRefusal,
  Session,
} from './gateway.js';
export { computeCapacity, REFUSAL_STATUS, type Capacity, type CapacityBound, type RefusalReason } from './admission.js';
export { defaultGatewayOptions, gatewayOptions, type ChannelClass, type GatewayOptions, type GatewayOptionsInput, type Priority } from './options.js';
export type { Broker, BrokerEvent, BrokerSink, BrokerStatus, Clock, Connection, Frame, HistoryRequest, HistoryResult, Labels, LogLevel, PublishResult, Random, Telemetry, Timer } from './ports.js';
export { CloseCodes, PROTOCOL_VERSION, SUBPROTOCOL, type ClientMessage, type ServerMessage } from './protocol.js';
export { M as MetricNames, metrics, type MetricDefinition } from './metrics.js';
