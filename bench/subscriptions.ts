// Subscriptions benchmark: what Subscription.customerChanges costs two
// replicas that share one redis-server, and how soon a change reaches its
// subscribers on the replica that recorded it (A) and on the other (B).
// Each replica runs in a child process of its own (CPU and memory are that
// process's), signs in to loopback stand-ins (Entra, Partner Center with a
// roster of BENCH_CUSTOMERS, MCA signed), syncs, and serves BENCH_SUBSCRIBERS streams of
// GraphQL over SSE (keep-alive connections, undici) opened by one client
// process per replica. A burst of BENCH_CHANGES addCustomerQualification
// mutations (one change each, writer token, BENCH_CONCURRENCY in flight, a
// stand-in answering 201) is sent to A. Side by side in one run, same setup:
//   (0) a warm-up: 50 subscribers per replica and 100 changes, then closed;
//   (1) the burst with no subscriber (the baseline);
//   (2) the burst with BENCH_SUBSCRIBERS subscribers on each replica.
// Latency is from each change's `at` (recorded by A, ms) to its arrival at a
// subscriber's client (same machine clock). Memory is each replica's RSS and
// heapUsed after a full GC, before (1)'s subscribers open and with them open,
// over the number of subscribers. CPU of one delivery is a replica's process
// CPU over (2) minus over (1), over the deliveries it made.
//
//   npm run bench:subscriptions   BENCH_SUBSCRIBERS (1000 per replica), BENCH_CHANGES (1000), BENCH_CUSTOMERS (1000),
//                                 BENCH_CONCURRENCY (32), BENCH_WAIT_SECONDS (100: the most a burst's deliveries may take)

import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { env } from 'node:process';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config/config';
import { SecretSetting } from '../src/config/sign-in-settings';
import { createGateway } from '../src/gateway';
import { createLogger } from '../src/observability/logger';
import { createSimulatedEntra, SIMULATED_SIGN_IN } from '../src/simulator/entra';
import { customerId } from '../test/support/gateway';
import { startRedis } from '../test/support/redis-server';
import { START_FLAGS } from '../test/support/start-flags';
import { customerListHandler, defaultHandler, json, rosterItem, startUpstream } from '../test/support/upstream';

const SUBSCRIBERS = Number(env.BENCH_SUBSCRIBERS ?? 1_000);
const CHANGES = Number(env.BENCH_CHANGES ?? 1_000);
const CUSTOMERS = Math.max(CHANGES, Number(env.BENCH_CUSTOMERS ?? 1_000));
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 32);
const WAIT_MS = Number(env.BENCH_WAIT_SECONDS ?? 100) * 1000;
const WARM_SUBSCRIBERS = 50;
const WARM_CHANGES = 100;
/** After a burst's last delivery (or, with no subscriber, its last mutation), before CPU is read: the mirror's read. */
const SETTLE_MS = 1_000;
const AUDIENCE = 'api://partner-center-gateway-bench';
const KEY = Buffer.alloc(32, 7).toString('base64');
const SUBSCRIPTION = 'subscription { customerChanges { at customerId qualificationKind } }';
const ADD =
  'mutation Add($input: AddCustomerQualificationInput!) { addCustomerQualification(input: $input) { qualification { kind } } }';

type Kind = 'EDUCATION' | 'STATE_OWNED_ENTITY' | 'GOVERNMENT_COMMUNITY_CLOUD';
const INPUT: Record<Kind, Record<string, string>> = {
  EDUCATION: { qualification: 'EDUCATION', educationSegment: 'K12' },
  STATE_OWNED_ENTITY: { qualification: 'STATE_OWNED_ENTITY' },
  GOVERNMENT_COMMUNITY_CLOUD: { qualification: 'GOVERNMENT_COMMUNITY_CLOUD', validationCode: 'bench' },
};

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const fmt = (value: number, digits = 1) => value.toFixed(digits);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------- a replica (child process)

type ReplicaStats = { rss: number; heapUsed: number; cpuMs: number };

