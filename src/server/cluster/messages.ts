// The cluster's own control messages between the primary and its workers (`serve --workers N`), beside the
// IPC broker's (tag 'broker') and prom-client's metric requests on the same channel. Tag: 'cluster'.

export type ToPrimary =
  | { readonly odin: 'cluster'; readonly op: 'listening'; readonly url: string; readonly wsUrl: string }
  /** A worker's /stats and /metrics: answer with the whole cluster's. */
  | { readonly odin: 'cluster'; readonly op: 'cluster-stats'; readonly id: number }
  | { readonly odin: 'cluster'; readonly op: 'cluster-metrics'; readonly id: number }
  /** A worker's own figures, answering the primary's 'own-stats'. */
  | { readonly odin: 'cluster'; readonly op: 'own-stats'; readonly id: number; readonly stats: unknown };

export type ToWorker =
  | { readonly odin: 'cluster'; readonly op: 'cluster-stats'; readonly id: number; readonly stats?: unknown; readonly error?: string }
  | { readonly odin: 'cluster'; readonly op: 'cluster-metrics'; readonly id: number; readonly text?: string; readonly error?: string }
  | { readonly odin: 'cluster'; readonly op: 'own-stats'; readonly id: number }
  /** Drain and exit (the primary is shutting down). */
  | { readonly odin: 'cluster'; readonly op: 'shutdown' };

export function isClusterMessage(message: unknown): message is { readonly odin: 'cluster'; readonly op: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { odin?: unknown }).odin === 'cluster' &&
    typeof (message as { op?: unknown }).op === 'string'
  );
}

/** Environment a worker is started with: which slot it fills and its share of the capacity (share.ts). */
export const WORKER_SHARE_ENV = 'ODIN_CLUSTER_SHARE';
