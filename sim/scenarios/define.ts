// The typed scenario runner. A scenario declares its inputs once (a zod schema: each key's type, rule and
// meaning, with the story's values as defaults), its fixes, its gateways and what its story claims; its
// `run` builds the story-specific part (hosts, servers, load, faults) inside a world the runner owns.
// The runner owns everything else: the world and its seed key, the event bound, the timeline recorder,
// the tallies (attempts by failure kind, users by outcome, the peak) and the result's shape.
// Determinism: the world's streams derive from `${name}/${seed}`; only virtual time enters a result.
import { z } from 'zod';
import { World } from '../kernel/world.js';
import { failureKind, TimelineRecorder } from '../report/timeline.js';
import { inputRule, meaningOf } from './inputs/meanings.js';
import { MECHANISM_INPUTS, mechanismsOf } from './inputs/mechanisms.js';
import type { GatewayKind, InputValue, Inputs, LimitHit, RunResult, Scenario, StoryClaim, Tally, WindowTally } from './scenario.js';

/** What a scenario's `run` sees: typed inputs, the world, and the runner's services. */
export interface RunContext {
  readonly inputs: Inputs;
  readonly seed: string;
  readonly gateway: GatewayKind;
  readonly variant: string;
  /** The run's world, seeded with `${scenario}/${seed}`. */
  readonly world: World;
  readonly num: (key: string) => number;
  readonly str: (key: string) => string;
  /** The run's one timeline: fleets given here feed it (connected, attempts, failures by kind). */
  record(fleets: readonly { timeline: TimelineRecorder | null }[], expectedMs: number): TimelineRecorder;
  /** Runs virtual time to `endMs`; reaching the scenario's event bound is an error, not a result. */
  runUntil(endMs: number): void;
}

/** What the story-specific part returns; the runner adds the tallies and the run's identity. */
export interface Findings {
  /** Outcomes in the scenario's words (the details section lists them). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly limits: readonly LimitHit[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly diagnosis: readonly string[];
  /** Each user's final outcome by contract kind ("ok" for a user connected at the end), where users are tracked. */
  readonly users?: Readonly<Record<string, number>>;
  /** Attempts by window of start time, where the story reports failures that way. */
  readonly windows?: readonly WindowTally[];
}

export interface ScenarioDefinition {
  readonly name: string;
  readonly story: string;
  /** The story's inputs (inputs/NAME.json); their types, rules and meanings come from inputs/meanings.ts. */
  readonly defaults: Inputs;
  readonly variants: Readonly<Record<string, Inputs>>;
  readonly gateways: readonly GatewayKind[];
  readonly oursVariants?: readonly string[];
  readonly claim: StoryClaim;
  /** A bound on scheduler events per run: far above what the story needs, low enough to stop a livelock. */
  readonly eventsMax: number;
  run(ctx: RunContext): Findings;
}

/**
 * One schema per scenario: every key typed like its default, with its rule and its meaning; the mechanism
 * inputs (inputs/mechanisms.ts) the story does not list are accepted too, unset by default.
 */
export function inputsSchema(defaults: Inputs): z.ZodObject<Record<string, z.ZodType<InputValue | undefined>>> {
  const shape: Record<string, z.ZodType<InputValue | undefined>> = {};
  const typed = (key: string, value: InputValue): z.ZodType<InputValue> =>
    (inputRule(key) ?? (typeof value === 'number' ? z.number().finite() : typeof value === 'boolean' ? z.boolean() : z.string())).describe(
      meaningOf(key) ?? '(no meaning written)',
    );
  for (const [key, value] of Object.entries(defaults)) shape[key] = typed(key, value);
  for (const [key, value] of Object.entries(MECHANISM_INPUTS)) if (!(key in shape)) shape[key] = typed(key, value).optional();
  return z.object(shape).strict();
}

/** Parses inputs against the schema; a bad value is an error naming the key and the rule. */
export function validateInputs(schema: z.ZodType, inputs: Inputs): Inputs {
  const r = schema.safeParse(inputs);
  if (r.success) return r.data as Inputs;
  const first = r.error.issues[0];
  const key = first?.path.join('.') ?? '?';
  throw new Error(`input ${key}: ${first?.message ?? 'invalid'} (got ${JSON.stringify(inputs[key])})`);
}

