// Quota benchmark: 20 users of one partner tenant, each refreshing a
// 100-customer dashboard every 30 s for 10 simulated minutes, through 2
// gateway replicas, against a loopback Partner Center stand-in that enforces
// 500 calls a minute per tenant (429 with Retry-After: 60 past it).
// Configurations side by side in one run: the defaults (coalescing and
// per-customer windows), and cache + pacing + Redis with two cache lifetimes.
//
//   npm run bench:quota              [--scale 12]  time compression (simulated seconds per real second)

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config/config';
import { createGateway, type GatewayDeps } from '../src/gateway';
import { silentLogger } from '../src/observability/logger';
import { startRedis } from '../test/support/redis-server';

const scaleArg = process.argv.indexOf('--scale');
/**
 * Simulated seconds per real second: 12 runs 10 simulated minutes in 50 s per configuration. It must divide 60
 * (Retry-After is whole seconds) and 300. More compression makes the gateway's own CPU time weigh more against the
 * compressed budget (20 s simulated), and a loaded machine then shows failures that are not the quota's.
 */
const SCALE = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 12;
const sim = (ms: number) => Math.round(ms / SCALE);

const USERS = 20;
const CUSTOMERS = 100;
const REFRESH_MS = sim(30_000);
const DURATION_MS = sim(600_000);
const QUOTA = 500;
const QUOTA_WINDOW_MS = sim(60_000);
const RETRY_AFTER_SECONDS = 60 / SCALE;
const LATENCY_MS = sim(100);
const TENANT = '7e4a0c1d-5b1f-4c3e-9a57-2f0d4c8b9e61';

/** One delegated token for the tenant's dashboard, held by its backend and used for all 20 users' refreshes. */
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const TOKEN = `Bearer ${part({ alg: 'RS256' })}.${part({ tid: TENANT, scp: 'user_impersonation' })}.c2ln`;
const IDS = Array.from(
  { length: CUSTOMERS },
  (_, n) => `b0000000-0000-4000-8000-${(n + 1).toString(16).padStart(12, '0')}`,
);
const DASHBOARD = `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind vettingStatus } } }`;

interface StandIn {
  url: string;
  calls: number;
  throttled: number;
  close(): Promise<void>;
}

