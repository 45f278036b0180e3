import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'properties/**/*.test.ts'],
    // bin/odin.mjs runs dist/; the packaging and browser tests use packages/*/dist. Rebuilt (JavaScript
    // only, ~1 s) before every run, so no test meets stale output.
    globalSetup: ['test/support/build-packages.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
