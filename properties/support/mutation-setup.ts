// Mutation runs only (vitest.mutation.config.ts): one fixed seed, so a mutant is killed or not
// deterministically and Stryker can rerun the exact test that covers it.
import fc from 'fast-check';

fc.configureGlobal({ seed: 42 });
// Every surviving mutant reruns the whole suite that covers it: a third of the default runs keeps a full
// mutation run near 20 minutes on two cores (FC_RUNS_SCALE=1 npm run mutation for the full depth).
process.env.FC_RUNS_SCALE ??= '0.35';
