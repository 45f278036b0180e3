// The messages of the IPC broker pair (broker-ipc.ts in a cluster worker, broker-ipc-host.ts in the
// primary). Each carries `odin: 'broker'` so it shares the worker's IPC channel with other traffic (the
// cluster's own control messages, prom-client's metric requests) without confusion.
import type { BrokerEvent, BrokerStatus, HistoryRequest, HistoryResult, PublishResult } from '../core/ports.js';

export const BROKER_TAG = 'broker';

/** A worker's end of an IPC channel, or the primary's end for one worker: just send and receive. */
export interface IpcEndpoint {
  /** false when the channel is closed (the message is dropped). */
  send(message: object): boolean;
  onMessage(listener: (message: unknown) => void): void;
  /** The other side is gone. */
  onDisconnect(listener: () => void): void;
}

export type ToHost =
  | { readonly odin: 'broker'; readonly op: 'hello' }
  | { readonly odin: 'broker'; readonly op: 'start' }
  | { readonly odin: 'broker'; readonly op: 'stop' }
  /** Events up to and including batch `seq` are applied: the host's bound on what is in flight. */
  | { readonly odin: 'broker'; readonly op: 'ack'; readonly seq: number }
  | { readonly odin: 'broker'; readonly op: 'history'; readonly id: number; readonly request: HistoryRequest }
  | { readonly odin: 'broker'; readonly op: 'publish'; readonly id: number; readonly channel: string; readonly data: string };

export type ToWorker =
  | { readonly odin: 'broker'; readonly op: 'hello'; readonly epoch: string }
  | { readonly odin: 'broker'; readonly op: 'events'; readonly seq: number; readonly events: readonly BrokerEvent[] }
  | { readonly odin: 'broker'; readonly op: 'status'; readonly status: BrokerStatus; readonly detail?: string }
  | { readonly odin: 'broker'; readonly op: 'history'; readonly id: number; readonly result: HistoryResult }
  | { readonly odin: 'broker'; readonly op: 'publish'; readonly id: number; readonly result: PublishResult };

export function isBrokerMessage(message: unknown): message is { readonly odin: 'broker'; readonly op: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { odin?: unknown }).odin === BROKER_TAG &&
    typeof (message as { op?: unknown }).op === 'string'
  );
}
