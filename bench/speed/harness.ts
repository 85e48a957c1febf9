// Speed bench: what bench/speed.ts and bench/speed/profile.ts share. Bundles
// TypeScript entries into plain JavaScript, starts each system as its own
// `node` process (optionally pinned to a core), reads its CPU and RSS from
// /proc, and drives it with closed-loop clients on one undici pool.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { Pool } from 'undici';
import { buildGateway } from '../../scripts/build.mjs';

export const TOKEN = 'Bearer bench-token';
const TICKS_PER_SECOND = 100;

export const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
export const HUNDRED = Array.from({ length: 100 }, (_, n) => id(n + 1));
const FIELDS = 'id mcaDirectlySigned qualifications { kind vettingStatus }';

/** What a system is asked, as a path + body for a gateway or a path for the baseline. */
export interface Ask {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}

export const askBaseline = (ids: readonly string[]): Ask => ({
  method: 'GET',
  path: `/customers?ids=${ids.join(',')}`,
});
/** A POST of one GraphQL document without variables. */
export const askQuery = (query: string): Ask => ({ method: 'POST', path: '/graphql', body: JSON.stringify({ query }) });

export const askGateway = (ids: readonly string[]): Ask => ({
  method: 'POST',
  path: '/graphql',
  body: JSON.stringify({ query: `query ($ids: [ID!]!) { customers(ids: $ids) { ${FIELDS} } }`, variables: { ids } }),
});

// ---- processes -------------------------------------------------------------------------------------------------

// Inside the repository, so that the bundles' external imports resolve from node_modules.
export const outDir = join('node_modules', '.cache', 'pc-bench-speed');
/** Every process started, killed when the bench ends however it ends. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Bundles a TypeScript entry into plain JavaScript, so that every process runs under `node` alone. */
export function bundle(entry: string, name: string): string {
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

/** The gateway's own production build (`npm run build` -> dist/main.js). */
export function gatewayEntry(): string {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (!existsSync('dist/main.js')) throw new Error('npm run build wrote no dist/main.js');
  return 'dist/main.js';
}

/**
 * The gateway as it was at a git commit (BENCH_BEFORE=<ref>), bundled by that commit's scripts/build.mjs into a folder of its own,
 * so that the code before and after a change run side by side in one invocation. Its dependencies are today's.
 */
export async function gatewayAt(ref: string, name = 'before'): Promise<string> {
  const tree = join(outDir, `${name}-src`);
  rmSync(tree, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', tree]);
  execFileSync('sh', ['-c', `git archive ${JSON.stringify(ref)} src scripts | tar -x -C ${JSON.stringify(tree)}`]);
  const built = join(outDir, `gateway-${name}`);
  // Its own build script, so that a change to the build is measured too.
  const script = join(process.cwd(), tree, 'scripts', 'build.mjs');
  const build = existsSync(script)
    ? ((await import(pathToFileURL(script).href)) as { buildGateway: typeof buildGateway }).buildGateway
    : buildGateway;
  await build(join(tree, 'src', 'main.ts'), built);
  return join(built, 'main.js');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  /** performance.now() at spawn. */
  readonly spawnedAt: number;
  /** ms from spawn to the first 200 on its probe path. */
  readonly readyMs: number;
  /** Lines written to stdout so far (only with `countStdoutLines`). */
  readonly stdoutLines: () => number;
  /** SIGKILL, or with `graceful` SIGTERM (the gateway drains and exits 0, which lets --cpu-prof write its file). */
  stop(graceful?: boolean): Promise<void>;
}

export interface StartOptions {
  /** The gateway takes PORT; without it the process prints its port on stdout. */
  readonly port?: boolean;
  /** Pinned to these CPUs with taskset (e.g. "1"); anywhere when undefined. */
  readonly cpus?: string;
  readonly nodeArgs?: readonly string[];
  /** The node binary to run it on; this process's own by default (BENCH_BEFORE_NODE: another Node line). */
  readonly node?: string;
  /** With a PORT, stdout goes to /dev/null; with this it is a pipe the bench reads, counting its lines (log lines). */
  readonly countStdoutLines?: boolean;
}

/** Starts `node file` and waits until `probe` answers 200. */
export async function start(
  file: string,
  env: Record<string, string>,
  probe: string,
  {
    port: takesPort = false,
    cpus,
    nodeArgs = [],
    node = process.execPath,
    countStdoutLines = false,
  }: StartOptions = {},
): Promise<Running> {
  const port = takesPort ? await freePort() : undefined;
  const started = performance.now();
  const argv = [...nodeArgs, file];
  const [command, args] = cpus ? ['taskset', ['-c', cpus, node, ...argv]] : [node, argv];
  const child = spawn(command as string, args as string[], {
    env: { PATH: process.env.PATH ?? '', ...env, ...(port ? { PORT: String(port) } : {}) },
    stdio: ['ignore', port && !countStdoutLines ? 'ignore' : 'pipe', 'inherit'],
  });
  let lines = 0;
  if (port && countStdoutLines) {
    child.stdout?.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    });
  }
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
    spawnedAt: started,
    readyMs,
    stdoutLines: () => lines,
    stop: (graceful = false) =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      }),
  };
}

/** CPU seconds (user + system) the process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/** The 1-minute load average, from /proc: what else the machine was doing. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

// ---- load ------------------------------------------------------------------------------------------------------

export interface Load {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** CPU of the system under test per request. */
  cpuPerRequestMs: number;
  /** CPU of everything else the bench runs (load generator, and the stand-in when given) per request. */
  harnessCpuPerRequestMs: number;
}

/**
 * `connections` closed-loop clients send `what` (taken in turn when it is a list) until `seconds` pass or
 * `requests` are done.
 */
export async function load(
  target: Running,
  what: Ask | readonly Ask[],
  {
    connections,
    seconds,
    requests = Number.POSITIVE_INFINITY,
    upstream,
  }: { connections: number; seconds: number; requests?: number; upstream?: Running },
): Promise<Load> {
  const pool = new Pool(target.url, { connections, pipelining: 1 });
  const latenciesMs: number[] = [];
  let sent = 0;
  const harnessCpu = () =>
    (upstream ? cpuSeconds(upstream.child.pid as number) : 0) +
    (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  const cpuBefore = cpuSeconds(target.child.pid as number);
  const harnessBefore = harnessCpu();
  const begun = performance.now();
  const until = begun + seconds * 1000;
  const asks = Array.isArray(what) ? what : [what as Ask];
  const client = async () => {
    while (performance.now() < until && sent < requests) {
      const next = asks[sent % asks.length] as Ask;
      sent++;
      const t0 = performance.now();
      const response = await pool.request({
        method: next.method,
        path: next.path,
        body: next.body,
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
  const harness = harnessCpu() - harnessBefore;
  await pool.close();
  return {
    requests: latenciesMs.length,
    seconds: elapsed,
    latenciesMs,
    cpuPerRequestMs: (cpu * 1000) / latenciesMs.length,
    harnessCpuPerRequestMs: (harness * 1000) / latenciesMs.length,
  };
}

export const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
export const median = (values: readonly number[]) => quantile(values, 0.5);
