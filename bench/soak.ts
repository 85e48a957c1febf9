// Soak benchmark: the real gateway (createGateway over node:http) under mixed
// concurrent load for SOAK_SECONDS (default 60) against a faulty Partner Center
// stand-in in a child process that injects about 5% faults. Every answer is
// checked against the upstream's deterministic data; the report gives
// requests, errors by code, wrong answers, crashes, RSS and latency.
//
//   npm run bench                   SOAK_SECONDS, SOAK_CONCURRENCY, SOAK_ATTEMPT_TIMEOUT_MS, SOAK_BUDGET_MS

import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config/config';
import { createGateway } from '../src/gateway';
import { createLogger } from '../src/observability/logger';
import { createdQualification, customerData, FAULTS, type UpstreamStats, type WireItem } from './faulty-upstream';

const SECONDS = positive('SOAK_SECONDS', 60);
const CONCURRENCY = positive('SOAK_CONCURRENCY', 32);
const ATTEMPT_TIMEOUT_MS = positive('SOAK_ATTEMPT_TIMEOUT_MS', 1_000);
const BUDGET_MS = positive('SOAK_BUDGET_MS', 5_000);
const TOKENS = Array.from({ length: 8 }, (_, n) => `Bearer soak-token-${n}`);
const POOL = Array.from({ length: 2_000 }, (_, n) => `5eed0000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`);
/** Codes a field may fail with when the upstream misbehaves; anything else is counted as unexpected. */
const UPSTREAM_CODES = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_BAD_RESPONSE', 'UPSTREAM_THROTTLED'];

const QUALIFICATION_FIELDS = 'qualification kind vettingStatus vettingReason vettingCreatedDate';
const DOCUMENTS = {
  customers: `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { ${QUALIFICATION_FIELDS} } } }`,
  customer: `query ($id: ID!) { customer(id: $id) { id qualifications { ${QUALIFICATION_FIELDS} } } }`,
  aliases: `query ($id: ID!, $again: ID!) {
    a: customer(id: $id) { id mcaDirectlySigned qualifications { ${QUALIFICATION_FIELDS} } }
    b: customer(id: $again) { id qualifications { ${QUALIFICATION_FIELDS} } }
  }`,
  mutation: `mutation ($input: AddCustomerQualificationInput!) {
    addCustomerQualification(input: $input) { qualification { ${QUALIFICATION_FIELDS} } }
  }`,
};

interface GraphQLError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string };
}
interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLError[];
}

const totals = {
  requests: 0,
  requestsWithErrors: 0,
  fieldErrors: {} as Record<string, number>,
  wrongAnswers: 0,
  wrongSamples: [] as string[],
  unexpectedErrors: [] as string[],
  transportFailures: 0,
  crashes: 0,
  loggedErrors: 0,
  latencies: [] as number[],
};

process.on('uncaughtException', (error) => {
  totals.crashes++;
  console.error('uncaught exception:', error);
});
process.on('unhandledRejection', (error) => {
  totals.crashes++;
  console.error('unhandled rejection:', error);
});