async function replicaMain(): Promise<void> {
  const config = createConfig({
    baseUrl: String(env.BENCH_PC_URL),
    redisUrl: String(env.BENCH_REDIS_URL),
    signIn: {
      mode: 'app-user',
      tenantId: SIMULATED_SIGN_IN.tenantId,
      clientId: SIMULATED_SIGN_IN.clientId,
      clientSecret: new SecretSetting(SIMULATED_SIGN_IN.clientSecret),
      refreshToken: new SecretSetting(SIMULATED_SIGN_IN.refreshToken),
      tokenEncryptionKey: new SecretSetting(KEY),
      authorityHost: String(env.BENCH_ENTRA_URL),
      callers: {
        jwksUrl: `${env.BENCH_ENTRA_URL}/${SIMULATED_SIGN_IN.tenantId}/discovery/v2.0/keys`,
        issuer: String(env.BENCH_ISSUER),
        audiences: [AUDIENCE],
        readRoles: ['PartnerCenter.Read', 'PartnerCenter.Write'],
        writeRoles: ['PartnerCenter.Write'],
      },
    },
    syncRatePerMinute: 300_000,
    ratePerMinute: 600_000,
    maxConcurrencyPerToken: 64,
    subscriptionsMax: SUBSCRIBERS,
    // A's event loop is busy delivering while the burst's mutations wait for their answers: every change is recorded.
    attemptTimeoutMs: 60_000,
    requestBudgetMs: 120_000,
  });
  // As test/customer-base-replicas.test.ts: Redis's 50 ms bound is for production, not a loaded bench machine.
  const gateway = createGateway(config, {
    ...(env.BENCH_LOG_LEVEL ? { logger: createLogger({ level: env.BENCH_LOG_LEVEL as 'info' }) } : {}),
    quota: { redis: { commandTimeoutMs: 1_000 } },
    customerBase: { pollMs: 50, leaseTtlMs: 600 },
  });
  const server = createServer(gateway);
  const url = await listen(server);
  process.on('message', async (message: { type: 'cpu' | 'memory' | 'stop' }) => {
    if (message.type === 'stop') {
      server.closeAllConnections();
      server.close();
      await gateway.dispose();
      process.disconnect();
      return;
    }
    if (message.type === 'memory') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      await sleep(50);
      globalThis.gc?.();
    }
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const stats: ReplicaStats = {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
    process.send?.(stats);
  });
  process.send?.({ url });
}

// ---------------------------------------------------------------- the subscribers of one replica (child process)

interface ClientReport {
  readonly opened: number;
  readonly refused: number;
  /** Streams that ended before they were closed. */
  readonly ended: number;
  readonly deliveries: number;
  /** Deliveries of the burst's kind that a subscriber had already had. */
  readonly duplicates: number;
  /** (subscriber, change) pairs of the burst never delivered. */
  readonly missed: number;
  /** Deliveries of any other change. */
  readonly others: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly over2s: number;
  /** Earliest `at` seen, latest arrival (epoch ms). */
  readonly firstAt: number;
  readonly lastArrival: number;
  readonly cpuMs: number;
}

type ToClient =
  | { type: 'open'; count: number; kind: Kind; expect: number }
  | { type: 'report' }
  | { type: 'close' }
  | { type: 'stop' };

