// vitest globalSetup: runs `npm run build` once before any test file, so the
// tests that start the compiled gateway (`node dist/main.js`) all use one
// finished build instead of racing to write dist/ from parallel workers.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export default async function buildOnce(): Promise<void> {
  await promisify(execFile)('npm', ['run', '--silent', 'build'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
}
