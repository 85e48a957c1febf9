// What logging and metrics cost per request: the compiled gateway
// (`npm run build`) started twice from the same build, each as its own `node`
// process pinned to CPU 1, as production runs it: once with LOG_LEVEL=info
// (its request lines go to a pipe this bench reads and counts) and
// METRICS=true, once with LOG_LEVEL=silent and METRICS=false. The loopback
// Partner Center stand-in (bench/speed/stand-in.ts, answers at once) and the
// closed-loop clients run on CPU 0, so only the gateways' CPU (from /proc)
// is counted.
//
// Both gateways are loaded at once and share CPU 1 (BENCH_TOGETHER=0: one
// after the other): whatever else the host does then slows both alike. One
// process's figures still move by several per cent with its JIT and heap
// layout, and with the order the processes were started in, so the bench
// starts fresh processes several times (generations) and turns the start
// order each time. Figures are medians over every round: throughput, CPU per
// request, and each system against "off" in the same round.
// With BENCH_BEFORE=<git ref> the gateway as it was at that commit runs too,
// with both on; with BENCH_PARTS=1 each half runs alone, and both with the
// lines going to /dev/null rather than a pipe; BENCH_TWIN=1 adds a second
// "off", the spread between two identical processes; BENCH_SYSTEMS=a,b keeps
// on, off and these alone. BENCH_REFS=name=ref,... adds the gateway at each
// git ref, with both on, under that name (scratch experiments; its lines are
// not counted).
//
//   npm run bench:observability    BENCH_GENERATIONS (12), BENCH_ROUNDS (3 per generation), BENCH_SECONDS (4), BENCH_WARM_SECONDS (12),
//                                  BENCH_CONCURRENCY (16), BENCH_TOGETHER (1), BENCH_BEFORE, BENCH_PARTS, BENCH_TWIN,
//                                  BENCH_SYSTEMS, BENCH_REFS, BENCH_WORKLOAD (one|ten), BENCH_VERBOSE

import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { FLUSH_INTERVAL_MS } from '../src/observability/logger';
import {
  type Ask,
  askQuery,
  bundle,
  gatewayAt,
  gatewayEntry,
  id,
  type Load,
  load,
  loadAverage,
  median,
  quantile,
  type Running,
  start,
} from './speed/harness';

const GENERATIONS = Number(process.env.BENCH_GENERATIONS ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 12);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BEFORE = process.env.BENCH_BEFORE;
const PARTS = process.env.BENCH_PARTS === '1';
const TWIN = process.env.BENCH_TWIN === '1';
/**
 * All systems loaded at once, sharing CPU 1, rather than one after the other: the machine's neighbours slow whole
 * stretches of seconds, by as much as is measured here, and at once they slow every system alike. The scheduler
 * gives each busy process an equal share of the core, so the ratio of their throughputs is the inverse ratio of
 * their CPU per request. BENCH_TOGETHER=0: one after the other.
 */
const TOGETHER = process.env.BENCH_TOGETHER !== '0';
/** BENCH_WORKLOAD=ten: only the workloads whose name starts so. */
const ONLY = process.env.BENCH_WORKLOAD ?? '';

// Each request names customers of its own (1,000 in turn, as in bench/speed.ts), so coalescing shares no call
// between the 16 clients and every request makes its upstream calls.
const WORKLOADS: Record<string, Ask[]> = {
  // The cheapest request that still calls Partner Center: the per-request overhead shows most here.
  'one customer, one call': Array.from({ length: 1_000 }, (_, n) =>
    askQuery(`{ customer(id: "${id(n + 1)}") { qualifications { kind } } }`),
  ),
  // A dashboard slice: 10 customers, both resources, 20 upstream calls.
  'ten customers, 20 calls': Array.from({ length: 100 }, (_, n) =>
    askQuery(
      `{ customers(ids: [${Array.from({ length: 10 }, (_, k) => `"${id(10 * n + k + 1)}"`).join(', ')}]) { qualifications { kind vettingStatus } mcaDirectlySigned } }`,
    ),
  ),
};
const ON = { LOG_LEVEL: 'info', METRICS: 'true' };
const OFF = { LOG_LEVEL: 'silent', METRICS: 'false' };

interface System {
  readonly file: string;
  readonly env: Record<string, string>;
  /** Its stdout is a pipe whose lines the bench counts; otherwise /dev/null. */
  readonly pipe: boolean;
  /** A scratch experiment (BENCH_REFS): it may write its lines differently, so they are not checked. */
  readonly experiment?: boolean;
}

