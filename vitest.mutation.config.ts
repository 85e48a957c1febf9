// The test configuration Stryker runs (npm run mutation): the suite's own,
// with test files sharing their workers' module cache so that each mutant's
// run does not import yoga, Pothos and the schema again for every file.
//
// Left out: the files whose tests either drive a child process (src/main.ts,
// the compiled build) or read src/config/config.ts, which is not mutated. Stryker
// switches a mutant on inside the test worker, so a child always runs the
// unmutated code: these tests can kill no mutant, and they cost a third of
// each run (spawning tsx, waiting for exits).

import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config';

export const CHILD_PROCESS_ONLY = [
  'test/compiled-build.test.ts',
  'test/graceful-shutdown.test.ts',
  'test/production-guard.test.ts',
  'test/startup.test.ts',
  'test/tracing-otlp.test.ts',
];

// MUTATION_TESTS=retries,throttling narrows a run to those test files: much faster, and the score it gives is a
// lower bound (a mutant only the other files would kill counts as survived).
const only = process.env.MUTATION_TESTS?.split(',').map((name) => `test/${name.trim()}.test.ts`);

// Not mergeConfig: it would append `include` to the suite's own instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    pool: 'threads',
    isolate: false,
    include: only ?? base.test?.include,
    // Worker threads do not read NODE_EXTRA_CA_CERTS (the runner process started before the globalSetup set it).
    setupFiles: ['test/support/trust-ca-in-threads.ts'],
    exclude: [...configDefaults.exclude, ...CHILD_PROCESS_ONLY],
  },
});
