// Speed benchmark: the compiled gateway against a raw fan-out baseline
// (bench/speed/raw-baseline.ts), side by side in one run, against the same
// loopback Partner Center stand-in (bench/speed/stand-in.ts). Every system
// runs as plain `node` in its own process; CPU and RSS are read from /proc for
// that process only. Rounds are interleaved (the order alternates) and each
// figure is reported as median and spread over the rounds, and as a ratio to
// the baseline.
//
//   npm run bench:speed     BENCH_ROUNDS (3), BENCH_SECONDS (8), BENCH_RSS_REQUESTS (100000)

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSync } from 'esbuild';
import { Pool } from 'undici';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 100_000);
const TOKEN = 'Bearer bench-token';
const TICKS_PER_SECOND = 100;

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const HUNDRED = Array.from({ length: 100 }, (_, n) => id(n + 1));
const FIELDS = 'id mcaDirectlySigned qualifications { kind vettingStatus }';

/** What a system is asked, as a path + body for the gateway or a path for the baseline. */
interface Ask {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}
type System = 'gateway' | 'baseline';
const ask = (system: System, ids: readonly string[]): Ask =>
  system === 'baseline'
    ? { method: 'GET', path: `/customers?ids=${ids.join(',')}` }
    : {
        method: 'POST',
        path: '/graphql',
        body: JSON.stringify({
          query: `query ($ids: [ID!]!) { customers(ids: $ids) { ${FIELDS} } }`,
          variables: { ids },
        }),
      };

// ---- processes -------------------------------------------------------------------------------------------------