/** The limit that bound, named by the input that sets it (null when no input does, e.g. a browser's cap). */
export function limitHit(key: string | null, what: string, firstAtMs: number, count: number): LimitHit {
  return { key, limit: key === null ? what : `${key} — ${what}`, firstAtMs, count };
}

/** Counts one user's final outcome: "ok", else the contract kind of its label (PENDING: still trying at the end). */
export function countUser(users: Record<string, number>, ok: boolean, label: string): void {
  const kind = ok ? 'ok' : (failureKind(label) ?? 'PENDING');
  users[kind] = (users[kind] ?? 0) + 1;
}

function tallyOf(rec: TimelineRecorder | null): { attempts: Tally; peak: number } {
  if (rec === null) return { attempts: { total: 0, ok: 0, failures: {} }, peak: 0 };
  const failures: Record<string, number> = {};
  for (const k of Object.keys(rec.failuresSoFar).sort()) failures[k] = rec.failuresSoFar[k] as number;
  return { attempts: { total: rec.attempts, ok: rec.opens, failures }, peak: rec.peak };
}

function userTally(users: Readonly<Record<string, number>>): Tally {
  const failures: Record<string, number> = {};
  let total = 0;
  for (const k of Object.keys(users).sort()) {
    total += users[k] as number;
    if (k !== 'ok') failures[k] = users[k] as number;
  }
  return { total, ok: users['ok'] ?? 0, failures };
}

export function defineScenario(def: ScenarioDefinition): Scenario {
  const schema = inputsSchema(def.defaults);
  function run(rawInputs: Inputs, seed: string, gateway: GatewayKind, variant: string): RunResult {
    const inputs = validateInputs(schema, rawInputs);
    const world = new World(`${def.name}/${seed}`, { mechanisms: mechanismsOf(inputs) });
    let rec: TimelineRecorder | null = null;
    const num = (key: string): number => {
      const v = inputs[key];
      if (typeof v !== 'number') throw new Error(`${def.name}: input ${key} is not a number`);
      return v;
    };
    const str = (key: string): string => {
      const v = inputs[key];
      if (typeof v !== 'string') throw new Error(`${def.name}: input ${key} is not a string`);
      return v;
    };
    const ctx: RunContext = {
      inputs,
      seed,
      gateway,
      variant,
      world,
      num,
      str,
      record(fleets, expectedMs) {
        if (rec !== null) throw new Error(`${def.name}: one timeline per run`);
        rec = new TimelineRecorder(world.sched, expectedMs);
        for (const f of fleets) f.timeline = rec;
        return rec;
      },
      runUntil(endMs) {
        const r = world.sched.runUntil(endMs, def.eventsMax);
        if (r.reason === 'limit') throw new Error(`${def.name}/${gateway}: event bound ${def.eventsMax} reached at ${world.sched.nowMs} ms`);
      },
    };
    const f = def.run(ctx);
    const recorder = rec as TimelineRecorder | null;
    const timeline = recorder?.finish();
    const { attempts, peak } = tallyOf(recorder);
    const limits = [...f.limits].sort((a, b) => a.firstAtMs - b.firstAtMs);
    return {
      scenario: def.name,
      gateway,
      variant,
      seed,
      inputs,
      outcomes: f.outcomes,
      limits,
      metrics: f.metrics,
      diagnosis: f.diagnosis,
      attempts,
      users: f.users === undefined ? null : userTally(f.users),
      peakConnected: peak,
      events: world.sched.executed,
      virtualMs: world.sched.nowMs,
      ...(timeline === undefined ? {} : { timeline }),
      ...(f.windows === undefined ? {} : { windows: f.windows }),
    };
  }
  return {
    name: def.name,
    story: def.story,
    defaults: def.defaults,
    schema,
    variants: def.variants,
    gateways: def.gateways,
    ...(def.oursVariants === undefined ? {} : { oursVariants: def.oursVariants }),
    claim: def.claim,
    run,
  };
}
