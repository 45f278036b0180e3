// The pure parts of `serve --workers N`: how capacity is shared between processes, and how /stats adds the
// workers' figures up without counting the one stream N times.
import { describe, expect, it } from 'vitest';
import type { GatewayStats } from '../../src/core/gateway.js';
import { loadConfig } from '../../src/server/config.js';
import { clusterPlan, parseShare, workerConfig, workerMemoryPlan } from '../../src/server/cluster/share.js';
import { aggregateStats } from '../../src/server/cluster/stats.js';

const MiB = 1024 * 1024;
const configWith = (settings: Record<string, string>) =>
  loadConfig({ flags: Object.entries(settings).map(([path, raw]) => ({ path, raw, flag: `--set ${path}` })) }).config;
const detected = (memoryBytes: number | null) => ({ memory: { bytes: memoryBytes, source: 'test' }, fd: { soft: 20_000, hard: 20_000, source: 'test' } });

describe('cluster capacity shares', () => {
  it('gives each worker an equal part of the budget left after the primary and its broker', () => {
    const config = configWith({ 'server.workers': '3', 'resources.memoryBytes': String(1024 * MiB), 'broker.bytesMax': String(40 * MiB) });
    const plan = clusterPlan(config, detected(null), 60 * MiB);
    const budget = Math.floor(1024 * MiB * 0.8);
    expect(plan.brokerBytesMax).toBe(40 * MiB);
    expect(plan.shares).toHaveLength(3);
    for (const share of plan.shares) expect(share.memoryBudgetBytes).toBe(Math.floor((budget - 60 * MiB - 40 * MiB) / 3));
    // The workers' budgets and the primary's part add up to no more than the whole budget.
    expect(plan.shares.reduce((sum, s) => sum + s.memoryBudgetBytes!, 0) + 60 * MiB + 40 * MiB).toBeLessThanOrEqual(budget);
  });

  it('splits the configured connection ceiling exactly, remainder to the first workers', () => {
    const config = configWith({ 'server.workers': '3', 'admission.connectionsMax': '10' });
    const shares = clusterPlan(config, detected(null), 0).shares;
    expect(shares.map((s) => s.connectionsMax)).toEqual([4, 3, 3]);
    expect(workerConfig(config, shares[1]!).admission.connectionsMax).toBe(3);
  });

  it('keeps no broker memory in a worker and sizes its rings from its own share', () => {
    const config = configWith({ 'server.workers': '2', 'resources.memoryBytes': String(2048 * MiB) });
    const share = clusterPlan(config, detected(null), 50 * MiB).shares[0]!;
    const plan = workerMemoryPlan(config, share);
    expect(plan.brokerBytesMax).toBe(0);
    expect(plan.budgetBytes).toBe(share.memoryBudgetBytes);
    expect(plan.historyBytesMax).toBe(Math.min(256 * MiB, Math.max(4 * MiB, Math.floor(share.memoryBudgetBytes! / 16))));
  });

  it('has no memory term without a known limit, and with NATS no broker in the primary', () => {
    const plan = clusterPlan(configWith({ 'server.workers': '2', 'nats.servers': 'nats://127.0.0.1:4222' }), detected(null), 50 * MiB);
    expect(plan.brokerBytesMax).toBe(0);
    expect(plan.shares.every((s) => s.memoryBudgetBytes === null)).toBe(true);
  });

  it('reads a share from the environment, and nothing else', () => {
    expect(parseShare(JSON.stringify({ slot: 1, workers: 2, memoryBudgetBytes: null, connectionsMax: 5 }))).toEqual({
      slot: 1,
      workers: 2,
      memoryBudgetBytes: null,
      connectionsMax: 5,
    });
    expect(parseShare(undefined)).toBeNull();
    expect(parseShare('{"slot":"x"}')).toBeNull();
    expect(parseShare('not json')).toBeNull();
  });
});

function stats(over: {
  current: number;
  capacity: number;
  published: number;
  delivered: number;
  boundBy?: string;
  memory?: number | null;
  streamOffset?: number;
  users?: Array<[string, number]>;
  ready?: boolean;
}): GatewayStats {
  return {
    ready: over.ready ?? true,
    draining: false,
    broker: { status: 'live', epoch: 'E', streamOffset: over.streamOffset ?? over.published },
    connections: {
      current: over.current,
      held: over.current,
      capacity: over.capacity,
      boundBy: over.boundBy ?? 'descriptors',
      terms: { config: 50_000, memory: over.memory === undefined ? null : over.memory, descriptors: over.capacity },
      free: over.capacity - over.current,
      users: over.users?.length ?? 0,
      topUsers: (over.users ?? []).map(([userId, connections]) => ({ userId, connections })),
    },
    subscriptions: over.current,
    historyChannels: 3,
    historyBytes: 100,
    historyBytesMax: 1_000,
    events: { published: over.published, delivered: over.delivered, bytesOut: over.delivered * 10, gaps: 0 },
    slowDisconnects: 0,
    outboundQueueBytes: 0,
    throttledSessions: { level1: 0, level2: 0, level3: 0 },
    overloaded: false,
  };
}

describe('cluster /stats', () => {
  it('adds connections and deliveries, and counts the shared stream once', () => {
    const s = aggregateStats(
      [
        {
          slot: 1,
          pid: 11,
          stats: stats({
            current: 3,
            capacity: 100,
            published: 7,
            delivered: 21,
            users: [
              ['ann', 2],
              ['bob', 1],
            ],
          }),
        },
        { slot: 0, pid: 10, stats: stats({ current: 2, capacity: 90, published: 7, delivered: 14, streamOffset: 6, users: [['ann', 1]] }) },
      ],
      2,
      [],
      1,
    );
    expect(s.connections).toMatchObject({
      current: 5,
      capacity: 190,
      free: 185,
      boundBy: 'descriptors',
      terms: { config: 100_000, memory: null, descriptors: 190 },
    });
    expect(s.connections.topUsers).toEqual([
      { userId: 'ann', connections: 3 },
      { userId: 'bob', connections: 1 },
    ]);
    expect(s.events).toEqual({ published: 7, delivered: 35, bytesOut: 350, gaps: 0 });
    expect(s.historyChannels).toBe(3);
    expect(s.historyBytes).toBe(200);
    expect(s.broker.streamOffset).toBe(7);
    expect(s.ready).toBe(true);
    expect(s.cluster).toEqual({
      workers: 2,
      perWorker: [
        { slot: 0, pid: 10, ready: true, connections: 2, capacity: 90, boundBy: 'descriptors', delivered: 14 },
        { slot: 1, pid: 11, ready: true, connections: 3, capacity: 100, boundBy: 'descriptors', delivered: 21 },
      ],
      missing: [],
      restarts: 1,
    });
  });

  it('is not ready while a worker is missing or not ready, and names mixed bounds', () => {
    const one = { slot: 0, pid: 10, stats: stats({ current: 0, capacity: 10, published: 0, delivered: 0, boundBy: 'memory', memory: 10 }) };
    expect(aggregateStats([one], 2, [1], 0)).toMatchObject({ ready: false, cluster: { missing: [1] } });
    const other = { slot: 1, pid: 11, stats: stats({ current: 0, capacity: 20, published: 0, delivered: 0, ready: false }) };
    const s = aggregateStats([one, other], 2, [], 0);
    expect(s.ready).toBe(false);
    expect(s.connections.boundBy).toBe('memory+descriptors');
    // One worker without a memory term: the cluster has none either.
    expect(s.connections.terms.memory).toBeNull();
  });
});
