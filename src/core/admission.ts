// Admission, decided before the WebSocket upgrade (docs/operations.md, "How capacity is derived" and
// "Refusals and limits"): a refusal is an HTTP response the client can act on (503 + Retry-After, 429),
// never an accepted connection that is reset later (I7). The last step of src/core/handshake.ts.
import type { Identity } from './auth.js';
import { TokenBucket } from './token-bucket.js';
import type { AdmissionOptions } from './options.js';

export interface CapacityInput {
  readonly configuredMax: number;
  /** The cgroup memory limit (or configured budget); null when unlimited. */
  readonly memoryBudgetBytes: number | null;
  /** Memory the process needs with no connections and no history (runtime, code), measured at start. */
  readonly baselineBytes: number;
  /** Memory history may fill: the rings' and the embedded broker's byte bounds (src/core/memory-budget.ts). */
  readonly retainedBytes: number;
  /** The gateway's own per-connection accounting (docs/operations.md gives the formula). */
  readonly perConnectionBytes: number;
  /** RLIMIT_NOFILE soft limit; null when unknown. */
  readonly fdLimit: number | null;
  /** Descriptors kept for everything that is not a client: listeners, broker, logs, the accept reserve. */
  readonly fdReserve: number;
}

/** Capacity inputs when nothing is known about the resources: the configured maximum binds. */
export function configuredOnly(configuredMax: number): CapacityInput {
  return { configuredMax, memoryBudgetBytes: null, baselineBytes: 0, retainedBytes: 0, perConnectionBytes: 1, fdLimit: null, fdReserve: 0 };
}

export type CapacityBound = 'config' | 'memory' | 'descriptors';

export interface Capacity {
  readonly connectionsMax: number;
  readonly boundBy: CapacityBound;
  readonly terms: { readonly config: number; readonly memory: number | null; readonly descriptors: number | null };
}

/**
 * capacity = min(configured max, (memory budget − baseline − retained history) / per-connection cost,
 * fd limit − reserve).
 */
export function computeCapacity(input: CapacityInput): Capacity {
  const free = input.memoryBudgetBytes === null ? null : input.memoryBudgetBytes - input.baselineBytes - input.retainedBytes;
  const memory = free === null ? null : Math.max(0, Math.floor(free / input.perConnectionBytes));
  const descriptors = input.fdLimit === null ? null : Math.max(0, input.fdLimit - input.fdReserve);
  const terms = { config: input.configuredMax, memory, descriptors };
  // A resource term that ties with the configured one is the more useful answer to "what binds?".
  let connectionsMax = input.configuredMax;
  let boundBy: CapacityBound = 'config';
  if (memory !== null && memory <= connectionsMax) {
    connectionsMax = memory;
    boundBy = 'memory';
  }
  // (A tie between the two resource terms keeps memory: either answer is true.)
  if (descriptors !== null && (descriptors < connectionsMax || (descriptors === connectionsMax && boundBy === 'config'))) {
    connectionsMax = descriptors;
    boundBy = 'descriptors';
  }
  return { connectionsMax, boundBy, terms };
}

export interface PeerInfo {
  readonly ip: string;
  /** Authenticated user, when known; per-user caps apply only then. */
  readonly userId: string | null;
  /** The verified token the user came from (src/core/auth.ts); the session keeps it. */
  readonly identity?: Identity | null;
}

export type RefusalReason = 'capacity' | 'per_user' | 'per_ip' | 'handshake_rate' | 'draining' | 'overloaded';

/**
 * The HTTP status each refusal is answered with (src/core/handshake.ts): 503 when this gateway cannot take
 * anyone now (come back later, or go to another instance), 429 when this client or address asks too much.
 */
export const REFUSAL_STATUS: Readonly<Record<RefusalReason, 429 | 503>> = {
  capacity: 503,
  overloaded: 503,
  draining: 503,
  per_user: 429,
  per_ip: 429,
  handshake_rate: 429,
};

/**
 * A reserved slot between admit() and the end of the upgrade, then the open connection's: what release()
 * must count back, and the identity the session takes. The peer's fields are copied, not referenced — one
 * object per connection instead of two (docs/benchmarks.md, "A lighter connection").
 */