/** One round's figures for one system. */
interface Round {
  readonly rate: number;
  readonly cpuMicros: number;
  readonly busy: number;
}

async function plan(): Promise<Record<string, System>> {
  const built = gatewayEntry();
  const systems: Record<string, System> = {
    on: { file: built, env: ON, pipe: true },
    off: { file: built, env: OFF, pipe: true },
  };
  if (BEFORE) systems.before = { file: await gatewayAt(BEFORE), env: ON, pipe: true };
  for (const [index, named] of (process.env.BENCH_REFS?.split(',') ?? []).entries()) {
    const [name = '', ref = ''] = named.split('=');
    systems[name] = { file: await gatewayAt(ref, `ref-${index}`), env: ON, pipe: true, experiment: true };
  }
  // A second "off", started last: how far apart two processes of the same build and settings land.
  if (TWIN) systems['off again'] = { file: built, env: OFF, pipe: true };
  if (PARTS) {
    systems['log only'] = { file: built, env: { ...ON, METRICS: 'false' }, pipe: true };
    systems['metrics only'] = { file: built, env: { ...ON, LOG_LEVEL: 'silent' }, pipe: true };
    systems['on, /dev/null'] = { file: built, env: ON, pipe: false };
  }
  return systems;
}

/** Sends one round to a system and checks that it wrote one line per request (none when it logs nothing). */
async function round(name: string, system: System, running: Running, what: Ask[], seconds: number): Promise<Load> {
  const linesBefore = running.stdoutLines();
  const run = await load(running, what, { connections: CONCURRENCY, seconds });
  await sleep(FLUSH_INTERVAL_MS + 100); // the last lines still in the logger's buffer and the pipe
  const lines = running.stdoutLines() - linesBefore;
  const expected = system.pipe && system.env.LOG_LEVEL === 'info' ? run.requests : 0;
  if (!system.experiment && Math.abs(lines - expected) > CONCURRENCY)
    throw new Error(`${name}: ${lines} lines for ${run.requests} requests`);
  return run;
}