async function clientsMain(): Promise<void> {
  const url = `${env.BENCH_URL}/graphql`;
  const token = String(env.BENCH_TOKEN);
  const agent = new Agent({
    connections: SUBSCRIBERS + 16,
    keepAliveTimeout: 120_000,
    bodyTimeout: 0,
    headersTimeout: 30_000,
  });
  let state = fresh('EDUCATION', 0);
  let controllers: AbortController[] = [];

  function fresh(kind: Kind, expect: number) {
    return {
      kind,
      expect,
      opened: 0,
      refused: 0,
      ended: 0,
      deliveries: 0,
      duplicates: 0,
      others: 0,
      latencies: new Float64Array(Math.max(1, expect * SUBSCRIBERS)),
      n: 0,
      counts: [] as Uint8Array[],
      firstAt: Number.POSITIVE_INFINITY,
      lastArrival: 0,
      cpu: process.cpuUsage(),
      done: false,
    };
  }
  const atCache = new Map<string, number>();
  const EVENT = /"at":"([^"]+)","customerId":"[0-9a-f-]*?([0-9a-f]{12})","qualificationKind":"([A-Z_]+)"/g;

  async function open(abort: AbortController): Promise<void> {
    const s = state;
    const counts = new Uint8Array(CUSTOMERS + 1);
    s.counts.push(counts);
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
        'ms-correlationid': randomUUID(),
      },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    if (response.statusCode !== 200) {
      s.refused++;
      await response.body.dump();
      return;
    }
    s.opened++;
    let tail = '';
    response.body.setEncoding('utf8');
    response.body.on('data', (chunk: string) => {
      const arrival = Date.now();
      const text = tail + chunk;
      const end = text.lastIndexOf('\n\n');
      if (end < 0) {
        tail = text;
        return;
      }
      tail = text.slice(end + 2);
      for (const match of text.slice(0, end).matchAll(EVENT)) {
        const [, atText = '', hex = '', kind] = match;
        s.deliveries++;
        if (kind !== s.kind) {
          s.others++;
          continue;
        }
        const n = Number.parseInt(hex, 16);
        if ((counts[n] ?? 0) > 0) {
          s.duplicates++;
          continue;
        }
        counts[n] = 1;
        let at = atCache.get(atText);
        if (at === undefined) {
          at = Date.parse(atText);
          atCache.set(atText, at);
        }
        if (at < s.firstAt) s.firstAt = at;
        s.lastArrival = arrival;
        s.latencies[s.n++] = arrival - at;
        if (!s.done && s.n === s.expect * s.opened && s.opened + s.refused === s.counts.length) {
          s.done = true;
          process.send?.({ type: 'done' });
        }
      }
    });
    response.body.on('error', () => undefined);
    response.body.on('end', () => {
      if (!abort.signal.aborted) s.ended++;
    });
  }

  process.on('message', async (message: ToClient) => {
    if (message.type === 'open') {
      state = fresh(message.kind, message.expect);
      // In steps of 100 connections at a time: a listen backlog is not the bench's subject.
      for (let from = 0; from < message.count; from += 100) {
        const step = Array.from({ length: Math.min(100, message.count - from) }, () => {
          const abort = new AbortController();
          controllers.push(abort);
          return open(abort).catch(() => {
            state.refused++;
          });
        });
        await Promise.all(step);
      }
      state.cpu = process.cpuUsage();
      process.send?.({ type: 'opened', opened: state.opened, refused: state.refused });
      const s = state;
      const progress = setInterval(() => {
        if (s !== state || s.done) clearInterval(progress);
        else if (s.n > 0) process.send?.({ type: 'progress', n: s.n });
      }, 10_000);
    } else if (message.type === 'report') {
      const s = state;
      const cpu = process.cpuUsage(s.cpu);
      const sorted = s.latencies.subarray(0, s.n).sort();
      let missed = 0;
      for (const counts of s.counts.slice(0, s.opened)) {
        let got = 0;
        for (const count of counts) got += count;
        missed += s.expect - got;
      }
      const report: ClientReport = {
        opened: s.opened,
        refused: s.refused,
        ended: s.ended,
        deliveries: s.deliveries,
        duplicates: s.duplicates,
        missed,
        others: s.others,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
        over2s: sorted.filter((ms) => ms > 2_000).length,
        firstAt: s.firstAt,
        lastArrival: s.lastArrival,
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
      process.send?.({ type: 'report', report });
    } else if (message.type === 'close') {
      for (const abort of controllers) abort.abort();
      controllers = [];
      await sleep(200);
      process.send?.({ type: 'closed' });
    } else if (message.type === 'stop') {
      for (const abort of controllers) abort.abort();
      await agent.destroy();
      process.disconnect();
    }
  });
  process.send?.({ type: 'ready' });
}

// ---------------------------------------------------------------- the bench (parent)

