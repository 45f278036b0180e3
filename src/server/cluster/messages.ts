// The cluster's own control messages between the primary and its workers (`serve --workers N`), beside the
// IPC broker's (tag 'broker') and prom-client's metric requests on the same channel. Tag: 'cluster'.

export type ToPrimary =
  | { readonly odin: 'cluster'; readonly op: 'listening'; readonly url: string; readonly wsUrl: string; readonly connectionsMax: number }
  /** The worker's open connections (sent when the count changed, at most every LOAD_REPORT_MS). */
  | { readonly odin: 'cluster'; readonly op: 'load'; readonly open: number }
  /** The worker began to drain: the primary hands new connections to the others while any serves. */
  | { readonly odin: 'cluster'; readonly op: 'draining' }
  /** A worker's /stats and /metrics: answer with the whole cluster's. */
  | { readonly odin: 'cluster'; readonly op: 'cluster-stats'; readonly id: number }
  | { readonly odin: 'cluster'; readonly op: 'cluster-metrics'; readonly id: number }
  /** A worker's own figures, answering the primary's 'own-stats'. */
  | { readonly odin: 'cluster'; readonly op: 'own-stats'; readonly id: number; readonly stats: unknown };

export type ToWorker =
  | { readonly odin: 'cluster'; readonly op: 'cluster-stats'; readonly id: number; readonly stats?: unknown; readonly error?: string }
  | { readonly odin: 'cluster'; readonly op: 'cluster-metrics'; readonly id: number; readonly text?: string; readonly error?: string }
  | { readonly odin: 'cluster'; readonly op: 'own-stats'; readonly id: number }
  /** A client connection, sent with its socket as the message's handle (dispatch.ts). */
  | { readonly odin: 'cluster'; readonly op: 'connection' }
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

/** How often at most a worker reports its open connections to the primary. */
export const LOAD_REPORT_MS = 250;

/** Environment a worker is started with: which slot it fills and its share of the capacity (share.ts). */
export const WORKER_SHARE_ENV = 'ODIN_CLUSTER_SHARE';

/** Environment a worker is started with: the address the primary listens on and hands connections from. */
export const WORKER_BOUND_ENV = 'ODIN_CLUSTER_BOUND';
