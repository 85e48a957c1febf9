// The test configuration Stryker runs (npm run mutation): the suite's own,
// with test files sharing their workers' module cache so that each mutant's
// run does not import yoga, Pothos and the schema again for every file.

import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config';

export default mergeConfig(base, defineConfig({ test: { pool: 'threads', isolate: false } }));
