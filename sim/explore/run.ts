// One explorer run, judged: build the world from a seed (and a schedule, generated from the same seed
// unless given), run it under the determinism guard's rules (the caller guards), check the trace.
import type { BugName } from './bugs.js';
import { type CheckResult, checkTrace, firstViolation, type Violation } from './checks.js';
import { defaultScheduleLimits, type Fault, generateSchedule, type ScheduleLimits } from './schedule.js';
import { defaultWorldSpec, runWorld, type Trace, traceHash, type WorldSpec } from './world.js';

export interface ExploreRun {
  readonly seed: string;
  readonly faults: readonly Fault[];
  readonly trace: Trace;
  readonly hash: string;
  readonly check: CheckResult;
  /** The violation reported for the run (safety first), if any. */
  readonly violation: Violation | undefined;
}

export interface RunConfig {
  readonly bug: BugName | null;
  readonly limits?: ScheduleLimits;
  readonly spec?: WorldSpec;
}

export function scheduleFor(seed: string, config: RunConfig): Fault[] {
  const spec = config.spec ?? defaultWorldSpec;
  return generateSchedule(seed, { ...(config.limits ?? defaultScheduleLimits), robots: spec.robots, instances: spec.gateways });
}

export function runOnce(seed: string, config: RunConfig, faults: readonly Fault[] = scheduleFor(seed, config)): ExploreRun {
  const trace = runWorld({ seed, faults, bug: config.bug, ...(config.spec !== undefined ? { spec: config.spec } : {}) });
  const check = checkTrace(trace);
  return { seed, faults, trace, hash: traceHash(trace), check, violation: firstViolation(check) };
}

/** Seeds explored by `--explore --runs N --seed S`: S.0 … S.(N−1), each a full run of its own. */
export function exploreSeeds(seed: string, runs: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < runs; i++) out.push(`${seed}.${i}`);
  return out;
}
