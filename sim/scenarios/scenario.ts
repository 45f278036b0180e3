// What a scenario is: named inputs (flat, overridable with --set), named fixes (input overrides), and a
// run function that builds a world from the inputs and seed and returns a result. Results hold only
// virtual-time quantities, so the same inputs and seed give the same bytes (I10).

import type { ZodType } from 'zod';
import type { Timeline } from '../report/timeline.js';
import { MECHANISM_INPUTS } from './inputs/mechanisms.js';

export type InputValue = number | string | boolean;
export type Inputs = Readonly<Record<string, InputValue>>;

export type GatewayKind = 'story' | 'ours';

export interface LimitHit {
  /** The input key whose value set the limit (what a fix changes), or null when no input sets it. */
  readonly key: string | null;
  /** What ran out, in words, starting with the key, e.g. "robots.nofile — connect() → EMFILE". */
  readonly limit: string;
  readonly firstAtMs: number;
  readonly count: number;
}

/** Counts by contract failure kind (ECONNRESET, ETIMEDOUT, EMFILE, HTTP_503, …). */
export interface Tally {
  readonly total: number;
  /** Attempts that opened a connection / users connected at the end. */
  readonly ok: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** Attempts started in one window of time (a story that reports failures per window, by start time). */
export interface WindowTally {
  /** Window start and end in seconds (end null: to the end of the run). */
  readonly fromS: number;
  readonly toS: number | null;
  readonly started: number;
  readonly failed: number;
}

/** A failure share the story reported for the attempts started in one window. */
export interface ReportedWindow {
  readonly fromS: number;
  readonly toS: number;
  readonly failedPct: number;
}

/**
 * What the story reported and how it explained it (docs/lab.md, "The field stories"). The report's
 * verdict checks the explanation against the run: did the symptom come out, and does changing the
 * blamed input remove it. Our own stories (no field report) state what must hold instead.
 */
export interface StoryClaim {
  /** What the team saw, in words. */
  readonly reported: string;
  /** Contract failure kinds the users read (empty: the report is a connection count, not an error). */
  readonly symptomKinds: readonly string[];
  /** Peak connected when the symptom appeared, [lo, hi], where the story gives it. */
  readonly atConnections?: readonly [number, number];
  /** The story's own explanation, in words, and the input keys it blames. */
  readonly explanation: string;
  readonly blamed: readonly string[];
  /**
   * Mechanisms that would produce the symptom (each switched on by inputs the lab has), run as candidate
   * variants when the symptom does not come out as given, and ranked by how well they match it.
   */
  readonly candidates?: Readonly<Record<string, Inputs>>;
  /**
   * Failure shares the story reported per window of start time. A window where the story saw failures and
   * the as-given run fails none of the attempts started in it is left unexplained by the story's own
   * explanation: the candidates run for it too, ranked by how close they come to the reported shares there.
   */
  readonly windows?: readonly ReportedWindow[];
  /** Our own story: `reported` states what must hold, there is no field report to check. */
  readonly own?: boolean;
}

export interface RunResult {
  readonly scenario: string;
  readonly gateway: GatewayKind;
  readonly variant: string;
  readonly seed: string;
  readonly inputs: Inputs;
  /** Client outcomes by kind and phase, e.g. "ok", "ECONNRESET@open", "EMFILE@connecting". */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Limits that bound, earliest first. */
  readonly limits: readonly LimitHit[];
  readonly metrics: Readonly<Record<string, number>>;
  /** Sentences derived from the numbers above (what bound first, and why). */
  readonly diagnosis: readonly string[];
  /** Connection attempts (first tries and retries) and how they failed — counted by the runner's recorder. */
  readonly attempts: Tally;
  /** Each user's final outcome, where the scenario tracks users; null where it counts attempts only. */
  readonly users: Tally | null;
  /** Most connections open at once, as the clients saw them. */
  readonly peakConnected: number;
  readonly events: number;
  readonly virtualMs: number;
  /** Connected / attempts / failures by kind over virtual time (sim/report/timeline.ts), where recorded. */
  readonly timeline?: Timeline;
  /** Attempts by window of start time, where the scenario reports them so (StoryClaim.windows). */
  readonly windows?: readonly WindowTally[];
}

export interface Scenario {
  readonly name: string;
  /** One line: which story (docs/lab.md, "The field stories") this tells. */
  readonly story: string;
  readonly defaults: Inputs;
  /** The inputs' one declaration: type, rule and meaning per key (sim/scenarios/define.ts). */
  readonly schema: ZodType;
  readonly claim: StoryClaim;
  /** Fixes to compare, each a set of input overrides. */
  readonly variants: Readonly<Record<string, Inputs>>;
  readonly gateways: readonly GatewayKind[];
  /** Variants that apply to "ours" when all are asked for (the story's fixes mostly do not). */
  readonly oursVariants?: readonly string[];
  run(inputs: Inputs, seed: string, gateway: GatewayKind, variant: string): RunResult;
}

/** Applies `key=value` overrides, keeping each input's type; unknown keys are an error (typos). */
export function applySets(defaults: Inputs, sets: readonly string[]): Inputs {
  const out: Record<string, InputValue> = { ...defaults };
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got ${JSON.stringify(kv)}`);
    const key = kv.slice(0, eq);
    const raw = kv.slice(eq + 1);
    // A mechanism input (inputs/mechanisms.ts) has no default in the story: its type comes from there.
    const cur = defaults[key] ?? MECHANISM_INPUTS[key];
    if (cur === undefined) throw new Error(`unknown input ${JSON.stringify(key)}; see --inputs`);
    if (typeof cur === 'number') {
      const v = Number(raw.replace(/_/g, ''));
      if (!Number.isFinite(v)) throw new Error(`input ${key} expects a number, got ${JSON.stringify(raw)}`);
      out[key] = v;
    } else if (typeof cur === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`input ${key} expects true|false`);
      out[key] = raw === 'true';
    } else out[key] = raw;
  }
  return out;
}

export function num(inputs: Inputs, key: string): number {
  const v = inputs[key];
  if (typeof v !== 'number') throw new Error(`input ${key} must be a number`);
  return v;
}

export function str(inputs: Inputs, key: string): string {
  const v = inputs[key];
  if (typeof v !== 'string') throw new Error(`input ${key} must be a string`);
  return v;
}

/** Percentile of an ascending list (nearest rank), 0 for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