async function main(): Promise<void> {
  const child = fork(fileURLToPath(new URL('./faulty-upstream.ts', import.meta.url)), ['--child'], {
    execArgv: process.execArgv,
    stdio: 'inherit',
  });
  let childExited = false;
  child.on('exit', (code) => {
    childExited = true;
    if (code !== 0) totals.crashes++;
  });
  const upstreamUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('error', reject);
  });

  // The gateway logs one warning per failed attempt; only error lines (unexpected failures) are counted.
  const logger = createLogger({
    level: 'error',
    destination: {
      write: () => {
        totals.loggedErrors++;
      },
    },
  });
  const config = createConfig({
    baseUrl: upstreamUrl,
    attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    requestBudgetMs: BUDGET_MS,
  });
  const gateway = createGateway(config, { logger });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const client = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 });

  const rssStart = process.memoryUsage().rss;
  console.log(
    `soak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, ${TOKENS.length} tokens, attempt timeout ${config.attemptTimeoutMs} ms, budget ${config.requestBudgetMs} ms, upstream faults ${(sum(Object.values(FAULTS)) * 100).toFixed(1)}% of calls`,
  );
  const started = performance.now();
  const end = started + SECONDS * 1_000;
  let rssPeak = rssStart;
  let rssAfterWarmup: number | undefined;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 1_000);
  const progress = setInterval(() => {
    const elapsed = Math.round((performance.now() - started) / 1_000);
    rssAfterWarmup ??= process.memoryUsage().rss;
    console.log(
      `  ${elapsed} s: ${totals.requests} requests, ${totals.wrongAnswers} wrong, rss ${mb(process.memoryUsage().rss)} MB`,
    );
  }, 10_000);

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, vu) => {
      const token = TOKENS[vu % TOKENS.length] as string;
      while (performance.now() < end) await oneRequest(client, url, token);
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1_000;
  clearInterval(sampler);
  clearInterval(progress);
  const rssEnd = process.memoryUsage().rss;

  const upstream = await new Promise<{ stats: UpstreamStats; rss: number }>((resolve) => {
    child.once('message', (message) => resolve(message as { stats: UpstreamStats; rss: number }));
    child.send('stats');
  });
  await closeChild(child, () => childExited);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gateway.dispose();
  await client.close();

  const sorted = totals.latencies.sort((a, b) => a - b);
  const injected = sum(Object.values(upstream.stats.faults));
  const report = {
    seconds: Number(elapsedSeconds.toFixed(1)),
    concurrency: CONCURRENCY,
    requests: totals.requests,
    requestsPerSecond: Math.round(totals.requests / elapsedSeconds),
    gateway: {
      attemptTimeoutMs: config.attemptTimeoutMs,
      requestBudgetMs: config.requestBudgetMs,
      tokens: TOKENS.length,
    },
    requestsWithErrors: totals.requestsWithErrors,
    fieldErrorsByCode: totals.fieldErrors,
    wrongAnswers: totals.wrongAnswers,
    unexpectedErrors: totals.unexpectedErrors.length,
    transportFailures: totals.transportFailures,
    crashes: totals.crashes,
    gatewayErrorLogLines: totals.loggedErrors,
    latencyMs: {
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted.at(-1) ?? 0),
    },
    // The first figure is taken before any load; the second after 10 s, once code is compiled and pools are full.
    rssMB: {
      start: mb(rssStart),
      after10s: rssAfterWarmup === undefined ? null : mb(rssAfterWarmup),
      end: mb(rssEnd),
      peak: mb(rssPeak),
    },
    upstream: {
      calls: upstream.stats.calls,
      callsPerSecond: Math.round(upstream.stats.calls / elapsedSeconds),
      byResource: upstream.stats.byResource,
      injectedFaults: injected,
      injectedFaultPercent: Number(((injected / Math.max(1, upstream.stats.calls)) * 100).toFixed(2)),
      faultsByKind: upstream.stats.faults,
      rssMB: mb(upstream.rss),
    },
  };
  console.log(JSON.stringify(report, null, 2));
  for (const sample of totals.wrongSamples) console.log(`wrong answer: ${sample}`);
  for (const sample of totals.unexpectedErrors.slice(0, 10)) console.log(`unexpected error: ${sample}`);
  const ok = totals.wrongAnswers === 0 && totals.crashes === 0 && totals.transportFailures === 0;
  ok || console.log('soak: FAILED (wrong answers, crashes or transport failures)');
  process.exitCode = ok ? 0 : 1;
}

/** Sends one request of the mix and checks every value and every error in its answer. */
async function oneRequest(client: Agent, url: string, token: string): Promise<void> {
  const roll = Math.random();
  let body: GraphQLBody;
  const started = performance.now();
  let check: (body: GraphQLBody) => void;
  let variables: Record<string, unknown>;
  let query: string;
  if (roll < 0.45) {
    const ids = Array.from({ length: 1 + Math.floor(Math.random() * 25) }, () => spelled(pick(POOL)));
    query = DOCUMENTS.customers;
    variables = { ids };
    check = (answer) => {
      const list = answer.data?.customers;
      if (!Array.isArray(list) || list.length !== ids.length) return wrong('customers list missing or of wrong length');
      for (const [i, id] of ids.entries()) checkCustomer(answer, ['customers', i], list[i], id, true);
    };
  } else if (roll < 0.75) {
    const id = spelled(pick(POOL));
    query = DOCUMENTS.customer;
    variables = { id };
    check = (answer) => checkCustomer(answer, ['customer'], answer.data?.customer ?? null, id, false);
  } else if (roll < 0.95) {
    const id = pick(POOL);
    query = DOCUMENTS.aliases;
    variables = { id, again: `{${id.toUpperCase()}}` };
    check = (answer) => {
      checkCustomer(answer, ['a'], answer.data?.a ?? null, id, true);
      checkCustomer(answer, ['b'], answer.data?.b ?? null, id, false);
    };
  } else {
    const id = pick(POOL);
    const input =
      Math.random() < 0.5
        ? { customerId: id, qualification: 'STATE_OWNED_ENTITY' }
        : { customerId: id, qualification: 'EDUCATION', educationSegment: 'K12', website: 'contoso.edu' };
    query = DOCUMENTS.mutation;
    variables = { input };
    check = (answer) => {
      const payload = answer.data?.addCustomerQualification as { qualification?: unknown } | null | undefined;
      if (!payload) return expectError(answer, ['addCustomerQualification']);
      const wire = input.qualification === 'EDUCATION' ? 'Education' : 'StateOwnedEntity';
      if (
        !isDeepStrictEqual(payload.qualification, expectedQualification(createdQualification({ qualification: wire })))
      ) {
        wrong(`mutation for ${id} answered ${JSON.stringify(payload)}`);
      }
    };
  }

  try {
    const response = await request(url, {
      method: 'POST',
      dispatcher: client,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: token },
      body: JSON.stringify({ query, variables }),
    });
    body = (await response.body.json()) as GraphQLBody;
    if (response.statusCode !== 200) {
      totals.transportFailures++;
      totals.unexpectedErrors.push(`HTTP ${response.statusCode}: ${JSON.stringify(body).slice(0, 300)}`);
      return;
    }
  } catch (error) {
    totals.transportFailures++;
    totals.unexpectedErrors.push(`transport: ${(error as Error).message}`);
    return;
  }
  totals.latencies.push(performance.now() - started);
  totals.requests++;
  if (body.errors?.length) totals.requestsWithErrors++;
  for (const error of body.errors ?? []) {
    const code = error.extensions?.code ?? 'NO_CODE';
    totals.fieldErrors[code] = (totals.fieldErrors[code] ?? 0) + 1;
    if (!UPSTREAM_CODES.includes(code) || !error.path) {
      totals.unexpectedErrors.push(`${code} at ${JSON.stringify(error.path)}: ${error.message}`);
    }
  }
  check(body);
}

