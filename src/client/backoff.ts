// Reconnect delays: exponential backoff with full jitter. Full jitter (a uniform draw over the whole window,
// not a small wobble around it) is what spreads a crowd of clients dropped at the same instant — a gateway
// restart drops all of them at once — so they do not all come back in the same millisecond.
import type { Random } from '../core/ports.js';

export interface BackoffWindow {
  readonly baseMs: number;
  readonly capMs: number;
}

/** The window a delay is drawn from before any server hint: [0, min(capMs, baseMs * 2^attempt)). */
export function backoffCeilingMs(attempt: number, window: BackoffWindow): number {
  return Math.min(window.capMs, window.baseMs * 2 ** attempt);
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first). A server hint (Retry-After, or
 * `retry-after-ms=` in a close reason) is a floor, and the jitter goes on top of it: clients the server
 * told to come back after 5 s must not all return at exactly 5 s.
 */
export function backoffDelayMs(attempt: number, window: BackoffWindow, random: Random, hintMs: number | null): number {
  return (hintMs ?? 0) + random.next() * backoffCeilingMs(attempt, window);
}
