// What the gateway counts, and the two ways it is read: the telemetry report every housekeeping tick
// (docs/operations.md, "Metrics") and the /stats snapshot (docs/server.md, "HTTP endpoints"). The
// components only bump counters; nothing here decides anything.
import type { Capacity } from './admission.js';
import type { History } from './history.js';
import { M } from './metrics.js';
import type { QueueTotals } from './outbound-queue.js';
import type { BrokerStatus, Telemetry } from './ports.js';

/** Running totals since start, shared by every component (each bumps its own). */
export interface Counters {
  published: number;
  delivered: number;
  bytesOut: number;
  gaps: number;
  slowDisconnects: number;
  /** Bytes queued over all sessions, kept up to date by every session's queue (a gauge without a sweep). */
  readonly queue: QueueTotals;
  /** Sessions at each throttle level 0..3. */
  readonly throttled: number[];
}

export function newCounters(): Counters {
  return { published: 0, delivered: 0, bytesOut: 0, gaps: 0, slowDisconnects: 0, queue: { bytes: 0 }, throttled: [0, 0, 0, 0] };
}

/** Reports counters as telemetry: counters as increments since the last report, the rest as gauges. */
export class TelemetryReport {
  private reported = { published: 0, delivered: 0 };

  constructor(
    private readonly telemetry: Telemetry,
    private readonly counters: Counters,
  ) {}

  report(subscriptions: number, historyChannels: number): void {
    const t = this.telemetry;
    const c = this.counters;
    t.count(M.eventsPublished, undefined, c.published - this.reported.published);
    t.count(M.eventsDelivered, undefined, c.delivered - this.reported.delivered);
    this.reported = { published: c.published, delivered: c.delivered };
    t.gauge(M.subscriptions, subscriptions);
    t.gauge(M.queueBytes, c.queue.bytes);
    for (let level = 1; level < c.throttled.length; level++) t.gauge(M.throttledSessions, c.throttled[level]!, { level });
    t.gauge(M.channels, historyChannels);
  }
}

export interface GatewayStats {
  readonly ready: boolean;
  readonly draining: boolean;
  readonly broker: { readonly status: BrokerStatus; readonly epoch: string; readonly streamOffset: number };
  readonly connections: {
    readonly current: number;
    readonly held: number;
    readonly capacity: number;
    readonly boundBy: string;
    readonly terms: { readonly config: number; readonly memory: number | null; readonly descriptors: number | null };
    readonly free: number;
    readonly users: number;
    readonly topUsers: readonly { readonly userId: string; readonly connections: number }[];
  };
  readonly subscriptions: number;
  readonly historyChannels: number;
  /** Bytes the rings hold, per-record costs included, and their bound (history.totalBytesMax). */
  readonly historyBytes: number;
  readonly historyBytesMax: number;
  readonly events: { readonly published: number; readonly delivered: number; readonly bytesOut: number; readonly gaps: number };
  readonly slowDisconnects: number;
  readonly outboundQueueBytes: number;
  readonly throttledSessions: { readonly level1: number; readonly level2: number; readonly level3: number };
  readonly overloaded: boolean;
}

/** What stats() reads, gathered by the Gateway from its components. */
export interface StatsSources {
  readonly ready: boolean;
  readonly admission: {
    readonly draining: boolean;
    readonly overloaded: boolean;
    readonly held: number;
    readonly capacity: Capacity;
    readonly userCount: number;
    usersTop(limit: number): { userId: string; connections: number }[];
  };
  readonly broker: { readonly status: BrokerStatus; readonly epoch: string };
  readonly history: Pick<History, 'streamOffset' | 'channelCount' | 'bytes'>;
  readonly historyBytesMax: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly counters: Counters;
}

/** Users listed by connection count in /stats. */
const TOP_USERS = 10;

export function statsOf(s: StatsSources): GatewayStats {
  const { admission, counters: c } = s;
  const capacity = admission.capacity;
  return {
    ready: s.ready,
    draining: admission.draining,
    broker: { status: s.broker.status, epoch: s.broker.epoch, streamOffset: s.history.streamOffset },
    connections: {
      current: s.sessions,
      held: admission.held,
      capacity: capacity.connectionsMax,
      boundBy: capacity.boundBy,
      terms: capacity.terms,
      free: Math.max(0, capacity.connectionsMax - admission.held),
      users: admission.userCount,
      topUsers: admission.usersTop(TOP_USERS),
    },
    subscriptions: s.subscriptions,
    historyChannels: s.history.channelCount,
    historyBytes: s.history.bytes,
    historyBytesMax: s.historyBytesMax,
    events: { published: c.published, delivered: c.delivered, bytesOut: c.bytesOut, gaps: c.gaps },
    slowDisconnects: c.slowDisconnects,
    outboundQueueBytes: c.queue.bytes,
    throttledSessions: { level1: c.throttled[1]!, level2: c.throttled[2]!, level3: c.throttled[3]! },
    overloaded: admission.overloaded,
  };
}
