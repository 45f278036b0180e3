// The client's public API. `connect()` wires the real adapters; the simulator and tests construct
// OdinClient with their own socket factory, clock and random.
import { OdinClient } from './client.js';
import { browserSocketFactory } from './socket-browser.js';
import { nodeSocketFactory } from './socket-node.js';
import { systemClock, systemRandom } from './system.js';
import type { ClientOptions } from './types.js';

export { OdinClient, clientDefaults } from './client.js';
export { backoffCeilingMs, backoffDelayMs } from './backoff.js';
export { browserSocketFactory } from './socket-browser.js';
export { nodeSocketFactory } from './socket-node.js';
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

/**
 * Creates a client on the real clock and connects it. In Node the socket is ws (which sees Retry-After on
 * a refused upgrade), elsewhere the global WebSocket.
 */
export function connect(url: string, options: ConnectOptions = {}): OdinClient {
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  const client = new OdinClient({
    socketFactory: isNode ? nodeSocketFactory() : browserSocketFactory(),
    clock: systemClock,
    random: systemRandom,
    ...options,
    url,
  });
  client.connect();
  return client;
}
