// How hard the property suites look. `npm test` uses each property's moderate default; a deeper run is one
// variable: FC_RUNS=2000 npm test (every property gets that many runs), FC_SEED=… to replay a failure.
// Without FC_SEED fast-check draws a fresh seed every run (CI included), and a failure's message begins
// with it — `Property failed after N tests { seed: S, path: … }` — so FC_SEED=S with the same run count
// replays it. Every property of the suite (test/client's included) takes its parameters from here.
import type fc from 'fast-check';

/** Parameters for fc.assert: `defaultRuns` unless FC_RUNS overrides it (FC_RUNS_SCALE scales defaults). */
export function runs(defaultRuns: number): fc.Parameters<unknown> {
  const envRuns = Number(process.env.FC_RUNS ?? '');
  const envSeed = Number(process.env.FC_SEED ?? '');
  const scale = Number(process.env.FC_RUNS_SCALE ?? '1');
  const numRuns = Number.isInteger(envRuns) && envRuns > 0 ? envRuns : Math.max(10, Math.ceil(defaultRuns * (scale > 0 ? scale : 1)));
  return Number.isInteger(envSeed) && process.env.FC_SEED !== undefined ? { numRuns, seed: envSeed } : { numRuns };
}

/**
 * Parameters for a broken-double check: fast-check must find the bug within this budget. The seed is fixed
 * so the "caught" verdict is reproducible; each double is caught in far fewer runs than allowed.
 */
export function hunt(numRuns = 300): fc.Parameters<unknown> {
  return { numRuns, seed: 20261123, endOnFailure: true };
}
