// Owns the production build: esbuild bundles src/main.ts and every dependency
// into dist/ (`npm run build`), so production starts plain `node dist/main.js`
// without resolving and compiling hundreds of files in node_modules: measured
// in bench/README.md "Speed" (start to ready 0.95 s -> about 0.3 s). What is
// loaded only when used (GraphiQL's page, Redis, OpenTelemetry) becomes a chunk
// of its own in dist/chunks/ and costs nothing at start. bench/speed/harness.ts
// builds a git ref's sources the same way (BENCH_BEFORE).
//
//   node scripts/build.mjs [entry] [outdir]     defaults: src/main.ts dist

import { rmSync } from 'node:fs';
import { build } from 'esbuild';

/** Bundles `entry` into `outdir` (emptied first); the entry point is written as `main.js`. */
export async function buildGateway(entry = 'src/main.ts', outdir = 'dist') {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { main: entry },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    // Maps without the sources' text: stack traces name src/ files and lines (node --enable-source-maps), and the
    // map is a third of the size to parse at start.
    sourcemap: true,
    sourcesContent: false,
    // Some dependencies are CommonJS and call require() for Node's own modules; an ES module bundle has no require.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildGateway(process.argv[2], process.argv[3]);
}
