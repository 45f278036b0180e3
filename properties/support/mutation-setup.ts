// Mutation runs only (vitest.mutation.config.ts): one fixed seed, so a mutant is killed or not
// deterministically and Stryker can rerun the exact test that covers it.
import fc from 'fast-check';

fc.configureGlobal({ seed: 42 });
