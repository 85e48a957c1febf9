// What logging and metrics cost per request: the same gateway code served
// twice side by side, once with a log line per request (pino at info, written
// to /dev/null through a real file descriptor) and Prometheus metrics, once
// with both off. Closed-loop clients, rounds interleaved (alternating which
// goes first), medians of requests per second compared as a ratio.
//
//   npm run bench:observability    (BENCH_ROUNDS 12, BENCH_SECONDS 2, BENCH_CONCURRENCY 16)

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config';
import { createGateway } from '../src/gateway';
import { createLogger } from '../src/logger';
import { startSimulator } from '../src/partner-center/simulator';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TOKEN = 'Bearer bench-token';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const WORKLOADS = {
  // The cheapest request that still calls Partner Center: the per-request overhead shows most here.
  'one customer, one call': `{ customer(id: "${id(1)}") { qualifications { kind } } }`,
  // A dashboard slice: 10 customers, both resources, 20 upstream calls.
  'ten customers, 20 calls': `{ customers(ids: [${Array.from({ length: 10 }, (_, n) => `"${id(n + 1)}"`).join(', ')}]) { qualifications { kind vettingStatus } mcaDirectlySigned } }`,
};

async function serve(observed: boolean, baseUrl: string) {
  const gateway = createGateway(createConfig({ baseUrl, metrics: observed }), {
    logger: observed
      ? createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) })
      : undefined,
  });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server, gateway };
}

/** Requests per second, and CPU microseconds this process spent per request (gateway, simulator and clients alike). */
async function throughput(url: string, query: string, agent: Agent): Promise<{ rate: number; cpu: number }> {
  const body = JSON.stringify({ query });
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  const client = async () => {
    while (performance.now() < until) {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: TOKEN },
        body,
        dispatcher: agent,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`unexpected answer: ${text}`);
      done++;
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const cpu = process.cpuUsage(cpuBefore);
  return { rate: done / ((performance.now() - started) / 1000), cpu: (cpu.user + cpu.system) / done };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const simulator = await startSimulator({ maxRecorded: 100 });
  const on = await serve(true, simulator.url);
  const off = await serve(false, simulator.url);
  const agent = new Agent({ connections: CONCURRENCY });
  console.log(`${ROUNDS} rounds of ${SECONDS} s, ${CONCURRENCY} clients, medians (Node ${process.version}):`);
  console.log('| workload | logging + metrics on | both off | throughput on / off | CPU per request on / off |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, query] of Object.entries(WORKLOADS)) {
    // Warm both (JIT, connection pools) before measuring.
    await throughput(on.url, query, agent);
    await throughput(off.url, query, agent);
    const runs = { on: [] as Array<{ rate: number; cpu: number }>, off: [] as Array<{ rate: number; cpu: number }> };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const which of order) runs[which].push(await throughput((which === 'on' ? on : off).url, query, agent));
    }
    const rate = (which: 'on' | 'off') => median(runs[which].map((run) => run.rate));
    const cpu = (which: 'on' | 'off') => median(runs[which].map((run) => run.cpu));
    console.log(
      `| ${name} | ${rate('on').toFixed(0)} req/s, ${cpu('on').toFixed(0)} µs CPU | ${rate('off').toFixed(0)} req/s, ${cpu('off').toFixed(0)} µs CPU | ${(rate('on') / rate('off')).toFixed(3)} | ${(cpu('on') / cpu('off')).toFixed(3)} |`,
    );
  }
  await agent.close();
  for (const running of [on, off]) {
    running.server.closeAllConnections();
    running.server.close();
    await running.gateway.dispose();
  }
  await simulator.close();
}

await main();
