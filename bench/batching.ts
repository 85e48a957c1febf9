// Batching benchmark: what one GraphQL request through the gateway costs
// against a frontend calling Partner Center's REST API per field itself, side
// by side in one run (rounds interleaved, medians compared as ratios), against
// the built-in simulator with a fixed upstream latency.
//
//   npm run bench:batching        (BENCH_ROUNDS, BENCH_LATENCY_MS to change)

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config/config';
import { createGateway } from '../src/gateway';
import { startSimulator } from '../src/simulator/simulator';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const DISTINCT = 50;
const TOKEN = 'Bearer bench-token';

// 100 customer references over 50 distinct customers (each named twice, once in upper case), both resources.
const ids = Array.from({ length: DISTINCT }, (_, n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`);
const references = [...ids, ...ids.map((id) => id.toUpperCase())];
const query = `{ ${references
  .map((id, n) => `c${n}: customer(id: "${id}") { id mcaDirectlySigned qualifications { kind vettingStatus } }`)
  .join('\n')} }`;

async function main(): Promise<void> {
  const simulator = await startSimulator({ latencyMs: LATENCY_MS });
  const gateway = createGateway(createConfig({ baseUrl: simulator.url }));
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const direct = new Agent({ connections: 128 });

  // Through the gateway: one GraphQL request.
  const viaGateway = async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: TOKEN },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(`gateway answered errors: ${JSON.stringify(body.errors).slice(0, 200)}`);
  };

  // The frontend's alternative: one REST call per field it shows, 32 at a time (the gateway's per-token bound).
  const viaRest = async () => {
    const paths = references.flatMap((id) => [
      `/v1/customers/${id}/qualifications`,
      `/v1/customers/${id}/directSignedMicrosoftCustomerAgreementStatus`,
    ]);
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const path = paths[next++] as string;
        const response = await request(`${simulator.url}${path}`, {
          dispatcher: direct,
          headers: { authorization: TOKEN, accept: 'application/json' },
        });
        await response.body.json();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  };

  const measure = async (run: () => Promise<void>) => {
    const before = simulator.requests.length;
    const started = performance.now();
    await run();
    return { ms: performance.now() - started, calls: simulator.requests.length - before };
  };

  await viaGateway();
  await viaRest(); // warm both paths' connections
  const gatewayRuns: Array<{ ms: number; calls: number }> = [];
  const restRuns: Array<{ ms: number; calls: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first so drift on a noisy machine hits both alike.
    if (round % 2 === 0) {
      gatewayRuns.push(await measure(viaGateway));
      restRuns.push(await measure(viaRest));
    } else {
      restRuns.push(await measure(viaRest));
      gatewayRuns.push(await measure(viaGateway));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const g = median(gatewayRuns.map((r) => r.ms));
  const r = median(restRuns.map((r) => r.ms));
  console.log(
    `rounds ${ROUNDS}, upstream latency ${LATENCY_MS} ms, ${references.length} references to ${DISTINCT} customers`,
  );
  console.log(`gateway:  ${gatewayRuns[0]?.calls} upstream calls per request, median ${g.toFixed(1)} ms`);
  console.log(`REST:     ${restRuns[0]?.calls} upstream calls per page view, median ${r.toFixed(1)} ms`);
  console.log(
    `ratio:    calls ${((restRuns[0]?.calls ?? 0) / (gatewayRuns[0]?.calls ?? 1)).toFixed(2)}x fewer, time ${(r / g).toFixed(2)}x faster through the gateway`,
  );

  server.closeAllConnections();
  server.close();
  await Promise.all([gateway.dispose(), direct.close(), simulator.close()]);
}

void main();
