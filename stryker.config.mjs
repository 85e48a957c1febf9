// Stryker mutation testing (`npm run mutation`, not in CI: it is slow): how
// strong the suite is on the shared domain, the Partner Center client, the
// schema, the quota machinery, sign-in, the customer base, the response cache
// and the websocket transport. Scores per file, and how to run one file, are in docs/testing.md.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/domain/**/*.ts',
    'src/partner-center/**/*.ts',
    'src/schema/**/*.ts',
    'src/quota/**/*.ts',
    'src/sign-in/**/*.ts',
    'src/customer-base/**/*.ts',
    'src/server/response-cache.ts',
    'src/server/response-cache-redis.ts',
    'src/server/websocket.ts',
  ],
  coverageAnalysis: 'perTest',
  // Mutants in module-level code (SDL descriptions, constant tables) run only when the module loads, so each
  // would need a full suite run (~2 minutes here); they are reported as ignored, not as killed or survived.
  ignoreStatic: true,
  // Reruns test only what changed since the last run (mutated code or the tests covering it).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 2,
  // A mutant that makes a test hang (a retry loop that never ends) counts as a timeout after the test's own time
  // times timeoutFactor plus this.
  timeoutMS: 5000,
  timeoutFactor: 1.5,
  tempDirName: '.stryker-tmp',
};