/** Entra over loopback http: the simulator's token endpoint, and a JWKS and caller tokens of the bench's. */
async function startEntra() {
  const answerEntra = createSimulatedEntra();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = 'bench-key-1';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://entra').pathname;
    if (req.method === 'GET' && /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) return json(res, 200, jwks);
    if (!answerEntra(req.method ?? 'GET', path, body, res)) json(res, 404, { error: 'not_found' });
  });
  const url = await listen(server);
  const issuer = `${url}/${SIMULATED_SIGN_IN.tenantId}/v2.0`;
  const token = (roles: string[]) =>
    new SignJWT({ roles, tid: SIMULATED_SIGN_IN.tenantId, oid: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setSubject('bench-subscriber')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
  return { url, issuer, token, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Partner Center: the roster, its customers' qualifications as added (none at first), MCA signed and attested, POST answered 201. */
async function startPartnerCenter() {
  const roster = Array.from({ length: CUSTOMERS }, (_, n) => rosterItem(n + 1));
  const list = customerListHandler(roster);
  const held = new Map<string, unknown[]>();
  return startUpstream((call, res) => {
    if (call.resource === 'customers' && call.method === 'GET') return list(call, res, 1);
    const id = call.customerId ?? '';
    if (call.resource === 'qualifications' && call.method === 'GET') return json(res, 200, held.get(id) ?? []);
    if (call.resource === 'qualifications' && call.method === 'POST') {
      const body = JSON.parse(call.body) as { qualification: string };
      const created = {
        qualification: body.qualification,
        ...(body.qualification === 'Education' ? { vettingStatus: 'InReview' } : {}),
      };
      held.set(id, [...(held.get(id) ?? []), created]);
      return json(res, 201, created);
    }
    // MCA: signed, attested (test/support/upstream.ts's answers).
    return defaultHandler(call, res, 1);
  });
}

/** One child and its messages: `ask` sends one and resolves with the next message of `type` (any, without). */
function child(role: string, extra: Record<string, string>, execArgv: string[] = []) {
  const proc: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    env: { ...env, BENCH_ROLE: role, ...extra },
    execArgv: [...process.execArgv, ...execArgv],
  });
  const waiting: Array<{ type?: string; resolve: (message: never) => void }> = [];
  proc.on('message', (message: { type?: string }) => {
    const index = waiting.findIndex((w) => w.type === undefined || w.type === message.type);
    if (index >= 0) waiting.splice(index, 1)[0]?.resolve(message as never);
  });
  proc.on('exit', (code) => {
    if (code) console.error(`${role} ended with code ${code}`);
  });
  const next = <T>(type?: string) =>
    new Promise<T>((resolve) => {
      waiting.push({ type, resolve: resolve as (message: never) => void });
    });
  return {
    proc,
    next,
    ask: <T>(message: unknown, type?: string) => {
      const answer = next<T>(type);
      proc.send(message as object);
      return answer;
    },
  };
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  console.log(
    `Subscriptions: 2 replicas on one redis-server, ${SUBSCRIBERS} SSE subscribers on each, a burst of ${CHANGES} changes ` +
      `recorded on A (${CONCURRENCY} mutations in flight), ${CUSTOMERS} customers (Node ${process.version})`,
  );
  const redis = await startRedis();
  const entra = await startEntra();
  const partnerCenter = await startPartnerCenter();
  const reader = await entra.token(['PartnerCenter.Read']);
  const writer = await entra.token(['PartnerCenter.Write']);
  const shared = {
    BENCH_PC_URL: partnerCenter.url,
    BENCH_REDIS_URL: redis.url,
    BENCH_ENTRA_URL: entra.url,
    BENCH_ISSUER: entra.issuer,
  };
  const flags = [...START_FLAGS, '--expose-gc'];
  const replicas = [child('replica', shared, flags), child('replica', shared, flags)];
  const urls = await Promise.all(replicas.map((r) => r.next<{ url: string }>()));
  const [a, b] = urls.map((u) => u.url) as [string, string];
  const http = new Agent({ connections: CONCURRENCY + 4, keepAliveTimeout: 120_000 });
  const post = async (to: string, query: string, variables: Record<string, unknown>, token: string) => {
    const response = await request(`${to}/graphql`, {
      method: 'POST',
      dispatcher: http,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.body.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
  };

  // Both replicas know every customer synced (the store is shared; one of them holds the lease).
  for (const to of [a, b]) {
    for (let tries = 0; ; tries++) {
      const body = await post(to, '{ customerBase { sync { customersSynced } } }', {}, reader);
      const synced = (body.data?.customerBase as { sync?: { customersSynced: number } } | undefined)?.sync;
      if (synced?.customersSynced === CUSTOMERS) break;
      if (tries > 600) throw new Error(`not synced: ${JSON.stringify(body)}`);
      await sleep(100);
    }
  }
  console.log(`synced after ${fmt((Date.now() - startedAt) / 1000)} s`);

  const clients = [a, b].map((url) => child('clients', { BENCH_URL: url, BENCH_TOKEN: reader }));
  for (const [i, c] of clients.entries()) {
    c.proc.on('message', (m: { type: string; n?: number }) => {
      if (m.type === 'progress') console.log(`  ${'AB'[i]}: ${m.n} deliveries so far`);
    });
  }

  await Promise.all(clients.map((c) => c.next('ready')));

  const subscriptionsOpen = async (to: string) => {
    const response = await request(`${to}/metrics`, { dispatcher: http });
    const text = await response.body.text();
    return Number(/^gateway_subscriptions\{transport="sse"\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  /** The burst: one mutation per customer 1..count, `inFlight` at a time; failures counted. */
  const burst = async (kind: Kind, count: number) => {
    let nextCustomer = 1;
    let failed = 0;
    const worker = async () => {
      while (nextCustomer <= count) {
        const n = nextCustomer++;
        const body = await post(a, ADD, { input: { customerId: customerId(n), ...INPUT[kind] } }, writer);
        if (body.errors?.length) {
          if (failed++ === 0) console.error(`mutation failed: ${JSON.stringify(body.errors)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return failed;
  };
  const cpu = () => Promise.all(replicas.map((r) => r.ask<ReplicaStats>({ type: 'cpu' })));
  const memory = () => Promise.all(replicas.map((r) => r.ask<ReplicaStats>({ type: 'memory' })));

  /** A burst with `subscribers` open on each replica: CPU per replica, and the clients' reports. */
  const round = async (kind: Kind, count: number, subscribers: number, before?: () => Promise<void>) => {
    if (subscribers > 0) {
      const opened = await Promise.all(
        clients.map((c) =>
          c.ask<{ opened: number; refused: number }>(
            { type: 'open', count: subscribers, kind, expect: count },
            'opened',
          ),
        ),
      );
      for (const o of opened) if (o.refused) console.log(`subscriptions refused: ${o.refused}`);
    }
    const open = await Promise.all([a, b].map(subscriptionsOpen));
    await before?.();
    const done = subscribers > 0 ? clients.map((c) => c.next('done')) : [];
    const cpuBefore = await cpu();
    const sentAt = Date.now();
    const failed = await burst(kind, count);
    const mutationsMs = Date.now() - sentAt;
    const timedOut = await Promise.race([Promise.all(done).then(() => false), sleep(WAIT_MS).then(() => true)]);
    await sleep(SETTLE_MS);
    const cpuAfter = await cpu();
    const reports =
      subscribers > 0
        ? await Promise.all(clients.map((c) => c.ask<{ report: ClientReport }>({ type: 'report' }, 'report')))
        : [];
    if (subscribers > 0) await Promise.all(clients.map((c) => c.ask({ type: 'close' }, 'closed')));
    return {
      cpuMs: cpuAfter.map((after, i) => after.cpuMs - (cpuBefore[i] as ReplicaStats).cpuMs),
      open,
      failed,
      mutationsMs,
      timedOut,
      reports: reports.map((r) => r.report),
    };
  };

  const warm = await round('EDUCATION', WARM_CHANGES, WARM_SUBSCRIBERS);
  console.log(`warm-up: ${warm.reports.map((r) => r.deliveries).join(' + ')} deliveries, ${warm.failed} failed`);
  const baseline = await round('STATE_OWNED_ENTITY', CHANGES, 0);
  let memBefore: ReplicaStats[] = [];
  let memWith: ReplicaStats[] = [];
  memBefore = await memory();
  const measured = await round('GOVERNMENT_COMMUNITY_CLOUD', CHANGES, SUBSCRIBERS, async () => {
    memWith = await memory();
  });

  const [ra, rb] = measured.reports as [ClientReport, ClientReport];
  const firstAt = Math.min(ra.firstAt, rb.firstAt);
  const perSub = (i: number, key: 'rss' | 'heapUsed') =>
    fmt(((memWith[i] as ReplicaStats)[key] - (memBefore[i] as ReplicaStats)[key]) / SUBSCRIBERS / 1024);
  const mib = (s: ReplicaStats | undefined, key: 'rss' | 'heapUsed') => fmt((s?.[key] ?? Number.NaN) / 2 ** 20);
  const delivered = (r: ClientReport) => r.deliveries - r.duplicates - r.others;
  const perDelivery = (i: number, r: ClientReport) =>
    fmt((((measured.cpuMs[i] as number) - (baseline.cpuMs[i] as number)) * 1000) / delivered(r), 2);
  const both = (f: (r: ClientReport, i: number) => string): [string, string] => [f(ra, 0), f(rb, 1)];
  const rows: Array<[string, string, string]> = [
    ['subscribers open (gauge during the burst)', ...both((r, i) => `${r.opened} (${measured.open[i]})`)],
    ['deliveries of the burst (expected)', ...both((r) => `${delivered(r)} (${r.opened * CHANGES})`)],
    ['missed / duplicate / other deliveries', ...both((r) => `${r.missed} / ${r.duplicates} / ${r.others}`)],
    ['streams ended early; deliveries over 2 s', ...both((r) => `${r.ended}; ${r.over2s}`)],
    ['latency p50 / p99 / max, recorded to delivered (ms)', ...both((r) => `${r.p50} / ${r.p99} / ${r.max}`)],
    ['first recording to last delivery (s)', ...both((r) => fmt((r.lastArrival - firstAt) / 1000, 2))],
    [
      'RSS before / with subscribers (MiB); per subscriber (KiB)',
      ...both((_r, i) => `${mib(memBefore[i], 'rss')} / ${mib(memWith[i], 'rss')}; ${perSub(i, 'rss')}`),
    ],
    [
      'heapUsed before / with subscribers (MiB); per subscriber (KiB)',
      ...both((_r, i) => `${mib(memBefore[i], 'heapUsed')} / ${mib(memWith[i], 'heapUsed')}; ${perSub(i, 'heapUsed')}`),
    ],
    [
      'replica CPU over the burst, no subscriber / with them (s)',
      ...both(
        (_r, i) => `${fmt((baseline.cpuMs[i] as number) / 1000, 2)} / ${fmt((measured.cpuMs[i] as number) / 1000, 2)}`,
      ),
    ],
    ['CPU of one delivery (µs): the difference over deliveries', ...both((r, i) => perDelivery(i, r))],
    ["the client process's CPU over the burst (s)", ...both((r) => fmt(r.cpuMs / 1000, 1))],
  ];
  console.log(
    `burst of ${CHANGES} mutations: ${fmt(baseline.mutationsMs / 1000, 2)} s with no subscriber, ` +
      `${fmt(measured.mutationsMs / 1000, 2)} s with them; mutations failed ${baseline.failed} / ${measured.failed}` +
      (measured.timedOut ? `; deliveries still missing after ${WAIT_MS / 1000} s` : ''),
  );
  console.log(`\n| figure | A (records the changes) | B (the other replica) |`);
  console.log('| --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);

  // Teardown: the children are asked to stop, and killed if they have not within 5 s (2,000 streams may linger).
  const gone = [...clients, ...replicas].map((c) => {
    const exited = new Promise((resolve) => c.proc.once('exit', resolve));
    if (c.proc.connected) c.proc.send({ type: 'stop' });
    return Promise.race([exited, sleep(5_000).then(() => c.proc.kill())]);
  });
  await Promise.all(gone);
  await http.destroy();
  await partnerCenter.close();
  await entra.close();
  await redis.stop();
  console.log(`runtime ${fmt((Date.now() - startedAt) / 1000)} s`);
  process.exit();
}

const role = env.BENCH_ROLE;
(role === 'replica' ? replicaMain() : role === 'clients' ? clientsMain() : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
