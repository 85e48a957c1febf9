// Chaos benchmark: a tenant's dashboards through two replicas that share a
// real redis-server through the loopback fault proxy, with and without Redis
// faults. 20 users of one partner tenant, each with a token of its own (its
// `tid` names the tenant), refresh a 25-customer page (qualifications and MCA
// status) every 30 s; their refreshes alternate between the two replicas, as a
// round-robin balancer sends them. The Partner Center stand-in answers each
// customer deterministically, fails 5% of calls (503 or a reset connection,
// from a seeded PRNG) and enforces 500 calls a minute per tenant (429 with
// Retry-After past it). Time is compressed by K (BENCH_COMPRESSION): the
// refresh interval, the run, upstream latency, the cache TTL and the retry
// backoff are divided by K, and the per-minute rates (the stand-in's quota,
// PARTNER_CENTER_RATE_PER_MINUTE) multiplied by it, over a real 60 s. The
// attempt timeout, the request budget and the Redis command bound keep their
// defaults (8 s, 20 s, 50 ms): the gateway's CPU time is not compressed, and a
// budget of 1 s let a slow first minute fail fields, which are not cached, so
// the next refreshes fetched again and the run never recovered.
// The two replicas and their users run in this process; the redis-server, the
// fault proxy and the stand-in in a child process (the harness), so that what
// pauses this process (its garbage collection) is the gateway's own. Two runs
// with the same seed and schedule, one after the other, reported side by side:
//   (a) no Redis faults;
//   (b) a Redis blip every BENCH_BLIP_SECONDS (alternately an 80 ms stall, a
//       100 ms delay on the next 5 commands, a reset connection) and one real
//       redis-server restart (all data lost) in the middle of the run.
// Every field of every answer is checked against what the stand-in answers for
// that customer.
//
//   npm run bench:chaos   BENCH_COMPRESSION (20), BENCH_MINUTES (10, compressed), BENCH_SEED (1),
//                         BENCH_BLIP_SECONDS (3, real), BENCH_RESTART_MINUTE (half of BENCH_MINUTES)

import { type ChildProcess, fork } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { GatewayEvents } from '../src/observability/events';
import { type FaultProxy, startFaultProxy } from '../test/support/fault-proxy';
import { customerId, type GraphQLResponse, type RunningGateway, startGateway } from '../test/support/gateway';
import { type CapturedLogs, captureLogs } from '../test/support/logs';
import { jwt, TENANT_A } from '../test/support/quota';
import { type RedisServer, startRedis } from '../test/support/redis-server';
import { json, type RecordedCall, startUpstream, type Upstream } from '../test/support/upstream';

const K = Number(process.env.BENCH_COMPRESSION ?? 20);
const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const BLIP_MS = Number(process.env.BENCH_BLIP_SECONDS ?? 3) * 1_000;
const RESTART_MINUTE = Number(process.env.BENCH_RESTART_MINUTE ?? MINUTES / 2);
/** Simulated milliseconds to real ones. */
const sim = (ms: number) => Math.round(ms / K);

const USERS = 20;
const PAGE = 25;
const ROSTER = 200;
const REFRESH_MS = sim(30_000);
const DURATION_MS = sim(MINUTES * 60_000);
const RESTART_AT_MS = sim(RESTART_MINUTE * 60_000);
const LATENCY_MS = sim(100);
const FAULT_RATE = 0.05;
/** The stand-in's quota and the gateway's pacing: per-minute rates times K, over a real 60 s. */
const QUOTA = 500 * K;
const QUOTA_WINDOW_MS = 60_000;
const RATE_PER_MINUTE = 450 * K;
const CACHE_TTL_SECONDS = Math.max(1, Math.round(300 / K));

