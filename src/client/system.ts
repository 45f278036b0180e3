// The real Clock and Random for the client, in Node and in browsers. (src/adapters/clock-system.ts is the
// gateway's: it uses Node-only timer features.) Client timers are not unref'd: a Node process whose only
// work is a client waiting to reconnect should stay alive for it.
import type { Clock, Random, Timer } from '../core/ports.js';

// setImmediate runs after pending I/O, like the end of a turn; browsers lack it, and a microtask is the
// closest there (it still runs after the current callback returns).
const runSoon: (fn: () => void) => void = typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => queueMicrotask(fn);

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(delayMs: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
  defer: runSoon,
};

export const systemRandom: Random = { next: () => Math.random() };
