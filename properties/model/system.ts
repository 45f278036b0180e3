// The system under test, built from a factory so every property can run against the real core or against a
// deliberately broken double (properties/catches). A system is the real Gateway and MemoryBroker on a manual
// clock with fake connections (test/support), plus the adapter duty the core leaves to its host: when the
// gateway closes or terminates a connection, report it back through onClosed.
import { MemoryBroker, type MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import type { CapacityInput, PeerInfo } from '../../src/core/admission.js';
import { Gateway, type GatewayParts, type GatewayPorts, type PublishOutcome, type Session } from '../../src/core/gateway.js';
import { gatewayOptions, type GatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import type { Broker, Connection, Random } from '../../src/core/ports.js';
import { FakeConnection, RecordingTelemetry } from '../../test/support/fakes.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { seededRandom } from '../../test/support/seeded-random.js';

/** The seams a broken double may replace. Every field is optional; the defaults are the real thing. */
export interface Variant {
  readonly name?: string;
  /** Wraps the broker the gateway talks to (the MemoryBroker stays the source of truth for the model). */
  wrapBroker?(inner: MemoryBroker, clock: SimClock): Broker;
  /** Components of the gateway replaced by broken ones (src/core/gateway.ts, GatewayParts). */
  readonly parts?: Partial<GatewayParts>;
  /** Wraps a client's connection as the gateway sees it; `index` counts connections from 0. */
  wrapConnection?(conn: Connection, index: number): Connection;
  /** The gateway's and broker's randomness for a seed. */
  random?(seed: number): Random;
}

export const realCore: Variant = { name: 'real core' };

export interface SystemConfig {
  readonly options?: GatewayOptionsInput;
  readonly retention?: MemoryBrokerRetention;
  readonly seed?: number;
  /** Resource terms of the capacity (docs/operations.md, "How capacity is derived"); absent: the configured maximum binds. */
  readonly capacity?: CapacityInput;
}

export interface Link {
  readonly conn: FakeConnection;
  readonly session: Session;
  /** Frames of conn already consumed by the checker. */
  read: number;
  /** Set once the gateway closed (or terminated) the connection and onClosed was reported. */
  ended: { code: number; reason: string } | null;
}

export class System {
  readonly clock = new SimClock();
  readonly telemetry = new RecordingTelemetry();
  readonly memory: MemoryBroker;
  readonly broker: Broker;
  readonly gateway: Gateway;
  readonly options: GatewayOptions;
  readonly links: Link[] = [];
  private connections = 0;

  constructor(
    readonly variant: Variant,
    config: SystemConfig = {},
  ) {
    const random = (variant.random ?? seededRandom)(config.seed ?? 7);
    this.memory = new MemoryBroker(this.clock, random, config.retention);
    this.broker = variant.wrapBroker?.(this.memory, this.clock) ?? this.memory;
    this.options = gatewayOptions(config.options);
    const ports: GatewayPorts = { clock: this.clock, random, broker: this.broker, telemetry: this.telemetry };
    this.gateway = new Gateway(ports, this.options, config.capacity, variant.parts);
    this.gateway.start();
  }

  /** Admits and opens a connection; null when admission refuses. */
  connect(peer: PeerInfo): Link | null {
    const admission = this.gateway.admit(peer);
    if (!admission.ok) return null;
    const conn = new FakeConnection();
    const seen = this.variant.wrapConnection?.(conn, this.connections) ?? conn;
    this.connections++;
    const link: Link = { conn, session: this.gateway.open(seen, admission.ticket), read: 0, ended: null };
    this.links.push(link);
    this.settle();
    return link;
  }

  /** Client messages sent, by type (the inbound counters must agree). */
  readonly sent = new Map<string, number>();

  send(link: Link, message: unknown): void {
    const type = String((message as { type?: unknown }).type);
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1);
    this.gateway.onMessage(link.session, JSON.stringify(message));
    this.settle();
  }

  /** The client went away (its socket closed); the host reports it. */
  disconnect(link: Link, code = 1006): void {
    this.gateway.onClosed(link.session, code);
    link.ended ??= { code, reason: 'client went away' };
    this.settle();
  }

  /** Publishes in one turn; returns the acknowledged offsets (null where the publish was refused). */
  publish(items: readonly { channel: string; data: string }[]): (number | null)[] {
    const offsets: (number | null)[] = items.map(() => null);
    items.forEach((item, i) =>
      this.gateway.publish(item.channel, item.data, (o: PublishOutcome) => {
        if (o.ok) offsets[i] = o.offset;
      }),
    );
    this.settle();
    return offsets;
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.settle();
  }

  /** Runs deferred work, then reports connections the gateway closed, until nothing moves. */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      this.clock.settle();
      let moved = false;
      for (const link of this.links) {
        if (link.ended !== null) continue;
        const closed = link.conn.closed ?? (link.conn.terminated ? { code: 1006, reason: 'terminated' } : null);
        if (closed === null) continue;
        link.ended = closed;
        this.gateway.onClosed(link.session, closed.code);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('system did not settle');
  }

  /** Frames written to `link` since the last call. */
  fresh(link: Link): Uint8Array[] {
    const frames = link.conn.frames().slice(link.read);
    link.read += frames.length;
    return frames.map((f) => f.bytes);
  }

  /** Every byte written to every connection, and how each ended: the transcript I10 compares. */
  transcript(): string {
    const utf8 = new TextDecoder();
    return this.links
      .map(
        (l, i) =>
          `#${i} ${l.conn
            .frames()
            .map((f) => utf8.decode(f.bytes))
            .join('\n')} end=${JSON.stringify(l.ended ?? l.conn.closed)}`,
      )
      .join('\n');
  }
}
