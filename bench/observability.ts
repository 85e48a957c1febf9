// What logging and metrics cost per request: the compiled gateway
// (`npm run build`) started twice from the same build, each as its own `node`
// process pinned to CPU 1, as production runs it: once with LOG_LEVEL=info
// (its request lines go to a pipe this bench reads and counts) and
// METRICS=true, once with LOG_LEVEL=silent and METRICS=false. The loopback
// Partner Center stand-in (bench/speed/stand-in.ts, answers at once) and the
// closed-loop clients run on CPU 0, so each gateway's core is its own and
// only its process's CPU (from /proc) is counted. Rounds interleave (the order
// alternates); figures are medians: throughput and CPU per request, on
// against off. With BENCH_BEFORE=<git ref> the gateway as it was at that
// commit runs too, with both on, in the same rounds.
//
//   npm run bench:observability    BENCH_ROUNDS (10), BENCH_SECONDS (4), BENCH_CONCURRENCY (16), BENCH_BEFORE

import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Ask,
  bundle,
  gatewayAt,
  gatewayEntry,
  id,
  type Load,
  load,
  loadAverage,
  median,
  type Running,
  start,
} from './speed/harness';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BEFORE = process.env.BENCH_BEFORE;

const ask = (query: string): Ask => ({ method: 'POST', path: '/graphql', body: JSON.stringify({ query }) });
const WORKLOADS: Record<string, Ask> = {
  // The cheapest request that still calls Partner Center: the per-request overhead shows most here.
  'one customer, one call': ask(`{ customer(id: "${id(1)}") { qualifications { kind } } }`),
  // A dashboard slice: 10 customers, both resources, 20 upstream calls.
  'ten customers, 20 calls': ask(
    `{ customers(ids: [${Array.from({ length: 10 }, (_, n) => `"${id(n + 1)}"`).join(', ')}]) { qualifications { kind vettingStatus } mcaDirectlySigned } }`,
  ),
};
const ON = { LOG_LEVEL: 'info', METRICS: 'true' };
const OFF = { LOG_LEVEL: 'silent', METRICS: 'false' };

async function main(): Promise<void> {
  execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  const files: Record<string, string> = { on: gatewayEntry(), off: 'dist/main.js' };
  if (BEFORE) files.before = await gatewayAt(BEFORE);
  const upstream = await start(bundle('bench/speed/stand-in.ts', 'stand-in'), {}, '/v1/customers/x/qualifications', {
    cpus: '0',
  });
  const systems: Record<string, Running> = Object.fromEntries(
    await Promise.all(
      Object.entries(files).map(async ([name, file]) => [
        name,
        await start(
          file,
          { NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: upstream.url, ...(name === 'off' ? OFF : ON) },
          '/health',
          { port: true, cpus: '1', countStdoutLines: true },
        ),
      ]),
    ),
  );
  const names = Object.keys(systems);
  console.log(
    `${ROUNDS} rounds of ${SECONDS} s, ${CONCURRENCY} clients, medians; gateways on CPU 1, stand-in and clients on CPU 0 (Node ${process.version}, load average ${loadAverage()})`,
  );
  console.log(
    `| workload | ${names.map((name) => `${name}: req/s, µs CPU per request, CPU 1 busy`).join(' | ')} | throughput on / off | CPU per request on / off |${BEFORE ? ' CPU per request on / before |' : ''}`,
  );
  console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- |${BEFORE ? ' --- |' : ''}`);
  for (const [workload, what] of Object.entries(WORKLOADS)) {
    const runs: Record<string, Load[]> = Object.fromEntries(names.map((name) => [name, []]));
    const system = (name: string) => systems[name] as Running;
    for (const name of names) await load(system(name), what, { connections: CONCURRENCY, seconds: 3 }); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const linesBefore = system(name).stdoutLines();
        const run = await load(system(name), what, { connections: CONCURRENCY, seconds: SECONDS });
        // Every request's line was written (and none with logging off): the bench measures what it says.
        await sleep(100); // the last lines still in the pipe
        const lines = system(name).stdoutLines() - linesBefore;
        const expected = name === 'off' ? 0 : run.requests;
        if (Math.abs(lines - expected) > CONCURRENCY)
          throw new Error(`${name}: ${lines} lines for ${run.requests} requests`);
        runs[name]?.push(run);
        if (process.env.BENCH_VERBOSE) {
          console.log(
            `${name}: ${(run.requests / run.seconds).toFixed(0)} req/s, ${(run.cpuPerRequestMs * 1000).toFixed(0)} µs`,
          );
        }
      }
    }
    const rate = (name: string) => median((runs[name] ?? []).map((run) => run.requests / run.seconds));
    const cpu = (name: string) => median((runs[name] ?? []).map((run) => run.cpuPerRequestMs * 1000));
    const busy = (name: string) =>
      median((runs[name] ?? []).map((run) => (run.cpuPerRequestMs * run.requests) / 1000 / run.seconds));
    const cells = names.map(
      (name) => `${rate(name).toFixed(0)}, ${cpu(name).toFixed(0)} µs, ${(100 * busy(name)).toFixed(0)}%`,
    );
    console.log(
      `| ${workload} | ${cells.join(' | ')} | ${(rate('on') / rate('off')).toFixed(3)} | ${(cpu('on') / cpu('off')).toFixed(3)} |${BEFORE ? ` ${(cpu('on') / cpu('before')).toFixed(3)} |` : ''}`,
    );
  }
  const metrics = await (await fetch(`${(systems.on as Running).url}/metrics`)).text();
  const executed = metrics
    .split('\n')
    .filter((line) => line.startsWith('graphql_envelop_request{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  console.log(`\nthe "on" gateway's graphql_envelop_request total: ${executed}`);
  await Promise.all([...Object.values(systems), upstream].map((running) => running.stop()));
}

await main();
