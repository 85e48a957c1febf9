// Owns the production build: esbuild bundles src/main.ts and every dependency
// into dist/ (`npm run build`), so production starts plain `node dist/main.js`
// without resolving and compiling hundreds of files in node_modules: measured
// in bench/README.md "Speed" (start to ready 0.95 s -> about 0.3 s). What is
// loaded only when used (GraphiQL's page, Redis, OpenTelemetry) becomes a chunk
// of its own in dist/chunks/ and costs nothing at start. bench/speed/harness.ts
// builds a git ref's sources the same way (BENCH_BEFORE).
//
// The source maps keep only src/'s mappings: stack traces name src/ files and
// lines (`node --enable-source-maps`), and the bundled packages' code is left
// unmapped, so that Node has a map of src/ alone to parse at start (bench/README.md,
// "Startup").
//
//   node scripts/build.mjs [entry] [outdir]     defaults: src/main.ts dist

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * Bundles `entry` into `outdir` (emptied first); the entry point is written as `main.js`. With `packageMappings`
 * the maps keep every bundled package's mappings too (as builds did before; bench/startup.ts compares the two).
 */
export async function buildGateway(entry = 'src/main.ts', outdir = 'dist', { packageMappings = false } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  const { metafile } = await build({
    entryPoints: { main: entry },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    // Maps without the sources' text: names and lines are what a stack trace needs.
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    // Some dependencies are CommonJS and call require() for Node's own modules; an ES module bundle has no require.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
    plugins: [graphqlAsModule],
  });
  if (packageMappings) return;
  for (const file of Object.keys(metafile.outputs).filter((name) => name.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(withoutPackages(map)));
  }
}

/**
 * graphql-js as its ES module build (index.mjs and the .mjs beside each file), for import and require alike, so the
 * bundle holds one graphql instance and reads its functions directly. Resolved as CommonJS (its `main`), every
 * `graphql.isNonNullType` the executor reads went through esbuild's getter for a CommonJS export: 10% of the CPU of
 * a page of the customer base (bench/README.md, "Dashboard").
 */
const graphqlAsModule = {
  name: 'graphql-as-module',
  setup(build) {
    build.onResolve({ filter: /^graphql(\/.*)?$/ }, async (args) => {
      if (args.pluginData === 'graphql-as-module') return undefined;
      const resolved = await build.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
        pluginData: 'graphql-as-module',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      const module = resolved.path.replace(/\.js$/, '.mjs');
      return { path: existsSync(module) ? module : resolved.path };
    });
    // graphql-js's instanceOf outside NODE_ENV=production checks every failed `instanceof` (isListType, isNonNullType
    // ... on each field) for a second graphql instance by class name: 10% of a page's CPU in simulator mode. The
    // bundle holds one instance (above), so the check can find nothing: its production branch always.
    build.onLoad({ filter: /[\\/]graphql[\\/]jsutils[\\/]instanceOf\.mjs$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const production = source.replace(/const isProduction =[^;]*;/, 'const isProduction = true;');
      if (production === source) throw new Error(`graphql's instanceOf changed shape: ${args.path}`);
      return { contents: production, loader: 'js' };
    });
  },
};

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((char, value) => [char, value]));

/** The fields of one segment of a source map's `mappings` (base64 VLQ, relative values). */
function decodeSegment(segment) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`not a source map segment: ${segment}`);
    value += (digit & 31) * 2 ** shift;
    shift += 5;
    if (digit < 32) {
      fields.push(value % 2 ? -(value - 1) / 2 : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

function encodeSegment(fields) {
  let out = '';
  for (const field of fields) {
    let value = field < 0 ? -field * 2 + 1 : field * 2;
    do {
      const digit = value % 32;
      value = Math.floor(value / 32);
      out += BASE64[value > 0 ? digit + 32 : digit];
    } while (value > 0);
  }
  return out;
}

/**
 * A source map (version 3, no sourcesContent) with only the mappings into files outside node_modules. Where the
 * generated code turns from a kept source to a package's code, a segment without a source marks it unmapped: Node
 * looks up a position by the last segment at or before it, across lines, so a package's frame stays as the bundle
 * names it rather than taking the src/ line before it.
 */
export function withoutPackages(map) {
  const keep = (source) => !source.split('/').includes('node_modules');
  const sources = [];
  const sourceIndex = new Map();
  const names = [];
  const nameIndex = new Map();
  const indexOf = (list, index, value) => {
    if (!index.has(value)) index.set(value, list.push(value) - 1);
    return index.get(value);
  };
  // Absolute values read so far (the generated column restarts each line) and the last ones written.
  const read = { source: 0, line: 0, column: 0, name: 0 };
  const written = { source: 0, line: 0, column: 0, name: 0 };
  let mapped = false;
  const lines = map.mappings.split(';').map((line) => {
    let readColumn = 0;
    let writtenColumn = 0;
    const out = [];
    for (const segment of line ? line.split(',') : []) {
      const fields = decodeSegment(segment);
      readColumn += fields[0];
      if (fields.length >= 4) {
        read.source += fields[1];
        read.line += fields[2];
        read.column += fields[3];
        if (fields.length >= 5) read.name += fields[4];
      }
      const kept = fields.length >= 4 && keep(map.sources[read.source]);
      if (kept) {
        const source = indexOf(sources, sourceIndex, map.sources[read.source]);
        const fieldsOut = [readColumn - writtenColumn, source - written.source, read.line - written.line];
        fieldsOut.push(read.column - written.column);
        Object.assign(written, { source, line: read.line, column: read.column });
        if (fields.length >= 5) {
          const name = indexOf(names, nameIndex, map.names[read.name]);
          fieldsOut.push(name - written.name);
          written.name = name;
        }
        out.push(encodeSegment(fieldsOut));
      } else if (mapped) {
        out.push(encodeSegment([readColumn - writtenColumn]));
      } else {
        continue;
      }
      writtenColumn = readColumn;
      mapped = kept;
    }
    return out.join(',');
  });
  return { ...map, sources, names, mappings: lines.join(';') };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildGateway(process.argv[2], process.argv[3]);
}
