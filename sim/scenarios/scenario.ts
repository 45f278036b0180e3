// What a scenario is: named inputs (flat, overridable with --set), named fixes (input overrides), and a
// run function that builds a world from the inputs and seed and returns a result. Results hold only
// virtual-time quantities, so the same inputs and seed give the same bytes (I10).

import type { Timeline } from '../report/timeline.js';

export type InputValue = number | string | boolean;
export type Inputs = Readonly<Record<string, InputValue>>;

export type GatewayKind = 'story' | 'ours';

export interface LimitHit {
  /** What ran out, e.g. "robots nofile (EMFILE at connect)". */
  readonly limit: string;
  readonly firstAtMs: number;
  readonly count: number;
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
  readonly events: number;
  readonly virtualMs: number;
  /** Connected / attempts / failures by kind over virtual time (sim/report/timeline.ts), where recorded. */
  readonly timeline?: Timeline;
}

export interface Scenario {
  readonly name: string;
  /** One line: which story (docs/lab.md, "The field stories") this tells. */
  readonly story: string;
  readonly defaults: Inputs;
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
    const cur = defaults[key];
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