/** Checks one customer object at `path` against the upstream's data for `rawId`. */
function checkCustomer(
  answer: GraphQLBody,
  path: Array<string | number>,
  value: unknown,
  rawId: string,
  withMca: boolean,
): void {
  const id = rawId.replace(/[{}]/g, '').toLowerCase();
  if (value === null) {
    expectError(answer, [...path, 'qualifications']);
    return;
  }
  const customer = value as { id?: unknown; mcaDirectlySigned?: unknown; qualifications?: unknown };
  const expected = customerData(id);
  if (customer.id !== id) wrong(`${path.join('.')}: id ${String(customer.id)} for ${id}`);
  if (!isDeepStrictEqual(customer.qualifications, expected.qualifications.map(expectedQualification))) {
    wrong(`${path.join('.')}: qualifications of ${id} were ${JSON.stringify(customer.qualifications)}`);
  }
  if (withMca) {
    if (customer.mcaDirectlySigned === null) expectError(answer, [...path, 'mcaDirectlySigned']);
    else if (customer.mcaDirectlySigned !== expected.mca) wrong(`${path.join('.')}: mcaDirectlySigned of ${id}`);
  }
}

/** The GraphQL value the gateway must give for a wire qualification (an independent copy of the mapping in README "Example queries" and src/domain/qualification.ts). */
function expectedQualification(item: WireItem): Record<string, unknown> {
  const kinds: Record<string, string> = {
    Education: 'EDUCATION',
    Nonprofit: 'NONPROFIT',
    GovernmentCommunityCloud: 'GOVERNMENT_COMMUNITY_CLOUD',
    StateOwnedEntity: 'STATE_OWNED_ENTITY',
  };
  const statuses: Record<string, string> = { Approved: 'APPROVED', InReview: 'IN_REVIEW', Denied: 'DENIED' };
  const status = item.vettingStatus;
  const date = item.vettingCreatedDate ?? item.vettingCreateDate;
  return {
    qualification: item.qualification,
    kind: kinds[item.qualification as string] ?? 'OTHER',
    vettingStatus: status === undefined ? null : (statuses[status] ?? 'UNKNOWN'),
    vettingReason: item.vettingReason ?? null,
    // Seven fractional digits are cut to milliseconds; the offset is folded into UTC.
    vettingCreatedDate: date === undefined ? null : new Date(date.replace(/(\.\d{3})\d+/, '$1')).toISOString(),
  };
}

function expectError(answer: GraphQLBody, path: Array<string | number>): void {
  const found = answer.errors?.some((error) => isDeepStrictEqual(error.path, path));
  if (!found) wrong(`null at ${path.join('.')} without an error there: ${JSON.stringify(answer.errors ?? [])}`);
}

function wrong(what: string): void {
  totals.wrongAnswers++;
  if (totals.wrongSamples.length < 10) totals.wrongSamples.push(what);
}

/** The id as a client might send it: canonical, upper case or in braces. */
function spelled(id: string): string {
  const roll = Math.random();
  if (roll < 0.15) return id.toUpperCase();
  if (roll < 0.2) return `{${id}}`;
  return id;
}

async function closeChild(child: ChildProcess, exited: () => boolean): Promise<void> {
  if (exited()) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve();
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send('close');
  });
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return value;
}

await main();
