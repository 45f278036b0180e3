// A fault schedule is data: a list of timed faults, each healed by a bound. It is generated from one seed
// (a fork of the run's root stream, so the world's own randomness never shifts it), printed as JSON one
// fault per line, and can be handed back to a run (`--replay SEED --schedule file.json`) — which is what
// the minimiser does with shorter lists.
//
// Faults are rules on the world's verbs (turmoil-style): a link's spec changes and is restored, the broker
// cuts the gateway's consumer off or restarts, the gateway process is killed and started again, a robot's
// socket stops reading. Each kind names what it does in world.ts (applyFault).
import { Prng } from '../engine/prng.js';

export type FaultKind =
  /** The gateway↔users link gets `params.latencyMs` extra one-way latency. */
  | 'latency-spike'
  /** The gateway↔users link loses `params.lossRate` of packets (TCP: each loss costs one RTO). */
  | 'loss-burst'
  /** The gateway's broker consumer is cut off: status down, publishes fail, resume from its sequence. */
  | 'partition-broker'
  /** Packets between the gateway and the users' host are held until the partition heals. */
  | 'partition-clients'
  /** The broker restarts keeping its stream (same epoch): like an outage, history kept. */
  | 'broker-restart'
  /** The broker comes back with a new, empty stream (new epoch): clients must get recovered:false. */
  | 'broker-restart-new-epoch'
  /** The gateway process is killed; a new one starts after `durationMs`; clients resume from history. */
  | 'gateway-restart'
  /** Robot `target` reads in short bursts: its socket is paused most of the time. */
  | 'slow-reader'
  /** Robot `target` stops reading entirely for `durationMs`. */
  | 'stalled-reader'
  /** `params.count` robots drop their connection at once and reconnect together. */
  | 'reconnect-storm';

export const FAULT_KINDS: readonly FaultKind[] = [
  'latency-spike',
  'loss-burst',
  'partition-broker',
  'partition-clients',
  'broker-restart',
  'broker-restart-new-epoch',
  'gateway-restart',
  'slow-reader',
  'stalled-reader',
  'reconnect-storm',
];

export interface Fault {
  readonly atMs: number;
  readonly kind: FaultKind;
  /** Robot index for reader faults, gateway instance for instance faults; −1: all instances / no target. */
  readonly target: number;
  readonly durationMs: number;
  readonly params: Readonly<Record<string, number>>;
}

export interface ScheduleLimits {
  readonly robots: number;
  /** Gateway instances (targets of partition-broker, partition-clients, gateway-restart; −1 = all). */
  readonly instances: number;
  /** Faults start in [startMs, startMs + windowMs) … */
  readonly startMs: number;
  readonly windowMs: number;
  /** … and each lasts at most this long, so every fault has healed by startMs + windowMs + durationMsMax. */
  readonly durationMsMax: number;
  readonly faultsMax: number;
  /** Kinds the generator may draw from (e.g. leave out a kind known to fail, to look for others). */
  readonly kinds: readonly FaultKind[];
}

export const defaultScheduleLimits: ScheduleLimits = {
  robots: 20,
  instances: 2,
  startMs: 3_000,
  windowMs: 25_000,
  durationMsMax: 12_000,
  faultsMax: 6,
  kinds: FAULT_KINDS,
};

function draw(rng: Prng, kind: FaultKind, limits: ScheduleLimits): Fault {
  const atMs = limits.startMs + rng.int(0, limits.windowMs - 1);
  const durationMs = rng.int(500, limits.durationMsMax);
  const robot = (): number => rng.int(0, limits.robots - 1);
  switch (kind) {
    case 'latency-spike':
      return { atMs, kind, target: -1, durationMs, params: { latencyMs: rng.int(50, 2_000) } };
    case 'loss-burst':
      return { atMs, kind, target: -1, durationMs, params: { lossRate: Math.round(rng.uniform(0.05, 0.5) * 100) / 100 } };
    case 'slow-reader':
      return { atMs, kind, target: robot(), durationMs, params: { readEveryMs: rng.int(1_000, 4_000) } };
    case 'stalled-reader':
      return { atMs, kind, target: robot(), durationMs, params: {} };
    case 'partition-broker':
    case 'partition-clients':
    case 'gateway-restart':
      // One gateway instance, or (−1) all of them.
      return { atMs, kind, target: rng.int(-1, limits.instances - 1), durationMs, params: {} };
    case 'reconnect-storm':
      return { atMs, kind, target: -1, durationMs: 0, params: { count: rng.int(2, limits.robots) } };
    default:
      return { atMs, kind, target: -1, durationMs, params: {} };
  }
}

/** The schedule a seed stands for: 1..faultsMax faults, sorted by start time (ties keep draw order). */
export function generateSchedule(seed: string, limits: ScheduleLimits = defaultScheduleLimits): Fault[] {
  if (limits.kinds.length === 0) return [];
  const rng = new Prng(seed).fork('explore:schedule');
  const n = rng.int(1, limits.faultsMax);
  const faults: Fault[] = [];
  for (let i = 0; i < n; i++) faults.push(draw(rng, rng.pick(limits.kinds), limits));
  return faults
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.atMs - b.f.atMs || a.i - b.i)
    .map((x) => x.f);
}

/** When the last fault has healed (0 for an empty schedule). */
export function healedByMs(faults: readonly Fault[]): number {
  let t = 0;
  for (const f of faults) t = Math.max(t, f.atMs + f.durationMs);
  return t;
}

/** One fault per line, so a failing schedule reads (and diffs) line by line. */
export function formatSchedule(faults: readonly Fault[]): string {
  return `[\n${faults.map((f) => `  ${JSON.stringify(f)}`).join(',\n')}\n]`;
}

/** Parses what formatSchedule printed (or any JSON list of faults), checking each field. */
export function parseSchedule(text: string): Fault[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) throw new Error('a schedule is a JSON list of faults');
  return raw.map((x: unknown, i) => {
    const f = x as Partial<Fault>;
    const ok =
      typeof f === 'object' &&
      f !== null &&
      typeof f.atMs === 'number' &&
      f.atMs >= 0 &&
      typeof f.durationMs === 'number' &&
      f.durationMs >= 0 &&
      typeof f.target === 'number' &&
      typeof f.kind === 'string' &&
      (FAULT_KINDS as readonly string[]).includes(f.kind) &&
      typeof f.params === 'object' &&
      f.params !== null;
    if (!ok) throw new Error(`fault ${i} is not {atMs, kind, target, durationMs, params}: ${JSON.stringify(x)}`);
    return f as Fault;
  });
}
