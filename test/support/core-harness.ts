// Drives the real Gateway and MemoryBroker on a manual clock, with fake connections: the core's unit tests
// and the property suites speak to it through these few verbs.
import { MemoryBroker, type MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import type { PeerInfo } from '../../src/core/admission.js';
import type { TokenVerifier } from '../../src/core/auth.js';
import { Gateway, type GatewayParts, type PublishOutcome, type Session } from '../../src/core/gateway.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import type { CapacityInput } from '../../src/core/admission.js';
import { FakeConnection, RecordingTelemetry } from './fakes.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { seededRandom } from './seeded-random.js';

export interface Client {
  readonly conn: FakeConnection;
  readonly session: Session;
  send(message: unknown): void;
  sendRaw(text: string): void;
  close(code?: number): void;
}

export interface Harness {
  readonly clock: SimClock;
  readonly broker: MemoryBroker;
  readonly gateway: Gateway;
  readonly telemetry: RecordingTelemetry;
  /** `batch`: the client negotiated batched frames (docs/protocol.md, "Batched frames"). */
  connect(peer?: Partial<PeerInfo>, batch?: boolean): Client;
  publish(channel: string, data: unknown): PublishOutcome;
}

/**
 * Admits `peer` and opens a fake connection for it on any gateway driven by `clock` (tests with a broker
 * of their own use this; harness().connect adds addresses and the first settle). Does not settle.
 */
export function openClient(gateway: Gateway, clock: SimClock, peer: PeerInfo, batch = false): Client {
  const admission = gateway.admit(peer);
  if (!admission.ok) throw new Error(`admission refused: ${admission.reason}`);
  const conn = new FakeConnection();
  const session = gateway.open(conn, admission.ticket, batch);
  return {
    conn,
    session,
    send(message) {
      gateway.onMessage(session, JSON.stringify(message));
      clock.settle();
    },
    sendRaw(text) {
      gateway.onMessage(session, text);
      clock.settle();
    },
    close(code = 1006) {
      gateway.onClosed(session, code);
    },
  };
}

export function harness(
  options: GatewayOptionsInput = {},
  extra: { retention?: MemoryBrokerRetention; capacity?: CapacityInput; seed?: number; parts?: Partial<GatewayParts>; verifier?: TokenVerifier } = {},
): Harness {
  const clock = new SimClock();
  const random = seededRandom(extra.seed ?? 7);
  const telemetry = new RecordingTelemetry();
  const broker = new MemoryBroker(clock, random, extra.retention);
  const ports = { clock, random, broker, telemetry, ...(extra.verifier !== undefined ? { verifier: extra.verifier } : {}) };
  const gateway = new Gateway(ports, gatewayOptions(options), extra.capacity, extra.parts);
  gateway.start();
  let ipCounter = 0;
  return {
    clock,
    broker,
    gateway,
    telemetry,
    connect(peer = {}, batch = false) {
      const ip = peer.ip ?? `10.0.0.${++ipCounter % 250}`;
      const client = openClient(
        gateway,
        clock,
        peer.identity != null ? { ip, userId: peer.identity.user, identity: peer.identity } : { ip, userId: peer.userId ?? null },
        batch,
      );
      clock.settle();
      return client;
    },
    publish(channel, data) {
      let outcome: PublishOutcome | undefined;
      gateway.publish(channel, JSON.stringify(data), (o) => (outcome = o));
      clock.settle();
      if (outcome === undefined) throw new Error('publish did not answer');
      return outcome;
    },
  };
}
