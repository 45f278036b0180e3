// One client connection inside the core: its subscriptions, outbound queue, inbound rate limiter and
// heartbeat place. Behaviour lives in the gateway's components (docs/design.md, "The core's components"); this file is the
// state they act on, plus the two waits every way of ending a session must stop.
import type { AdmissionTicket } from './admission.js';
import type { Identity } from './auth.js';
import type { EventRecord } from './history.js';
import type { DueList } from './heartbeat.js';
import type { Connection, Timer } from './ports.js';
import { OutboundQueue, type QueueTotals } from './outbound-queue.js';
import { SmallMap } from './small-map.js';
import type { TokenBucket } from './token-bucket.js';

/** Live events of a subscription held back while its reply (and replay) is being prepared. */
export interface HeldEvents {
  readonly records: EventRecord[];
  overflowed: boolean;
  /**
   * First held offset per concrete channel, kept past the bound on records: an overflow must name every
   * channel it cuts (a pattern subscription spans several, and a gap notice names one concrete channel).
   */
  readonly firstByChannel: Map<string, number>;
}

export interface Subscription {
  readonly key: string;
  readonly pattern: boolean;
  readonly session: Session;
  /** Non-null until the subscribe reply is sent: live events wait here, so they follow the replay. */
  held: HeldEvents | null;
  /** Live events at or below this offset were already delivered by the replay (docs/protocol.md, the seam). */
  deliveredThrough: number;
}

export type SessionState = 'open' | 'closing' | 'closed';

export class Session {
  readonly subscriptions = new SmallMap<string, Subscription>();
  readonly queue: OutboundQueue;
  state: SessionState = 'open';
  /** Set while the session waits in the writer's flush list (src/core/writer.ts). */
  dirty = false;
  /** While live events wait for writeDelayMs: when they must leave at the latest (src/core/writer.ts). */
  holdUntilMs: number | null = null;
  /** Set while the session is in the writer's list of held sessions. */
  inHoldList = false;
  /** Offset of the last live event queued, so overlapping subscriptions deliver an event once. */
  lastLiveOffset = 0;
  throttleLevel = 0;
  /** When a critical event first had to exceed the queue bound; null while within it. */
  overBoundSinceMs: number | null = null;
  overBoundTimer: Timer | null = null;
  violations = 0;
  lastViolationMs = 0;
  /** Anything (a message or a pong) arrived since the last heartbeat check. */
  heard = false;
  /** Who this is (a verified token); null for an anonymous session (auth.mode=none). Replaced by refresh. */
  identity: Identity | null;
  /** The token's next deadline: the expiry warning, then the close (src/core/token-lifetime.ts). */
  tokenTimer: Timer | null = null;
  /** The heartbeat list this session waits in (src/core/heartbeat.ts), its neighbours there, and when it is due. */
  hbList: DueList | null = null;
  hbPrev: Session | null = null;
  hbNext: Session | null = null;
  hbDueMs = 0;
  /**
   * The inbound rate limiter, made at the first message and given up again while full (the heartbeat
   * checks once per interval): a full bucket behaves exactly like a new one, and most sessions send a few
   * messages at the start and then only listen (docs/benchmarks.md, "A lighter connection").
   */
  inbound: TokenBucket | null = null;

  constructor(
    readonly id: string,
    readonly conn: Connection,
    readonly ticket: AdmissionTicket,
    readonly openedAtMs: number,
    totals: QueueTotals,
    /** The client reads batched frames (docs/protocol.md, "Batched frames"). */
    readonly batch = false,
  ) {
    this.queue = new OutboundQueue(totals);
    this.identity = ticket.identity;
  }

  /** The queue is within its bound again: the slow-consumer deadline no longer runs. */
  clearOverBound(): void {
    this.overBoundSinceMs = null;
    this.overBoundTimer?.cancel();
    this.overBoundTimer = null;
  }

  /** Stops the heartbeat, the slow-consumer and the token deadlines (the session is closing or closed). */
  stopTimers(): void {
    this.tokenTimer?.cancel();
    this.tokenTimer = null;
    this.hbList?.remove(this);
    this.overBoundTimer?.cancel();
    this.overBoundTimer = null;
  }
}
