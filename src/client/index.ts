// The client's public API for Node (and any runtime): everything the browser entry has, plus the `ws`
// socket adapter, which sees the HTTP status and Retry-After of a refused upgrade. The simulator and tests
// construct OdinClient with their own socket factory, clock and random.
import { OdinClient } from './client.js';
import type { ConnectOptions } from './browser.js';
import { browserSocketFactory } from './socket-browser.js';
import { nodeSocketFactory } from './socket-node.js';
import { systemClock, systemRandom } from './system.js';

export * from './browser.js';
export { nodeSocketFactory, type NodeSocketOptions } from './socket-node.js';

/** Creates a client on the real clock and connects it: in Node over ws, elsewhere the global WebSocket. */
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
