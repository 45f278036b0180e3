// The vitest configuration Stryker runs (npm run mutation): the core's unit tests and the property suites,
// with fast-check's seed fixed so every mutant meets the same inputs (and test names carry no random seed,
// which Stryker's runner would otherwise filter out; see docs/testing.md, "Mutation testing"). The broken-double
// suites (properties/catches) test the properties, not src/core, so they stay out of mutation runs.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/core/**/*.test.ts', 'properties/**/*.test.ts'],
    exclude: ['properties/catches/**', 'node_modules/**'],
    setupFiles: ['properties/support/mutation-setup.ts'],
    testTimeout: 60_000,
  },
});