/** The on gateway counted exactly the operations it was sent: its metrics are on and working. */
async function checkCounted(on: Running, sent: number): Promise<void> {
  const text = await (await fetch(`${on.url}/metrics`)).text();
  const counted = text
    .split('\n')
    .filter((line) => line.startsWith('graphql_envelop_request{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  if (counted !== sent) throw new Error(`the on gateway counted ${counted} operations for ${sent} sent`);
}

async function main(): Promise<void> {
  execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  const planned = await plan();
  // BENCH_SYSTEMS=on,off,log only: these alone (on and off are always kept: everything is compared with them).
  const chosen = process.env.BENCH_SYSTEMS?.split(',');
  const systems = Object.fromEntries(
    Object.entries(planned).filter(
      ([name]) => !chosen || planned[name]?.experiment || ['on', 'off', ...chosen].includes(name),
    ),
  );
  const names = Object.keys(systems);
  const upstream = await start(bundle('bench/speed/stand-in.ts', 'stand-in'), {}, '/v1/customers/x/qualifications', {
    cpus: '0',
  });
  const rounds: Record<string, Record<string, Round[]>> = Object.fromEntries(
    Object.keys(WORKLOADS).map((workload) => [workload, Object.fromEntries(names.map((name) => [name, []]))]),
  );
  const loadAverages: number[] = [];
  for (let generation = 0; generation < GENERATIONS; generation++) {
    const running: Record<string, Running> = {};
    // The start order turns each generation: with a fixed order, the process started second ran up to 15% faster
    // than an identical one started third (BENCH_TWIN), as large as what is measured.
    const startOrder = names.map((_, index) => names[(index + generation) % names.length] as string);
    for (const name of startOrder) {
      const { file, env, pipe } = systems[name] as System;
      running[name] = await start(
        file,
        { NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: upstream.url, ...env },
        '/health',
        { port: true, cpus: '1', countStdoutLines: pipe },
      );
    }
    let sentToOn = 0;
    for (const [workload, what] of Object.entries(WORKLOADS)) {
      if (!workload.startsWith(ONLY)) continue;
      // Sends a round to each system in `order`: one after the other, or all at once (TOGETHER).
      const send = async (order: readonly string[], seconds: number) => {
        const one = (name: string) =>
          round(name, systems[name] as System, running[name] as Running, what, seconds).then((run) => {
            if (name === 'on') sentToOn += run.requests;
            return [name, run] as const;
          });
        if (TOGETHER) return Promise.all(order.map(one));
        const runs: (readonly [string, Load])[] = [];
        for (const name of order) runs.push(await one(name));
        return runs;
      };
      // Long enough for V8 to settle: a process's CPU per request keeps falling for several seconds (JIT tiers,
      // the young generation growing to its size), and a short warm-up charged that to whoever ran first.
      await send(startOrder, WARM_SECONDS);
      for (let index = 0; index < ROUNDS; index++) {
        const order = (index + generation) % 2 === 0 ? names : [...names].reverse();
        for (const [name, run] of await send(order, SECONDS)) {
          const cpuSeconds = (run.cpuPerRequestMs * run.requests) / 1000;
          if (process.env.BENCH_VERBOSE) {
            console.log(
              `generation ${generation}, ${workload}, ${name}: ${(run.cpuPerRequestMs * 1000).toFixed(0)} µs`,
            );
          }
          rounds[workload]?.[name]?.push({
            rate: run.requests / run.seconds,
            cpuMicros: run.cpuPerRequestMs * 1000,
            busy: cpuSeconds / run.seconds,
          });
        }
      }
    }
    await checkCounted(running.on as Running, sentToOn);
    loadAverages.push(loadAverage());
    await Promise.all(Object.values(running).map((process) => process.stop()));
  }
  await upstream.stop();

  console.log(
    `${GENERATIONS} generations of fresh processes x ${ROUNDS} rounds of ${SECONDS} s, ${TOGETHER ? 'all systems at once' : 'one system after the other'}, ${CONCURRENCY} clients each, medians over all rounds; gateways on CPU 1, stand-in and clients on CPU 0 (Node ${process.version}; load average after each generation ${loadAverages.join(', ')})\n`,
  );
  const cell = (runs: Round[]) =>
    `${median(runs.map((r) => r.rate)).toFixed(0)} req/s, ${median(runs.map((r) => r.cpuMicros)).toFixed(0)} µs, ${(100 * median(runs.map((r) => r.busy))).toFixed(0)}%`;
  const perCpu = (runs: Round[]) => 1e6 / median(runs.map((r) => r.cpuMicros));
  console.log(
    `| workload | ${names.map((name) => `${name}: req/s, CPU per request, CPU 1 busy`).join(' | ')} | throughput on / off | requests per CPU-second on / off |${BEFORE ? ' requests per CPU-second on / before |' : ''}`,
  );
  console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- |${BEFORE ? ' --- |' : ''}`);
  for (const [workload, byName] of Object.entries(rounds)) {
    if (!workload.startsWith(ONLY)) continue;
    const of = (name: string) => byName[name] ?? [];
    const rate = (name: string) => median(of(name).map((r) => r.rate));
    console.log(
      `| ${workload} | ${names.map((name) => cell(of(name))).join(' | ')} | ${(rate('on') / rate('off')).toFixed(3)} | ${(perCpu(of('on')) / perCpu(of('off'))).toFixed(3)} |${BEFORE ? ` ${(perCpu(of('on')) / perCpu(of('before'))).toFixed(3)} |` : ''}`,
    );
  }

  // The machine's neighbours slow a whole stretch of seconds at a time, so each system's round is also compared with
  // the "off" round run next to it (the same generation and round): the median of those ratios, with its quartiles.
  const others = names.filter((name) => name !== 'off');
  console.log(
    `\nAgainst "off" in the same round: CPU per request (median ratio, quartiles in brackets) and throughput (median ratio):\n\n| workload | ${others.join(' | ')} |\n| --- | ${others.map(() => '---').join(' | ')} |`,
  );
  for (const [workload, byName] of Object.entries(rounds)) {
    if (!workload.startsWith(ONLY)) continue;
    const off = byName.off ?? [];
    const paired = (name: string) => {
      const runs = byName[name] ?? [];
      const ratios = runs.map((run, index) => run.cpuMicros / (off[index] as Round).cpuMicros);
      const throughput = median(runs.map((run, index) => run.rate / (off[index] as Round).rate));
      return `CPU ${median(ratios).toFixed(3)} (${quantile(ratios, 0.25).toFixed(3)}-${quantile(ratios, 0.75).toFixed(3)}), throughput ${throughput.toFixed(3)}`;
    };
    console.log(`| ${workload} | ${others.map(paired).join(' | ')} |`);
  }
}

await main();