const UNREACHABLE = 'Redis is unreachable: shared state is local to this process until it is back';
const BACK = 'Redis is reachable again: shared state is shared again';
/** The codes the stand-in's own faults and quota can cause. */
const UPSTREAM_CODES = new Set(['UPSTREAM_THROTTLED', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT']);
/** The warm-up: refreshes sent over this long, before either run. */
const WARM_UP_REFRESHES = 120;
const WARM_UP_MS = 3_000;
/** A blip's calls are counted from its start until this long after its end (the command bound and a reconnection). */
const BLIP_TAIL_MS = 300;

const PAGE_QUERY =
  'query Page($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind qualification vettingStatus } } }';

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness: the same seed gives both runs the same pages and the same fault for the same call.

/** FNV-1a of `text`, mixed with the seed. */
function hash(text: string): number {
  let h = (2166136261 ^ SEED) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each user's page: 25 distinct customers of the roster of 200, the same in both runs. */
const PAGES: number[][] = Array.from({ length: USERS }, (_, user) => {
  const random = prng(hash(`page:${user}`));
  const page = new Set<number>();
  while (page.size < PAGE) page.add(1 + Math.floor(random() * ROSTER));
  return [...page];
});
const TOKENS = Array.from({ length: USERS }, (_, user) =>
  jwt({ tid: TENANT_A, oid: `00000000-0000-4000-a000-${String(user + 1).padStart(12, '0')}`, name: `User ${user}` }),
);

// ---------------------------------------------------------------------------------------------------------------
// What the stand-in answers for customer n, and the same in the gateway's terms (an independent mapping).

interface WireQualification {
  qualification: string;
  vettingStatus?: string;
}

function wireQualifications(n: number): WireQualification[] {
  const list: WireQualification[] = [];
  if (n % 4 !== 0) list.push({ qualification: 'Education', vettingStatus: ['Approved', 'InReview', 'Denied'][n % 3] });
  if (n % 5 === 0) list.push({ qualification: 'StateOwnedEntity' });
  if (n % 7 === 0) list.push({ qualification: 'Nonprofit', vettingStatus: 'Approved' });
  if (n % 11 === 0) list.push({ qualification: 'GovernmentCommunityCloud', vettingStatus: 'Escalated' });
  if (n % 13 === 0) list.push({ qualification: 'FutureProgramme', vettingStatus: 'InReview' });
  return list;
}
const signed = (n: number) => n % 3 !== 1;

const KINDS: Record<string, string> = {
  Education: 'EDUCATION',
  StateOwnedEntity: 'STATE_OWNED_ENTITY',
  Nonprofit: 'NONPROFIT',
  GovernmentCommunityCloud: 'GOVERNMENT_COMMUNITY_CLOUD',
};
const STATUSES: Record<string, string> = { Approved: 'APPROVED', InReview: 'IN_REVIEW', Denied: 'DENIED' };

function expectedQualifications(n: number) {
  return wireQualifications(n).map((q) => ({
    kind: KINDS[q.qualification] ?? 'OTHER',
    qualification: q.qualification,
    vettingStatus: q.vettingStatus === undefined ? null : (STATUSES[q.vettingStatus] ?? 'UNKNOWN'),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The Partner Center stand-in.

interface StandIn {
  upstream: Upstream;
  /** Arrival times (epoch ms) of every call, throttled ones included. */
  readonly arrivals: number[];
  readonly counts: { calls: number; throttled: number; unavailable: number; resets: number };
}

const tenantOf = (authorization: unknown) => {
  const claims = String(authorization).split('.')[1] ?? '';
  try {
    return String(JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')).tid);
  } catch {
    return 'none';
  }
};

async function startStandIn(): Promise<StandIn> {
  const arrivals: number[] = [];
  const counts = { calls: 0, throttled: 0, unavailable: 0, resets: 0 };
  /** Accepted calls per tenant, oldest first, with the index of the first one still in the window. */
  const logs = new Map<string, { at: number[]; head: number }>();
  /** Calls seen per (resource, customer): the nth call of a key gets the nth number of that key's own sequence. */
  const seen = new Map<string, number>();

  const handler = async (call: RecordedCall, res: ServerResponse) => {
    const now = Date.now();
    counts.calls++;
    arrivals.push(now);
    const tenant = tenantOf(call.headers.authorization);
    const log = logs.get(tenant) ?? { at: [], head: 0 };
    logs.set(tenant, log);
    while (log.head < log.at.length && (log.at[log.head] as number) <= now - QUOTA_WINDOW_MS) log.head++;
    if (log.at.length - log.head >= QUOTA) {
      counts.throttled++;
      const retryAfter = Math.max(1, Math.ceil(((log.at[log.head] as number) + QUOTA_WINDOW_MS - now) / 1_000));
      return json(
        res,
        429,
        { statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfter} seconds.` },
        { 'retry-after': String(retryAfter) },
      );
    }
    log.at.push(now);
    const key = `${call.resource}:${call.customerId}`;
    const nth = (seen.get(key) ?? 0) + 1;
    seen.set(key, nth);
    const roll = prng(hash(`${key}:${nth}`))();
    if (roll < FAULT_RATE / 2) {
      counts.unavailable++;
      return json(res, 503, { code: 503, description: 'Service unavailable' });
    }
    if (roll < FAULT_RATE) {
      counts.resets++;
      res.socket?.resetAndDestroy();
      return;
    }
    await sleep(LATENCY_MS);
    const n = Number.parseInt((call.customerId ?? '').slice(-12), 16);
    if (call.method !== 'GET' || !(n >= 1 && n <= ROSTER)) {
      return json(res, 404, { code: 600008, description: 'Not found', data: [], source: 'PartnerFD' });
    }
    if (call.resource === 'qualifications') return json(res, 200, wireQualifications(n));
    if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus')
      return json(res, 200, { isSigned: signed(n) });
    return json(res, 404, { code: 600008, description: 'Not found', data: [], source: 'PartnerFD' });
  };
  const upstream = await startUpstream(handler);
  return { upstream, arrivals, counts };
}

// ---------------------------------------------------------------------------------------------------------------
// Checking an answer.

type Body = GraphQLResponse['body'];

/** Field values that differ from the stand-in's data, or nulls without an error at or below their path. */
function wrongValues(body: Body, page: number[]): number {
  const errorPaths = (body.errors ?? []).map((error) => (error.path ?? []).join('.'));
  const explained = (path: Array<string | number>) => {
    const prefix = path.join('.');
    return errorPaths.some((p) => p === prefix || p.startsWith(`${prefix}.`));
  };
  const customers = (body.data as { customers?: unknown } | null | undefined)?.customers;
  if (customers === null || customers === undefined) return explained(['customers']) ? 0 : 1;
  if (!Array.isArray(customers) || customers.length !== page.length) return 1;
  let wrong = 0;
  page.forEach((n, i) => {
    const item = customers[i] as Record<string, unknown> | null;
    if (item === null) {
      if (!explained(['customers', i])) wrong++;
      return;
    }
    if (item.id !== customerId(n)) wrong++;
    if (item.mcaDirectlySigned === null) {
      if (!explained(['customers', i, 'mcaDirectlySigned'])) wrong++;
    } else if (item.mcaDirectlySigned !== signed(n)) wrong++;
    if (item.qualifications === null) {
      if (!explained(['customers', i, 'qualifications'])) wrong++;
    } else if (JSON.stringify(item.qualifications) !== JSON.stringify(expectedQualifications(n))) wrong++;
  });
  return wrong;
}

// ---------------------------------------------------------------------------------------------------------------
// One run: a redis-server, the fault proxy in front of it, two replicas, the stand-in.

interface Fault {
  kind: 'stall 80 ms' | 'delay 100 ms x 5 commands' | 'connection reset' | 'redis-server restart';
  at: number;
  end: number;
}

interface Setup {
  name: string;
  faults: boolean;
  harness: Harness;
  replicas: RunningGateway[];
  logs: CapturedLogs[];
  lookups: { hit: number; miss: number; coalesced: number; window: number; pacing: number };
}

interface Result {
  name: string;
  requests: number;
  transportFailures: number;
  wrongAnswers: number;
  requestsWithErrors: number;
  errorsByCode: Record<string, number>;
  upstreamCalls: number;
  received429: number;
  injected503: number;
  injectedResets: number;
  unreachable: number[];
  back: number[];
  p50: number;
  p99: number;
  lookups: Setup['lookups'];
  faults: Fault[];
  arrivals: number[];
}

function counters(into: Setup['lookups']): GatewayEvents {
  return {
    upstreamAttempt: () => undefined,
    cacheLookup: (_resource, result) => void into[result]++,
    throttled: (reason) => void into[reason]++,
    tokenRequest: () => undefined,
    customerChange: () => undefined,
    callerAuth: () => undefined,
    syncCall: () => undefined,
  };
}

async function setUp(harness: Harness, name: string, faults: boolean): Promise<Setup> {
  const { redisUrl, upstreamUrl } = (await harness.ask({ op: 'start' })) as { redisUrl: string; upstreamUrl: string };
  const logs = [captureLogs('info'), captureLogs('info')];
  const lookups = { hit: 0, miss: 0, coalesced: 0, window: 0, pacing: 0 };
  const events = counters(lookups);
  const replicas = await Promise.all(
    logs.map((log) =>
      startGateway(
        upstreamUrl,
        { redisUrl, cacheTtlSeconds: CACHE_TTL_SECONDS, ratePerMinute: RATE_PER_MINUTE },
        // The attempt timeout, request budget and Redis command bound are left at their defaults (8 s, 20 s, 50 ms).
        { logger: log.logger, events, retryBaseDelayMs: sim(200) },
      ),
    ),
  );
  // Both replicas connected to Redis (through the proxy) before the first refresh.
  for (let i = 0; i < 200 && Number(await harness.ask({ op: 'connections' })) < replicas.length; i++) await sleep(25);
  await sleep(250);
  return { name, faults, harness, replicas, logs, lookups };
}

/** Blips every BLIP_MS and the restart at RESTART_AT_MS, from `started`; resolves when the last has ended. */
async function injectFaults(setup: Setup, started: number, record: Fault[]): Promise<void> {
  const { harness } = setup;
  const at = (ms: number) => sleep(Math.max(0, started + ms - Date.now()));
  const plan: Array<{ ms: number; restart: boolean }> = [];
  // Every BLIP_MS, give or take a quarter of it (seeded), so blips do not fall in step with the refreshes.
  const jitter = prng(hash('blips'));
  for (let base = BLIP_MS; base < DURATION_MS - 500; base += BLIP_MS) {
    const ms = Math.round(base + (jitter() - 0.5) * (BLIP_MS / 2));
    // No blip within a second and a half of the restart: the restart is one outage of its own.
    if (Math.abs(ms - RESTART_AT_MS) >= 1_500 && ms < DURATION_MS - 500) plan.push({ ms, restart: false });
  }
  if (RESTART_AT_MS < DURATION_MS) plan.push({ ms: RESTART_AT_MS, restart: true });
  plan.sort((a, b) => a.ms - b.ms);
  const blips = ['stall 80 ms', 'delay 100 ms x 5 commands', 'connection reset'] as const;
  let next = 0;
  const pending: Array<Promise<unknown>> = [];
  for (const step of plan) {
    await at(step.ms);
    const fault: Fault = {
      kind: step.restart ? 'redis-server restart' : (blips[next++ % blips.length] as Fault['kind']),
      at: Date.now(),
      end: Date.now(),
    };
    record.push(fault);
    const op = { 'stall 80 ms': 'stall', 'delay 100 ms x 5 commands': 'delay', 'connection reset': 'reset' } as const;
    const done = harness.ask({ op: fault.kind === 'redis-server restart' ? 'restart' : op[fault.kind] }).then(() => {
      fault.end = Date.now();
    });
    pending.push(done);
  }
  // A delay waits for 5 commands to come; at the end of a run they may not: it is not waited for past 3 s.
  await Promise.race([Promise.all(pending), sleep(3_000)]);
}

async function run(setup: Setup): Promise<Result> {
  const started = Date.now() + 100;
  const latencies: number[] = [];
  const errorsByCode: Record<string, number> = {};
  const faults: Fault[] = [];
  let transportFailures = 0;
  let wrongAnswers = 0;
  let requestsWithErrors = 0;

  const refresh = async (user: number, nth: number) => {
    const page = PAGES[user] as number[];
    const replica = setup.replicas[(user + nth) % setup.replicas.length] as RunningGateway;
    const ids = page.map((n) => customerId(n));
    const begun = performance.now();
    let response: GraphQLResponse;
    try {
      response = await replica.query(PAGE_QUERY, { ids }, { authorization: TOKENS[user] as string });
    } catch (error) {
      transportFailures++;
      console.error(`${setup.name}: a refresh got no answer: ${error}`);
      return;
    }
    latencies.push(performance.now() - begun);
    if (response.status !== 200) transportFailures++;
    const errors = response.body.errors ?? [];
    if (errors.length > 0) requestsWithErrors++;
    for (const error of errors) {
      const code = String(error.extensions?.code ?? 'NO_CODE');
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
    }
    wrongAnswers += wrongValues(response.body, page);
  };

  const chaos = setup.faults ? injectFaults(setup, started, faults) : Promise.resolve();
  const pending: Array<Promise<void>> = [];
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      // Each user from a phase of its own, as dashboards opened at different times are.
      const phase = (REFRESH_MS * user) / USERS;
      for (let nth = 0, at = phase; at < DURATION_MS; nth++, at += REFRESH_MS) {
        const wait = started + at - Date.now();
        if (wait > 0) await sleep(wait);
        pending.push(refresh(user, nth));
      }
    }),
  );
  await Promise.all(pending);
  await chaos;
  // Write backs and recovery lines after the last fault have had their time.
  await sleep(500);

  const { counts, arrivals } = (await setup.harness.ask({ op: 'report' })) as Pick<StandIn, 'counts' | 'arrivals'>;
  return {
    name: setup.name,
    requests: latencies.length,
    transportFailures,
    wrongAnswers,
    requestsWithErrors,
    errorsByCode,
    upstreamCalls: counts.calls,
    received429: counts.throttled,
    injected503: counts.unavailable,
    injectedResets: counts.resets,
    unreachable: setup.logs.map((log) => log.withMessage(UNREACHABLE).length),
    back: setup.logs.map((log) => log.withMessage(BACK).length),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    lookups: setup.lookups,
    // From here on, times are milliseconds since the run's start.
    faults: faults.map((fault) => ({ ...fault, at: fault.at - started, end: fault.end - started })),
    arrivals: arrivals.map((at) => at - started),
  };
}

/**
 * Warms the code paths up (gateway, ioredis, the proxy, the stand-in) on a setup of its own, with tokens and pages of
 * its own, so neither measured run pays the JIT: cold, the first minute's uncached refreshes (each 50 calls) took
 * seconds, and run (a) paid that and (b) did not.
 */
async function warmUp(harness: Harness): Promise<void> {
  const setup = await setUp(harness, 'warm-up', false);
  const random = prng(hash('warm-up'));
  const pending: Array<Promise<unknown>> = [];
  try {
    for (let i = 0; i < WARM_UP_REFRESHES; i++) {
      const ids = Array.from({ length: PAGE }, () => customerId(1 + Math.floor(random() * ROSTER)));
      const token = jwt({ tid: TENANT_A, oid: `warm-up-${i % USERS}` });
      pending.push((setup.replicas[i % 2] as RunningGateway).query(PAGE_QUERY, { ids }, { authorization: token }));
      await sleep(WARM_UP_MS / WARM_UP_REFRESHES);
    }
    await Promise.allSettled(pending);
  } finally {
    await tearDown(setup);
  }
}

async function tearDown(setup: Setup): Promise<void> {
  for (const replica of setup.replicas) await replica.close();
  await setup.harness.ask({ op: 'stop' });
}

// ---------------------------------------------------------------------------------------------------------------
// The harness: redis-server, the fault proxy and the stand-in, in a child process, driven over IPC.

type HarnessOp = 'start' | 'connections' | 'stall' | 'delay' | 'reset' | 'restart' | 'report' | 'stop';

interface Harness {
  ask(message: { op: HarnessOp }): Promise<unknown>;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, BENCH_ROLE: 'harness' },
  });
  const waiting = new Map<number, (value: unknown) => void>();
  let next = 0;
  child.on('message', (message: { id: number; value: unknown }) => {
    waiting.get(message.id)?.(message.value);
    waiting.delete(message.id);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    ask: (message) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        child.send({ id, ...message });
      }),
    async close() {
      child.disconnect();
      await exited;
    },
  };
}

/** The child's side: one redis-server, proxy and stand-in at a time, each fault done when the parent asks. */
function serveHarness(): void {
  let current: { redis: RedisServer; proxy: FaultProxy; standIn: StandIn } | undefined;
  const act = async (op: HarnessOp): Promise<unknown> => {
    if (op === 'start') {
      const redis = await startRedis();
      const proxy = await startFaultProxy({ port: redis.port });
      const standIn = await startStandIn();
      current = { redis, proxy, standIn };
      return { redisUrl: proxy.url, upstreamUrl: standIn.upstream.url };
    }
    if (!current) throw new Error(`harness: ${op} before start`);
    const { redis, proxy, standIn } = current;
    switch (op) {
      case 'connections':
        return proxy.connections;
      case 'stall':
        return proxy.stall(80);
      case 'delay':
        return proxy.delayCommands({ ms: 100, count: 5 });
      case 'reset':
        return proxy.resetConnections();
      case 'restart':
        return redis.restart();
      case 'report':
        return { counts: standIn.counts, arrivals: standIn.arrivals };
      default:
        current = undefined;
        await proxy.close();
        await standIn.upstream.close();
        await redis.stop();
        return null;
    }
  };
  process.on('message', (message: { id: number; op: HarnessOp }) => {
    void act(message.op).then(
      (value) => process.send?.({ id: message.id, value: value ?? null }),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

const within = (arrivals: number[], from: number, to: number) => arrivals.filter((t) => t >= from && t < to).length;
const codes = (errors: Record<string, number>) =>
  Object.keys(errors).length === 0
    ? 'none'
    : Object.entries(errors)
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([code, count]) => `${code} ${count}`)
        .join(', ');

async function main(): Promise<void> {
  const began = Date.now();
  console.log(
    `${USERS} users x ${PAGE}-customer page every 30 s from a roster of ${ROSTER}, ${MINUTES} compressed minutes ` +
      `(x${K}: ${DURATION_MS / 1_000} s real), 2 replicas, cache ${CACHE_TTL_SECONDS} s, pacing ${RATE_PER_MINUTE}/60 s, ` +
      `quota ${QUOTA}/60 s per tenant, ${FAULT_RATE * 100}% upstream faults, seed ${SEED}`,
  );
  const harness = await startHarness();
  // One after the other: at once, the two runs' first refreshes (1,000 uncached calls each within 30 compressed
  // seconds) overran two cores, and the runs then measured the machine rather than Redis. One harness serves both
  // (and the warm-up), so its code is warm too.
  const results: Result[] = [];
  try {
    await warmUp(harness);
    for (const [name, faults] of [
      ['(a) no Redis faults', false],
      ['(b) Redis faults', true],
    ] as const) {
      const setup = await setUp(harness, name, faults);
      try {
        results.push(await run(setup));
      } finally {
        await tearDown(setup);
      }
    }
  } finally {
    await harness.close();
  }
  const [a, b] = results as [Result, Result];
  for (const r of results) {
    const { arrivals, faults, ...rest } = r;
    console.log(JSON.stringify({ ...rest, faults: faults.map((f) => `${f.kind} at ${f.at} ms, ${f.end - f.at} ms`) }));
  }

  // Requests failed because of Redis: per code, what (b) has beyond (a) (the same fault sequence, the same
  // schedule); any code the stand-in cannot cause counts whole. Requests: (b)'s requests with an error beyond (a)'s.
  const allCodes = new Set([...Object.keys(a.errorsByCode), ...Object.keys(b.errorsByCode)]);
  let excessErrors = 0;
  for (const code of allCodes) {
    const extra = (b.errorsByCode[code] ?? 0) - (UPSTREAM_CODES.has(code) ? (a.errorsByCode[code] ?? 0) : 0);
    excessErrors += Math.max(0, extra);
  }
  const failedByRedis =
    Math.max(0, b.requestsWithErrors - a.requestsWithErrors) + Math.max(0, b.transportFailures - a.transportFailures);

  // Where (b)'s extra calls were made: during each fault (until BLIP_TAIL_MS after it ended), and elsewhere.
  const byKind = new Map<string, { a: number; b: number; count: number }>();
  console.log('\nupstream calls from the start of each fault until 300 ms after it ended, (a) in the same windows:');
  let inFaults = { a: 0, b: 0 };
  for (const fault of b.faults) {
    const to = fault.end + BLIP_TAIL_MS;
    const entry = byKind.get(fault.kind) ?? { a: 0, b: 0, count: 0 };
    entry.count++;
    const calls = { a: within(a.arrivals, fault.at, to), b: within(b.arrivals, fault.at, to) };
    console.log(`  ${fault.kind} at ${fault.at} ms: (a) ${calls.a}, (b) ${calls.b} calls`);
    entry.a += calls.a;
    entry.b += calls.b;
    byKind.set(fault.kind, entry);
    inFaults = { a: inFaults.a + within(a.arrivals, fault.at, to), b: inFaults.b + within(b.arrivals, fault.at, to) };
  }
  console.log('by kind:');
  for (const [kind, entry] of byKind) {
    console.log(`  ${kind} x${entry.count}: (a) ${entry.a}, (b) ${entry.b}, extra ${entry.b - entry.a}`);
  }
  console.log(
    `  elsewhere: (a) ${a.upstreamCalls - inFaults.a}, (b) ${b.upstreamCalls - inFaults.b}, extra ${b.upstreamCalls - inFaults.b - (a.upstreamCalls - inFaults.a)}`,
  );
  const minute = sim(60_000);
  const perMinute = (arrivals: number[]) =>
    Array.from({ length: MINUTES }, (_, m) => within(arrivals, m * minute, (m + 1) * minute));
  console.log(`upstream calls per compressed minute: (a) ${perMinute(a.arrivals).join(' ')}`);
  console.log(`                                      (b) ${perMinute(b.arrivals).join(' ')}`);

  const ratio = ((b.upstreamCalls / a.upstreamCalls - 1) * 100).toFixed(1);
  const n = (value: number) => value.toLocaleString('en-US');
  const sent = USERS * Math.ceil(DURATION_MS / REFRESH_MS);
  const answered = (r: Result) =>
    r.requests === sent && r.transportFailures === 0
      ? n(r.requests)
      : `${n(r.requests)} of ${n(sent)} (${r.transportFailures} without a 200)`;
  const rows: Array<[string, string, string, string]> = [
    ['requests', answered(a), answered(b), ''],
    ['wrong answers', n(a.wrongAnswers), n(b.wrongAnswers), '0'],
    ['errors by code', codes(a.errorsByCode), codes(b.errorsByCode), ''],
    [
      'requests failed because of Redis',
      '-',
      excessErrors > 0 ? `${n(failedByRedis)} (${n(excessErrors)} errors)` : n(failedByRedis),
      '0',
    ],
    [
      'upstream calls',
      n(a.upstreamCalls),
      `${n(b.upstreamCalls)} (${Number(ratio) >= 0 ? '+' : ''}${ratio}%)`,
      '(b) within 5% of (a)',
    ],
    ['503s / resets injected', `${a.injected503} / ${a.injectedResets}`, `${b.injected503} / ${b.injectedResets}`, ''],
    ['429s received', n(a.received429), n(b.received429), ''],
    [
      'cache hits / misses',
      `${n(a.lookups.hit)} / ${n(a.lookups.miss)}`,
      `${n(b.lookups.hit)} / ${n(b.lookups.miss)}`,
      '',
    ],
    [
      '`Redis is unreachable` lines, replica 1 / 2',
      a.unreachable.join(' / '),
      b.unreachable.join(' / '),
      '1 / 1 (the restart)',
    ],
    [
      'p50 / p99 request',
      `${a.p50.toFixed(0)} / ${a.p99.toFixed(0)} ms`,
      `${b.p50.toFixed(0)} / ${b.p99.toFixed(0)} ms`,
      '',
    ],
  ];
  const blips = b.faults.filter((f) => f.kind !== 'redis-server restart');
  const restart = b.faults.find((f) => f.kind === 'redis-server restart');
  console.log(
    `\nRedis faults in (b): ${blips.length} blips (${[...byKind]
      .filter(([k]) => k !== 'redis-server restart')
      .map(([k, e]) => `${e.count} ${k}`)
      .join(', ')}), ` +
      `${restart ? `the restart at compressed minute ${RESTART_MINUTE} (redis-server down ${restart.end - restart.at} ms)` : 'no restart'}`,
  );
  console.log('\n| figure | (a) no Redis faults | (b) Redis faults | goal |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\nruntime ${((Date.now() - began) / 1_000).toFixed(1)} s`);
}

if (process.env.BENCH_ROLE === 'harness') serveHarness();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
