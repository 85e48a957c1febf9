// Startup benchmark: start-to-ready time and resident memory after start of
// the compiled build (`node dist/main.js`, with `npm start`'s flags), of the same
// sources built as before with every bundled package's mappings in the source maps,
// of `dist/main.js` without source maps, and of the sources run through tsx
// (`tsx src/main.ts`), side by side in one run:
// rounds interleaved, rotating which goes first, medians compared.
//
//   npm run bench:startup          (BENCH_ROUNDS, default 7)

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildGateway } from '../scripts/build.mjs';
import { START_FLAGS } from '../test/support/start-flags';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const BEFORE = 'node_modules/.cache/pc-bench-startup/dist';

const VARIANTS = {
  compiled: [process.execPath, [...START_FLAGS, 'dist/main.js']],
  packageMaps: [process.execPath, [...START_FLAGS, `${BEFORE}/main.js`]],
  noMaps: [process.execPath, ['dist/main.js']],
  tsx: [`${ROOT}node_modules/.bin/tsx`, ['src/main.ts']],
} as const satisfies Record<string, readonly [string, readonly string[]]>;
type Variant = keyof typeof VARIANTS;

/** A production-like start: a configured (https-guarded loopback) upstream, no simulator, no request served yet. */
const ENV = {
  ...process.env,
  NODE_ENV: 'production',
  PORT: '0',
  PARTNER_CENTER_BASE_URL: 'http://127.0.0.1:9',
  LOG_LEVEL: 'info',
};

/** Resident set size in bytes of a process and all its descendants (tsx runs the sources in a child node). */
function treeRss(pid: number): { total: number; largest: number } {
  let total = 0;
  let largest = 0;
  const visit = (id: number) => {
    const status = readFileSync(`/proc/${id}/status`, 'utf8');
    const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    total += kib * 1024;
    largest = Math.max(largest, kib * 1024);
    const children = readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim();
    for (const child of children ? children.split(' ') : []) visit(Number(child));
  };
  visit(pid);
  return { total, largest };
}

async function startOnce(variant: Variant): Promise<{ readyMs: number; rss: number; gatewayRss: number }> {
  const [command, args] = VARIANTS[variant];
  const started = performance.now();
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = / at http:\/\/localhost:(\d+)\/graphql/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}:\n${out}`)));
  });
  const ready = await fetch(`http://127.0.0.1:${port}/ready`);
  if (ready.status !== 200) throw new Error(`${variant}: /ready answered ${ready.status}`);
  const readyMs = performance.now() - started;
  // Let start-up garbage settle the same way for both before reading memory.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { total, largest } = treeRss(child.pid as number);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, rss: total, gatewayRss: largest };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  await buildGateway(`${ROOT}src/main.ts`, `${ROOT}${BEFORE}`, { packageMappings: true });
  const variants = Object.keys(VARIANTS) as Variant[];
  const results = Object.fromEntries(variants.map((variant) => [variant, []])) as unknown as Record<
    Variant,
    Array<Awaited<ReturnType<typeof startOnce>>>
  >;
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, index) => variants[(index + round) % variants.length] as Variant);
    for (const variant of order) results[variant].push(await startOnce(variant));
  }
  const summary = (variant: Variant) => ({
    readyMs: median(results[variant].map((r) => r.readyMs)),
    rss: median(results[variant].map((r) => r.rss)),
    gatewayRss: median(results[variant].map((r) => r.gatewayRss)),
  });
  const compiled = summary('compiled');
  const labels: Record<Variant, string> = {
    compiled: `node ${START_FLAGS.join(' ')} dist/main.js`,
    packageMaps: 'the same, every package in the maps (before)',
    noMaps: 'node dist/main.js (no source maps)',
    tsx: 'tsx src/main.ts',
  };
  console.log(`${ROUNDS} rounds, medians (Node ${process.version}):`);
  console.log(
    '| start | start to ready | RSS after start (all processes) | RSS of the gateway process | ready, RSS against dist/main.js |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const variant of variants) {
    const { readyMs, rss, gatewayRss } = summary(variant);
    const against = `${(readyMs / compiled.readyMs).toFixed(2)}x, ${(rss / compiled.rss).toFixed(2)}x`;
    console.log(
      `| ${labels[variant]} | ${readyMs.toFixed(0)} ms | ${mib(rss)} | ${mib(gatewayRss)} | ${variant === 'compiled' ? '-' : against} |`,
    );
  }
}

await main();
