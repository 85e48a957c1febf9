// Owns the node flags the compiled build runs with: `npm start`'s (package.json),
// which the Dockerfile's CMD repeats, so that tests and benchmarks start the
// gateway as production does.

import { readFileSync } from 'node:fs';

/** The words of `npm start` between `node` and `dist/main.js`. */
export const START_FLAGS: readonly string[] = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));
