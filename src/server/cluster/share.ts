// Capacity over several processes (docs/operations.md, "Several cores"). The machine's memory budget is one
// for all: the primary takes its own footprint and, with the embedded broker, the broker's byte bound;
// the workers share the rest equally, each admitting connections from its share after its own baseline
// and its own history rings. Descriptors are per process (RLIMIT_NOFILE), so each worker's descriptor
// term is its own. The configured connection ceiling is the cluster's: split over the workers, the
// remainder to the first ones, so the workers together admit exactly what was configured.
import { retainedBytesDefault } from '../../core/memory-budget.js';
import type { Config } from '../config.js';
import type { DetectedResources } from '../resources.js';
import { memoryPlanOf, type MemoryPlan } from '../server.js';

export interface WorkerShare {
  readonly slot: number;
  readonly workers: number;
  /** This worker's memory budget; null when no limit is known (the memory term drops out). */
  readonly memoryBudgetBytes: number | null;
  readonly connectionsMax: number;
}

export interface ClusterPlan {
  /** The embedded broker's byte bound in the primary (0 with NATS). */
  readonly brokerBytesMax: number;
  readonly shares: readonly WorkerShare[];
}

export function clusterPlan(config: Config, detected: DetectedResources, primaryRssBytes: number): ClusterPlan {
  const workers = config.server.workers;
  const whole = memoryPlanOf(config, detected);
  const budgetEach = whole.budgetBytes === null ? null : Math.max(0, Math.floor((whole.budgetBytes - primaryRssBytes - whole.brokerBytesMax) / workers));
  const base = Math.floor(config.admission.connectionsMax / workers);
  const extra = config.admission.connectionsMax % workers;
  const shares = Array.from({ length: workers }, (_, slot) => ({
    slot,
    workers,
    memoryBudgetBytes: budgetEach,
    connectionsMax: base + (slot < extra ? 1 : 0),
  }));
  return { brokerBytesMax: whole.brokerBytesMax, shares };
}

/** A worker's memory plan: its budget, its own rings' bound, no broker (the broker is the primary's). */
export function workerMemoryPlan(config: Config, share: WorkerShare): MemoryPlan {
  return {
    budgetBytes: share.memoryBudgetBytes,
    historyBytesMax: config.history.totalBytesMax ?? retainedBytesDefault(share.memoryBudgetBytes),
    brokerBytesMax: 0,
  };
}

/** The worker's configuration: the cluster's, with its share of the connection ceiling. */
export function workerConfig(config: Config, share: WorkerShare): Config {
  return { ...config, admission: { ...config.admission, connectionsMax: share.connectionsMax } };
}

export function parseShare(text: string | undefined): WorkerShare | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as WorkerShare;
    if (
      Number.isInteger(v.slot) &&
      Number.isInteger(v.workers) &&
      Number.isInteger(v.connectionsMax) &&
      (v.memoryBudgetBytes === null || Number.isFinite(v.memoryBudgetBytes))
    )
      return v;
  } catch {
    // not ours: treated as absent
  }
  return null;
}
