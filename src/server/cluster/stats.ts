// /stats over a cluster: the workers' own figures added up in the single-process shape (so dashboards and
// scripts that read /stats keep working), plus a `cluster` section with each worker's main figures.
// Most figures add up. A few are the same stream seen by every worker and would count it N times if
// added: events.published (each worker reads every event) and historyChannels take the maximum; the
// broker position is the furthest any worker has read.
import type { GatewayStats } from '../../core/gateway.js';

export interface WorkerFigures {
  readonly slot: number;
  readonly pid: number;
  readonly stats: GatewayStats;
}

export interface ClusterSection {
  readonly workers: number;
  /** Workers that answered, with their main figures. */
  readonly perWorker: ReadonlyArray<{
    readonly slot: number;
    readonly pid: number;
    readonly ready: boolean;
    readonly connections: number;
    readonly capacity: number;
    readonly boundBy: string;
    readonly delivered: number;
  }>;
  /** Slots whose worker did not answer in time (starting, stuck, or being replaced). */
  readonly missing: readonly number[];
  readonly restarts: number;
}

export type ClusterStats = GatewayStats & { readonly cluster: ClusterSection };

const sum = (list: readonly WorkerFigures[], pick: (s: GatewayStats) => number): number => list.reduce((total, w) => total + pick(w.stats), 0);
const max = (list: readonly WorkerFigures[], pick: (s: GatewayStats) => number): number => list.reduce((m, w) => Math.max(m, pick(w.stats)), 0);
const sumOrNull = (list: readonly WorkerFigures[], pick: (s: GatewayStats) => number | null): number | null =>
  list.some((w) => pick(w.stats) === null) ? null : list.reduce((total, w) => total + pick(w.stats)!, 0);

/** Users by connections over all workers (a user on two workers counts there twice: the caps are per worker). */
function topUsers(list: readonly WorkerFigures[], limit: number): { userId: string; connections: number }[] {
  const byUser = new Map<string, number>();
  for (const w of list) for (const u of w.stats.connections.topUsers) byUser.set(u.userId, (byUser.get(u.userId) ?? 0) + u.connections);
  return [...byUser.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([userId, connections]) => ({ userId, connections }));
}

export function aggregateStats(answered: readonly WorkerFigures[], workers: number, missing: readonly number[], restarts: number): ClusterStats {
  const list = [...answered].sort((a, b) => a.slot - b.slot);
  const first = list[0]?.stats;
  const bounds = [...new Set(list.map((w) => w.stats.connections.boundBy))];
  const brokerDown = list.find((w) => w.stats.broker.status !== 'live');
  return {
    ready: list.length > 0 && missing.length === 0 && list.every((w) => w.stats.ready),
    draining: list.some((w) => w.stats.draining),
    broker: {
      status: brokerDown?.stats.broker.status ?? first?.broker.status ?? 'down',
      epoch: first?.broker.epoch ?? '',
      streamOffset: max(list, (s) => s.broker.streamOffset),
    },
    connections: {
      current: sum(list, (s) => s.connections.current),
      held: sum(list, (s) => s.connections.held),
      capacity: sum(list, (s) => s.connections.capacity),
      boundBy: bounds.length === 1 ? bounds[0]! : bounds.join('+'),
      terms: {
        config: sum(list, (s) => s.connections.terms.config),
        memory: sumOrNull(list, (s) => s.connections.terms.memory),
        descriptors: sumOrNull(list, (s) => s.connections.terms.descriptors),
      },
      free: sum(list, (s) => s.connections.free),
      users: sum(list, (s) => s.connections.users),
      topUsers: topUsers(list, 10),
    },
    subscriptions: sum(list, (s) => s.subscriptions),
    historyChannels: max(list, (s) => s.historyChannels),
    historyBytes: sum(list, (s) => s.historyBytes),
    historyBytesMax: sum(list, (s) => s.historyBytesMax),
    events: {
      published: max(list, (s) => s.events.published),
      delivered: sum(list, (s) => s.events.delivered),
      bytesOut: sum(list, (s) => s.events.bytesOut),
      gaps: sum(list, (s) => s.events.gaps),
    },
    slowDisconnects: sum(list, (s) => s.slowDisconnects),
    outboundQueueBytes: sum(list, (s) => s.outboundQueueBytes),
    throttledSessions: {
      level1: sum(list, (s) => s.throttledSessions.level1),
      level2: sum(list, (s) => s.throttledSessions.level2),
      level3: sum(list, (s) => s.throttledSessions.level3),
    },
    overloaded: list.some((w) => w.stats.overloaded),
    cluster: {
      workers,
      perWorker: list.map((w) => ({
        slot: w.slot,
        pid: w.pid,
        ready: w.stats.ready,
        connections: w.stats.connections.current,
        capacity: w.stats.connections.capacity,
        boundBy: w.stats.connections.boundBy,
        delivered: w.stats.events.delivered,
      })),
      missing: [...missing].sort((a, b) => a - b),
      restarts,
    },
  };
}
