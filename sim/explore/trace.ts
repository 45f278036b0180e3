// The TRACE an explorer run leaves (world.ts records it, checks.ts judges it): virtual-time facts only,
// so one seed gives one trace (I10), compared at a glance by its hash.
import type { BugName } from './bugs.js';
import type { Fault } from './schedule.js';

/** What the app saw, in order. e: event; g: onGap; r: onReset; s: the wire's subscribed position. */
export type Seen =
  | readonly ['e', string, number, number, number] // channel, offset, generation, publish number
  | readonly ['g', string, number, number, string] // channel, from, to, reason
  | readonly ['r', string, string] // reason, the name onReset gave (a reset of an overlapping name counts too)
  | readonly ['s', number, number, boolean, string]; // generation, offset, recovered, name in the reply

export interface SubTrace {
  readonly name: string;
  readonly seen: Seen[];
}

export interface RobotTrace {
  readonly index: number;
  readonly subs: SubTrace[];
  state: string;
}

/** One acknowledged publish. */
export interface Ack {
  readonly k: number;
  readonly generation: number;
  readonly channel: string;
  readonly offset: number;
  readonly atMs: number;
}

export interface Trace {
  readonly seed: string;
  readonly bug: BugName | null;
  readonly faults: readonly Fault[];
  readonly acks: Ack[];
  readonly robots: RobotTrace[];
  /** Acknowledged head per generation at the end. */
  readonly heads: number[];
  readonly healedByMs: number;
  readonly endMs: number;
  events: number;
  /** I5: event frames that differed from the first frame any robot got for the same publish. */
  readonly frameMismatches: { readonly robot: number; readonly channel: string; readonly offset: number; readonly generation: number }[];
}

/** cyrb53: a 53-bit hash of the trace's JSON, printed so two runs can be compared at a glance (I10). */
export function traceHash(trace: Trace): string {
  const text = JSON.stringify({ acks: trace.acks, robots: trace.robots, faults: trace.faults });
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
