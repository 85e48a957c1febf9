// Startup benchmark: start-to-ready time and resident memory after start of
// the compiled build (`node dist/main.js`, with `npm start`'s flags) against running the sources through
// tsx (`tsx src/main.ts`, how production ran before), side by side in one run:
// rounds interleaved, alternating which goes first, medians compared.
//
//   npm run bench:startup          (BENCH_ROUNDS, default 7)

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { START_FLAGS } from '../test/support/start-flags';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const VARIANTS = {
  compiled: [process.execPath, [...START_FLAGS, 'dist/main.js']],
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
  const results: Record<Variant, Array<Awaited<ReturnType<typeof startOnce>>>> = { compiled: [], tsx: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Variant[] = round % 2 === 0 ? ['compiled', 'tsx'] : ['tsx', 'compiled'];
    for (const variant of order) results[variant].push(await startOnce(variant));
  }
  const summary = (variant: Variant) => ({
    readyMs: median(results[variant].map((r) => r.readyMs)),
    rss: median(results[variant].map((r) => r.rss)),
    gatewayRss: median(results[variant].map((r) => r.gatewayRss)),
  });
  const compiled = summary('compiled');
  const tsx = summary('tsx');
  console.log(`${ROUNDS} rounds, medians (Node ${process.version}):`);
  console.log('| start | start to ready | RSS after start (all processes) | RSS of the gateway process |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| node dist/main.js | ${compiled.readyMs.toFixed(0)} ms | ${mib(compiled.rss)} | ${mib(compiled.gatewayRss)} |`,
  );
  console.log(`| tsx src/main.ts | ${tsx.readyMs.toFixed(0)} ms | ${mib(tsx.rss)} | ${mib(tsx.gatewayRss)} |`);
  console.log(
    `| ratio | ${(tsx.readyMs / compiled.readyMs).toFixed(2)}x faster | ${(tsx.rss / compiled.rss).toFixed(2)}x less | ${(tsx.gatewayRss / compiled.gatewayRss).toFixed(2)}x less |`,
  );
}

await main();
