// Lint, type-aware (typescript-eslint). Beyond the recommended sets, the core's purity rule lives here as
// well as in test/architecture/purity.test.ts: src/core, the client's core files and sim/ reach time,
// randomness and I/O only through ports (docs/design.md, "One core, two worlds").
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const io = ['net', 'http', 'https', 'dgram', 'fs', 'child_process', 'worker_threads', 'timers', 'perf_hooks'];
const pure = {
  'no-restricted-imports': [
    'error',
    {
      paths: [...io.flatMap((m) => [m, `node:${m}`]), 'ws'].map((name) => ({ name, message: 'I/O and timers come through ports (docs/design.md).' })),
      patterns: [{ group: ['@nats-io/*'], message: 'The NATS client belongs in src/adapters.' }],
    },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Time comes from the Clock port.' },
    { object: 'Math', property: 'random', message: 'Randomness comes from the Random port (seeded in the lab).' },
    { object: 'performance', property: 'now', message: 'Time comes from the Clock port.' },
    { object: 'process', property: 'hrtime', message: 'Time comes from the Clock port.' },
  ],
  'no-restricted-globals': [
    'error',
    ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'].map((name) => ({ name, message: 'Timers come from the Clock port.' })),
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'reports/**', '.stryker-tmp/**', 'coverage/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.mjs', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed names mark deliberately unused parameters (port methods a twin does not need).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Fire-and-forget promises must say so (`void p`): a forgotten await is how shutdowns lose data.
      '@typescript-eslint/no-floating-promises': 'error',
      // Template literals of numbers and booleans are how reports and logs are written here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowArray: true }],
      // An async function without await is how a port's Promise-returning method is written when the twin
      // has nothing to wait for; requiring `Promise.resolve` wrappers instead buys nothing.
      '@typescript-eslint/require-await': 'off',
      // The decoders throw small value classes (no stack: hostile input must stay cheap) and catch them at
      // their own boundary, where they become error codes.
      '@typescript-eslint/only-throw-error': ['error', { allow: [{ from: 'file', name: ['Invalid', 'Malformed'] }] }],
    },
  },
  {
    // Tests and benchmarks read JSON and YAML from the wire and files and hand methods to assertions: `any`
    // from a parser is checked by the assertions themselves.
    files: ['test/**/*.ts', 'properties/**/*.test.ts', 'benchmarks/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      // `(await x.waitFor(is('subscribed'))) as SubscribedMessage` reads better than explicit type arguments.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  { files: ['src/core/**/*.ts'], rules: pure },
  { files: ['src/client/**/*.ts'], ignores: ['src/client/{socket-node,socket-browser,system,index}.ts'], rules: pure },
  // The parity suite's real half (sim/parity/real.ts, and real-cgroup.ts for its memory cgroup) starts
  // real processes on purpose.
  {
    files: ['sim/**/*.ts'],
    ignores: ['sim/engine/determinism-guard.ts', 'sim/cli.ts', 'sim/report/html.ts', 'sim/parity/real.ts', 'sim/parity/real-cgroup.ts'],
    rules: pure,
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
