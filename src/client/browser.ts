// The client's entry for browsers (the `browser` export condition): the same API as index.ts, wired to
// the global WebSocket, without importing the Node adapter (and so without `ws`).
import { OdinClient } from './client.js';
import { browserSocketFactory } from './socket-browser.js';
import { systemClock, systemRandom } from './system.js';
import type { ClientOptions } from './types.js';

export { OdinClient, clientDefaults } from './client.js';
export { backoffCeilingMs, backoffDelayMs } from './backoff.js';
export { browserSocketFactory } from './socket-browser.js';
export { systemClock, systemRandom } from './system.js';
export type { ClientSocket, CloseInfo, SocketFactory, SocketHandlers } from './ports.js';
export type {
  ClientCounters,
  ClientErrorCode,
  ClientOptions,
  ClientState,
  EventMeta,
  GapInfo,
  OdinError,
  ReconnectOptions,
  Subscription,
  SubscriptionHandlers,
} from './types.js';
export type { Position, RecoveryFailure } from '../core/protocol.js';

export type ConnectOptions = Omit<ClientOptions, 'url' | 'socketFactory' | 'clock' | 'random'> &
  Partial<Pick<ClientOptions, 'socketFactory' | 'clock' | 'random'>>;

/** Creates a client on the page's WebSocket and clock, and connects it. */
export function connect(url: string, options: ConnectOptions = {}): OdinClient {
  const client = new OdinClient({ socketFactory: browserSocketFactory(), clock: systemClock, random: systemRandom, ...options, url });
  client.connect();
  return client;
}
