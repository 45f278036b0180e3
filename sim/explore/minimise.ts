// Shrinks a failing fault schedule, delta-debugging style: rerun the same seed with fewer faults (drop one
// at a time), then with shorter ones (halve each duration while it still fails), keeping the smallest
// schedule that still shows the same invariant. Every rerun is a full deterministic run from the seed, so
// the result replays exactly; the number of reruns is bounded.
import type { Invariant } from './checks.js';
import type { ExploreRun, RunConfig } from './run.js';
import { runOnce } from './run.js';
import type { Fault } from './schedule.js';

export interface Minimised {
  readonly run: ExploreRun;
  readonly reruns: number;
  readonly originalFaults: number;
}

/** Durations are not shortened below this: a fault shorter than a few round trips shows nothing. */
const DURATION_MS_MIN = 100;

export function minimise(failing: ExploreRun, config: RunConfig, rerunsMax = 40): Minimised {
  const target: Invariant | undefined = failing.violation?.invariant;
  if (target === undefined) return { run: failing, reruns: 0, originalFaults: failing.faults.length };
  let best = failing;
  let reruns = 0;
  const tryFaults = (faults: readonly Fault[]): boolean => {
    if (reruns >= rerunsMax) return false;
    reruns++;
    const r = runOnce(failing.seed, config, faults);
    const same = r.check.safety.concat(r.check.liveness).some((v) => v.invariant === target);
    if (!same) return false;
    best = r.violation?.invariant === target ? r : { ...r, violation: r.check.safety.concat(r.check.liveness).find((v) => v.invariant === target) };
    return true;
  };
  // 1. Fewer faults.
  for (let i = 0; i < best.faults.length && reruns < rerunsMax;) {
    const without = best.faults.filter((_, j) => j !== i);
    if (!tryFaults(without)) i++;
  }
  // 2. Shorter faults.
  for (let i = 0; i < best.faults.length && reruns < rerunsMax; i++) {
    for (;;) {
      const f = best.faults[i] as Fault;
      const shorter = Math.max(DURATION_MS_MIN, Math.floor(f.durationMs / 2));
      if (shorter >= f.durationMs) break;
      const faults = best.faults.map((x, j) => (j === i ? { ...x, durationMs: shorter } : x));
      if (!tryFaults(faults)) break;
    }
  }
  return { run: best, reruns, originalFaults: failing.faults.length };
}