/** Partner Center as far as the quota goes: 500 calls in any (compressed) minute per tenant, then 429s. */
async function startStandIn(): Promise<StandIn> {
  const accepted = new Map<string, number[]>();
  const state = { calls: 0, throttled: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    state.calls++;
    const claims = String(req.headers.authorization).split('.')[1] ?? '';
    const tenant = String(JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')).tid);
    const now = Date.now();
    const log = (accepted.get(tenant) ?? []).filter((at) => at > now - QUOTA_WINDOW_MS);
    accepted.set(tenant, log);
    if (log.length >= QUOTA) {
      state.throttled++;
      const body = JSON.stringify({ statusCode: 429, message: 'Rate limit is exceeded. Try again in 60 seconds.' });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_SECONDS) });
      res.end(body);
      return;
    }
    log.push(now);
    setTimeout(() => {
      const body = req.url?.endsWith('/qualifications')
        ? JSON.stringify([{ qualification: 'Education', vettingStatus: 'Approved' }])
        : JSON.stringify({ isSigned: true });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    }, LATENCY_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return state.calls;
    },
    get throttled() {
      return state.throttled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Setup {
  name: string;
  settings: Record<string, number | string | undefined>;
  deps: GatewayDeps;
  redis?: boolean;
}

interface Result {
  name: string;
  upstreamCalls: number;
  received429: number;
  refreshes: number;
  failedFields: number;
  p50: number;
  p99: number;
}

async function run(setup: Setup): Promise<Result> {
  const standIn = await startStandIn();
  const redis = setup.redis ? await startRedis() : undefined;
  const replicas = await Promise.all(
    [0, 1].map(async () => {
      const config = createConfig({
        baseUrl: standIn.url,
        attemptTimeoutMs: sim(8_000),
        requestBudgetMs: sim(20_000),
        ...setup.settings,
        redisUrl: redis?.url,
      });
      const gateway = createGateway(config, { logger: silentLogger, retryBaseDelayMs: sim(200), ...setup.deps });
      const server = createServer(gateway);
      // Longer than the client's keep-alive, so the server never closes a socket the client is about to reuse.
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { gateway, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` };
    }),
  );
  // Let the replicas connect to Redis before the first refresh.
  if (redis) await new Promise((resolve) => setTimeout(resolve, 300));
  const client = new Agent({ connections: 64 });
  const latencies: number[] = [];
  let failedFields = 0;
  let turn = 0;

  const refresh = async () => {
    const replica = replicas[turn++ % replicas.length];
    if (!replica) return;
    const started = performance.now();
    const response = await request(replica.url, {
      method: 'POST',
      dispatcher: client,
      headers: { 'content-type': 'application/json', authorization: TOKEN },
      body: JSON.stringify({ query: DASHBOARD, variables: { ids: IDS } }),
    });
    const body = (await response.body.json()) as { errors?: unknown[] };
    latencies.push(performance.now() - started);
    failedFields += body.errors?.length ?? 0;
  };

  // Each user refreshes every 30 s (simulated) from a phase of its own, as dashboards opened at different times do.
  const started = Date.now();
  const pending: Array<Promise<void>> = [];
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      const phase = (REFRESH_MS * user) / USERS;
      for (let at = phase; at < DURATION_MS; at += REFRESH_MS) {
        const wait = started + at - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        // A refresh that gets no HTTP answer at all is left out of "refreshes" (400 expected) and named on stderr.
        pending.push(refresh().catch((error: unknown) => void console.error(`refresh failed: ${error}`)));
      }
    }),
  );
  await Promise.all(pending);

  const result: Result = {
    name: setup.name,
    upstreamCalls: standIn.calls,
    received429: standIn.throttled,
    refreshes: latencies.length,
    failedFields,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
  await client.close();
  for (const replica of replicas) {
    replica.server.closeAllConnections();
    await new Promise<void>((resolve) => replica.server.close(() => resolve()));
    await replica.gateway.dispose();
  }
  await standIn.close();
  await redis?.stop();
  return result;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const setups: Setup[] = [
    { name: 'coalescing + windows (defaults)', settings: {}, deps: {} },
    // 450 calls a minute leaves Partner Center's 500 some headroom; the cache keeps answers 5 or 10 minutes.
    ...[300, 600].map(
      (ttl): Setup => ({
        name: `cache ${ttl / 60} min + pacing 450/min + Redis`,
        settings: { cacheTtlSeconds: Math.round(ttl / SCALE), ratePerMinute: 450 },
        deps: { quota: { pacingWindowMs: sim(60_000) } },
        redis: true,
      }),
    ),
  ];
  console.log(
    `${USERS} users x ${CUSTOMERS}-customer dashboard every 30 s, 10 simulated minutes (x${SCALE} compressed), 2 replicas, quota ${QUOTA}/min/tenant`,
  );
  const results: Result[] = [];
  for (const setup of setups) {
    const result = await run(setup);
    results.push(result);
    console.log(JSON.stringify(result));
  }
  // Latencies are real milliseconds: upstream latency and waits are compressed, the gateway's own CPU time is not.
  console.log(
    '\n| configuration | upstream calls | against the defaults | 429s received | fields failed | refreshes | p50 refresh | p99 refresh |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const defaults = results[0]?.upstreamCalls ?? 0;
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.upstreamCalls} | ${(defaults / r.upstreamCalls).toFixed(1)}x fewer | ${r.received429} | ${r.failedFields} | ${r.refreshes} | ${r.p50.toFixed(0)} ms | ${r.p99.toFixed(0)} ms |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