// Inside the repository, so that the bundles' external imports resolve from node_modules.
const outDir = join('node_modules', '.cache', 'pc-bench-speed');
/** Every process started, killed when the bench ends however it ends. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Bundles a TypeScript entry into plain JavaScript, so that every process runs under `node` alone. */
function bundle(entry: string, name: string): string {
  const outfile = join(outDir, `${name}.mjs`);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** The gateway's own production build (`npm run build`), or the same esbuild bundle when the script is missing. */
function gatewayEntry(): string {
  const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
  if (!scripts.build) return bundle('src/main.ts', 'gateway');
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const main = ['dist/main.js', 'dist/main.mjs', 'dist/src/main.js'].find((path) => {
    try {
      readFileSync(path);
      return true;
    } catch {
      return false;
    }
  });
  if (!main) throw new Error('npm run build wrote no dist/main.js');
  return main;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  /** ms from spawn to the first 200 on its probe path. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** Starts `node file` and waits until `probe` answers 200 (or, with `portFromStdout`, until it prints its port). */
async function start(file: string, env: Record<string, string>, probe: string, port?: number): Promise<Running> {
  const started = performance.now();
  const child = spawn(process.execPath, [file], {
    env: { PATH: process.env.PATH ?? '', ...env, ...(port ? { PORT: String(port) } : {}) },
    stdio: ['ignore', port ? 'ignore' : 'pipe', 'inherit'],
  });
  children.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });
  let resolvedPort = port;
  if (!resolvedPort) {
    resolvedPort = await new Promise<number>((resolve, reject) => {
      child.stdout?.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim())));
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    });
  }
  const url = `http://127.0.0.1:${resolvedPort}`;
  for (let tries = 0; ; tries++) {
    try {
      const response = await fetch(`${url}${probe}`, { headers: { authorization: TOKEN } });
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (exited || tries > 2_000) throw new Error(`${file} never became ready`);
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  return {
    child,
    url,
    readyMs,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

// ---- load ------------------------------------------------------------------------------------------------------

interface Load {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  cpuPerRequestMs: number;
}

/** `connections` closed-loop clients send `what` until `seconds` pass or `requests` are done. */
async function load(
  target: Running,
  what: Ask,
  {
    connections,
    seconds,
    requests = Number.POSITIVE_INFINITY,
  }: { connections: number; seconds: number; requests?: number },
): Promise<Load> {
  const pool = new Pool(target.url, { connections, pipelining: 1 });
  const latenciesMs: number[] = [];
  let sent = 0;
  const cpuBefore = cpuSeconds(target.child.pid as number);
  const begun = performance.now();
  const until = begun + seconds * 1000;
  const client = async () => {
    while (performance.now() < until && sent < requests) {
      sent++;
      const t0 = performance.now();
      const response = await pool.request({
        method: what.method,
        path: what.path,
        body: what.body,
        headers: { authorization: TOKEN, 'content-type': 'application/json', accept: 'application/json' },
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || text.includes('"errors"')) {
        throw new Error(`unexpected answer ${response.statusCode}: ${text.slice(0, 300)}`);
      }
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  const elapsed = (performance.now() - begun) / 1000;
  const cpu = cpuSeconds(target.child.pid as number) - cpuBefore;
  await pool.close();
  return {
    requests: latenciesMs.length,
    seconds: elapsed,
    latenciesMs,
    cpuPerRequestMs: (cpu * 1000) / latenciesMs.length,
  };
}

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const median = (values: readonly number[]) => quantile(values, 0.5);

// ---- figures ---------------------------------------------------------------------------------------------------

type Figure =
  | 'single req/s'
  | 'single p99 ms'
  | 'single CPU ms/req'
  | '100x2 CPU ms/req'
  | '100x2 wall ms'
  | '100x2 @20ms wall ms'
  | '100x2 cache hit CPU ms/req'
  | '100x2 cache hit wall ms'
  | 'start to ready ms'
  | 'RSS after start MiB'
  | 'RSS after load MiB';

const results: Record<System, Partial<Record<Figure, number[]>>> = { gateway: {}, baseline: {} };
const record = (system: System, figure: Figure, value: number) => {
  const values = results[system][figure] ?? [];
  values.push(value);
  results[system][figure] = values;
};

async function main(): Promise<void> {
  execFileSync('mkdir', ['-p', outDir]);
  const standInFile = bundle('bench/speed/stand-in.ts', 'stand-in');
  const baselineFile = bundle('bench/speed/raw-baseline.ts', 'raw-baseline');
  const gatewayFile = gatewayEntry();
  const fast = await start(standInFile, { LATENCY_MS: '0' }, '/v1/customers/x/qualifications');
  const slow = await start(standInFile, { LATENCY_MS: '20' }, '/v1/customers/x/qualifications');

  const gatewayEnv = (upstream: Running, extra: Record<string, string> = {}) => ({
    NODE_ENV: 'production',
    PARTNER_CENTER_BASE_URL: upstream.url,
    LOG_LEVEL: 'info',
    ...extra,
  });
  const launch = async (system: System, upstream: Running, extra: Record<string, string> = {}) =>
    system === 'gateway'
      ? start(gatewayFile, gatewayEnv(upstream, extra), '/health', await freePort())
      : start(baselineFile, { UPSTREAM_URL: upstream.url }, `/customers?ids=${id(1)}`);

  for (let round = 0; round < ROUNDS; round++) {
    const order: System[] = round % 2 === 0 ? ['gateway', 'baseline'] : ['baseline', 'gateway'];
    for (const system of order) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${system}\n`);
      const onFast = await launch(system, fast);
      record(system, 'start to ready ms', onFast.readyMs);
      record(system, 'RSS after start MiB', rssMiB(onFast.child.pid as number));
      // Warm-up: JIT, pools and caches fill before anything is counted.
      await load(onFast, ask(system, [id(1)]), { connections: 10, seconds: 2 });
      const single = await load(onFast, ask(system, [id(1)]), { connections: 10, seconds: SECONDS });
      record(system, 'single req/s', single.requests / single.seconds);
      record(system, 'single p99 ms', quantile(single.latenciesMs, 0.99));
      record(system, 'single CPU ms/req', single.cpuPerRequestMs);
      await load(onFast, ask(system, HUNDRED), { connections: 1, seconds: 1 });
      const hundred = await load(onFast, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
      record(system, '100x2 CPU ms/req', hundred.cpuPerRequestMs);
      record(system, '100x2 wall ms', median(hundred.latenciesMs));
      await onFast.stop();

      const onSlow = await launch(system, slow);
      await load(onSlow, ask(system, HUNDRED), { connections: 1, seconds: 1 });
      const wall = await load(onSlow, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
      record(system, '100x2 @20ms wall ms', median(wall.latenciesMs));
      await onSlow.stop();

      if (system === 'gateway') {
        // The quota cache's path: the same 100-customer request, answered from cache after the first.
        const cached = await launch(system, fast, { CACHE_TTL_SECONDS: '3600' });
        await load(cached, ask(system, HUNDRED), { connections: 1, seconds: 1 });
        const hit = await load(cached, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
        record(system, '100x2 cache hit CPU ms/req', hit.cpuPerRequestMs);
        record(system, '100x2 cache hit wall ms', median(hit.latenciesMs));
        await cached.stop();
      }
    }
  }

  // Memory after a long run, once per system: RSS after RSS_REQUESTS single-customer requests.
  for (const system of ['gateway', 'baseline'] as const) {
    process.stderr.write(`RSS after ${RSS_REQUESTS} requests: ${system}\n`);
    const running = await launch(system, fast);
    await load(running, ask(system, [id(1)]), { connections: 10, seconds: 3_600, requests: RSS_REQUESTS });
    record(system, 'RSS after load MiB', rssMiB(running.child.pid as number));
    await running.stop();
  }
  await fast.stop();
  await slow.stop();
  report();
}

function report(): void {
  const fmt = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const cell = (values: number[] | undefined) =>
    values?.length ? `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})` : '-';
  console.log(`\nSpeed, ${ROUNDS} interleaved rounds of ${SECONDS} s, Node ${process.version}: median (min-max)\n`);
  console.log('| figure | gateway | raw baseline | ratio |');
  console.log('| --- | --- | --- | --- |');
  for (const figure of Object.keys({ ...results.gateway, ...results.baseline }) as Figure[]) {
    const gateway = results.gateway[figure];
    // The cache-hit path has no baseline of its own: it is compared with the baseline's uncached 100-customer request.
    const cacheHitBaseline: Partial<Record<Figure, Figure>> = {
      '100x2 cache hit CPU ms/req': '100x2 CPU ms/req',
      '100x2 cache hit wall ms': '100x2 wall ms',
    };
    const baseline = results.baseline[cacheHitBaseline[figure] ?? figure];
    const ratio = gateway?.length && baseline?.length ? (median(gateway) / median(baseline)).toFixed(2) : '-';
    console.log(`| ${figure} | ${cell(gateway)} | ${cell(baseline)} | ${ratio} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