export interface AdmissionTicket {
  readonly ip: string;
  readonly userId: string | null;
  readonly identity: Identity | null;
  state: 'reserved' | 'open' | 'released';
}

interface HandshakeState {
  readonly bucket: TokenBucket;
  /** When the next refused client will be told to come back (a virtual queue at the refill rate). */
  nextSlotMs: number;
}

export type Admission =
  | { readonly ok: true; readonly ticket: AdmissionTicket }
  | { readonly ok: false; readonly status: 429 | 503; readonly reason: RefusalReason; readonly retryAfterS: number; readonly message: string };

function bump(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

export class AdmissionControl {
  /** Slots held: open connections plus upgrades in flight. Never exceeds capacity (I7). */
  held = 0;
  draining = false;
  overloaded = false;
  private readonly perUser = new Map<string, number>();
  private readonly perIp = new Map<string, number>();
  private readonly handshakes = new Map<string, HandshakeState>();

  constructor(
    private readonly options: AdmissionOptions,
    readonly capacity: Capacity,
  ) {}

  admit(peer: PeerInfo, nowMs: number): Admission {
    if (this.draining) return this.refuse('draining', this.options.retryAfterS, 'the gateway is shutting down; reconnect to another instance');
    if (this.overloaded) return this.refuse('overloaded', this.options.retryAfterS, 'the gateway is overloaded; existing connections are being served first');
    let state = this.handshakes.get(peer.ip);
    if (state === undefined) {
      state = { bucket: new TokenBucket(this.options.handshakeBurst, this.options.handshakesPerSecond, nowMs), nextSlotMs: 0 };
      this.handshakes.set(peer.ip, state);
    }
    if (!state.bucket.take(nowMs)) {
      // Each refused client gets its own future slot, one refill interval after the previous one, so
      // clients that obey Retry-After come back at the rate tokens return instead of all at once.
      const slotMs = Math.max(nowMs + state.bucket.waitMs(nowMs), state.nextSlotMs);
      state.nextSlotMs = slotMs + 1000 / this.options.handshakesPerSecond;
      const waitS = Math.max(1, Math.ceil((slotMs - nowMs) / 1000));
      return this.refuse('handshake_rate', waitS, `more than ${this.options.handshakesPerSecond} handshakes per second from ${peer.ip}`);
    }
    if (this.held >= this.capacity.connectionsMax) {
      return this.refuse('capacity', this.options.retryAfterS, `at capacity (${this.capacity.connectionsMax} connections, bound by ${this.capacity.boundBy})`);
    }
    if (peer.userId !== null && (this.perUser.get(peer.userId) ?? 0) >= this.options.perUserMax) {
      return this.refuse('per_user', this.options.retryAfterS, `user already has ${this.options.perUserMax} connections`);
    }
    if ((this.perIp.get(peer.ip) ?? 0) >= this.options.perIpMax) {
      return this.refuse('per_ip', this.options.retryAfterS, `address already has ${this.options.perIpMax} connections`);
    }
    this.held++;
    bump(this.perIp, peer.ip, 1);
    if (peer.userId !== null) bump(this.perUser, peer.userId, 1);
    return { ok: true, ticket: { ip: peer.ip, userId: peer.userId, identity: peer.identity ?? null, state: 'reserved' } };
  }

  /** Gives the slot back: the upgrade failed, or the connection closed. Idempotent. */
  release(ticket: AdmissionTicket): void {
    if (ticket.state === 'released') return;
    ticket.state = 'released';
    this.held--;
    bump(this.perIp, ticket.ip, -1);
    if (ticket.userId !== null) bump(this.perUser, ticket.userId, -1);
  }

  /** Forgets addresses whose bucket has refilled and whose promised slots are past: the same as new. */
  sweep(nowMs: number): void {
    for (const [ip, state] of this.handshakes) if (state.nextSlotMs <= nowMs && state.bucket.isFull(nowMs)) this.handshakes.delete(ip);
  }

  usersTop(limit: number): { userId: string; connections: number }[] {
    return [...this.perUser.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([userId, connections]) => ({ userId, connections }));
  }

  get userCount(): number {
    return this.perUser.size;
  }

  private refuse(reason: RefusalReason, retryAfterS: number, message: string): Admission {
    return { ok: false, status: REFUSAL_STATUS[reason], reason, retryAfterS, message };
  }
}
