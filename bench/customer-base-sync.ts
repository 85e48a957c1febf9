// Customer-base sync benchmark: how long a gateway that signs in itself
// (app-user) takes to build a complete snapshot of 5,000 customers (a first
// pass: the list, then three facts per customer: qualifications, the direct
// MCA status, the MCA agreements; and the current MCA template once) against
// a Partner Center that allows 500 calls a minute per partner tenant, at
// docs/customer-base.md's PARTNER_CENTER_RATE_PER_MINUTE=450 and
// SYNC_RATE_PER_MINUTE=300, while a dashboard user refreshes an uncached
// 50-customer page every 30 s; and what the sync costs that dashboard. The
// sync's limit is what src/customer-base/share.ts leaves it beside that
// dashboard (asked, not copied). Time is compressed by K (BENCH_COMPRESSION):
// every duration (the quota's window, Retry-After, upstream latency, refresh
// interval, timeouts and budgets) is divided by K, so every rate a minute is K
// times as high (BENCH_MINUTE says how the gateway is told). Side by side in one run, at the same time, each in a child process of
// its own (the gateway in process there, with its dashboard client; its
// Partner Center stand-in in one more process):
//   (a) sync + dashboard, until customerBase.sync says 5,000 synced and a
//       completed pass;
//   (b) the dashboard alone (sync off), for the same wall time.
// Both gateways sign in to a loopback Entra (the built-in simulator's token
// endpoint, src/simulator/entra.ts) and verify the bench's caller tokens
// against a JWKS it serves; Partner Center is a loopback stand-in here.
//
//   npm run bench:customer-base-sync   BENCH_COMPRESSION (30), BENCH_LATENCY_MS (100, upstream latency before
//                                      compression), BENCH_CUSTOMERS (5000), BENCH_MAX_SECONDS (cap on run a,
//                                      compressed seconds; default 2.5x the quota's limit), BENCH_MINUTE (real or
//                                      compressed: how the gateway's rates are compressed, see MINUTE),
//                                      BENCH_PACING_RATE (450: PARTNER_CENTER_RATE_PER_MINUTE before compression),
//                                      BENCH_CONCURRENCY (32: PARTNER_CENTER_MAX_CONCURRENCY, the one token's calls in
//                                      flight, shared by the sync and every dashboard in app-user mode),
//                                      BENCH_NODE_ARGS (node flags for both gateways, after npm start's)

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { env } from 'node:process';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { createConfig } from '../src/config/config';
import { SecretSetting, type SignInSettings } from '../src/config/sign-in-settings';
import { createSyncShare } from '../src/customer-base/share';
import { createGateway } from '../src/gateway';
import { type GatewayEvents, ignoredEvents } from '../src/observability/events';
import { createSimulatedEntra, SIMULATED_SIGN_IN } from '../src/simulator/entra';
import { START_FLAGS } from '../test/support/start-flags';
import { ATTESTATION, agreementsBody, CURRENT_TEMPLATE, json } from '../test/support/upstream';

const K = Number(process.env.BENCH_COMPRESSION ?? 30);
/**
 * `real` (default): the rates multiplied by K over the gateway's own 60 s minute (SYNC_RATE_PER_MINUTE=300 x K,
 * PARTNER_CENTER_RATE_PER_MINUTE=500 x K). `compressed`: the rates as a partner sets them (300, 500) over a minute
 * of 60/K s (GatewayDeps.quota.pacingWindowMs), the window the stand-in counts in; it needs a gateway whose sync
 * spreads its rate over that minute too.
 */
const MINUTE = process.env.BENCH_MINUTE === 'compressed' ? 'compressed' : 'real';
const LATENCY_REAL_MS = Number(process.env.BENCH_LATENCY_MS ?? 100);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 5_000);
/** Compressed milliseconds for a real duration. */
const sim = (ms: number) => ms / K;

const QUOTA = 500;
const QUOTA_WINDOW_MS = sim(60_000);
/**
 * Retry-After in whole seconds, 60/K rounded up: the gateway reads delta seconds or an HTTP date
 * (src/partner-center/retry-timing.ts), and "1.5" would parse as a date in 2001, so as 0 s.
 */
const RETRY_AFTER_SECONDS = Math.ceil(60 / K);
const LATENCY_MS = sim(LATENCY_REAL_MS);
/** What the rates are multiplied by: K when they count over the gateway's real minute. */
const RATE_FACTOR = MINUTE === 'real' ? K : 1;
const SYNC_RATE = 300;
/** PARTNER_CENTER_RATE_PER_MINUTE as docs/customer-base.md tells a partner to set it, below Partner Center's 500. */
const PACING_RATE = Number(process.env.BENCH_PACING_RATE ?? 450);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PAGE_SIZE = 500;
const PAGES = Math.ceil(CUSTOMERS / PAGE_SIZE);
const REFRESH_MS = sim(30_000);
const PAGE = 50;
/** The dashboard's upstream calls a minute: two reads (qualifications, MCA status) per customer, two refreshes. */
const DASHBOARD_PER_MINUTE = 2 * PAGE * 2;
/**
 * The current template's reads in the pass: through the gateway's hour-long metadata cache (not compressed), one in a
 * pass shorter than an hour of wall time.
 */
const METADATA_READS = 1;
/** A first pass's calls: the list's pages, three facts per customer, the template. */
const CALLS_NEEDED = PAGES + 3 * CUSTOMERS + METADATA_READS;
/**
 * The sync's rate beside the dashboard, from src/customer-base/share.ts itself: its spacing with the dashboard's turns
 * in the minute (PACING_RATE less those, less what the share keeps back, at most SYNC_RATE).
 */
async function shareRate(): Promise<number> {
  const share = createSyncShare({
    rate: SYNC_RATE,
    limit: PACING_RATE,
    minuteMs: 60_000,
    burst: CONCURRENCY,
    turnsInWindow: async () => DASHBOARD_PER_MINUTE,
  });
  await share.nextAt();
  const at = Date.now();
  share.sent(at, at, 0);
  return 60_000 / ((await share.nextAt()) - at);
}
const SHARE_RATE = await shareRate();
/** The turns a minute the share keeps back beside the dashboard's. */
const KEPT_BACK = PACING_RATE - DASHBOARD_PER_MINUTE - SHARE_RATE;
/** The quota's limit for a complete snapshot: the calls needed at the rate the share leaves the sync. */
const LIMIT_REAL_MINUTES = CALLS_NEEDED / SHARE_RATE;
const LIMIT_MS = sim(LIMIT_REAL_MINUTES * 60_000);
const MAX_MS = Number(process.env.BENCH_MAX_SECONDS ?? (2.5 * LIMIT_MS) / 1000) * 1000;
/**
 * The stand-ins run at a higher priority than the gateways (when the bench runs as root): Partner Center does not
 * share the gateway's cores, so the time a stand-in waits for one of them is the bench's, not Partner Center's.
 */
const STAND_IN_NICE = -10;
const POLL_MS = 200;
const AUDIENCE = 'api://partner-center-gateway-bench';

const customerId = (n: number) => `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const ROSTER = Array.from({ length: CUSTOMERS }, (_, index) => {
  const n = index + 1;
  const id = customerId(n);
  return {
    id,
    companyProfile: { tenantId: id, companyName: `Contoso ${n}`, domain: `contoso${n}.onmicrosoft.com` },
    relationshipToPartner: n % 9 === 0 ? 'advisor' : 'reseller',
    attributes: { objectType: 'Customer' },
  };
});
const NUMBER_OF = new Map(ROSTER.map((item, index) => [item.id, index + 1]));

/**
 * How customer n accepted the MCA, about 90% accepted as in a real base: every tenth not; of the rest, alternately
 * signed directly and attested by the partner (the current template).
 */
function mcaOf(n: number): 'not accepted' | 'signed directly' | 'attested' {
  if (n % 10 === 0) return 'not accepted';
  return n % 2 === 1 ? 'signed directly' : 'attested';
}

function qualificationsOf(n: number): unknown[] {
  if (n % 4 === 0) return [];
  if (n % 4 === 1) return [{ qualification: 'Education', vettingStatus: 'Approved' }];
  if (n % 4 === 2) return [{ qualification: 'Education', vettingStatus: 'InReview' }];
  return [{ qualification: 'StateOwnedEntity' }];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  // Longer than the clients' keep-alive, so a server never closes a socket a client is about to reuse.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

type Kind = 'sync' | 'dashboard';

/** The dashboard's MS-CorrelationId starts with this; the sync's (one random GUID a pass) tells the rest. */
const DASHBOARD_MARK = 'dddddddd';

interface StandInReport {
  readonly counts: Record<Kind, { calls: number; throttled: number }>;
  /** When every call arrived, answered or not (epoch ms, sub-ms): compared with when the gateway sent them. */
  readonly arrivals: number[];
  /** When each 429 went out (epoch ms). */
  readonly throttledAt: number[];
  /** When each call (by MS-RequestId, first attempt) arrived. */
  readonly arrivedById: Record<string, number>;
  /** The stand-in's event-loop delay, max (ms). */
  readonly loopMaxMs: number;
  /** The stand-in process's nice value: STAND_IN_NICE when it could be raised (root), else the default 0. */
  readonly nice: number;
  /** The most calls accepted in any quota window. */
  readonly peak: number;
  /** Arrival and answer times (ms) of the sync's accepted calls, in order. */
  readonly syncCalls: Array<{ arrived: number; answered: number }>;
}

interface StandIn {
  readonly url: string;
  report(): StandInReport;
  close(): Promise<void>;
}

/**
 * Partner Center as far as the sync and the dashboard go: GET /v1/customers (size and continuation tokens, as
 * test/support/upstream.ts's customerListHandler), qualifications, MCA status and MCA agreements per customer, the
 * agreement metadata (the current template); at most QUOTA calls (every one of these) in any QUOTA_WINDOW_MS for the
 * one partner tenant, 429 with Retry-After past it. The dashboard's calls
 * are told from the sync's by their MS-CorrelationId (the dashboard sends its own).
 */
async function startStandIn(): Promise<StandIn> {
  const accepted: number[] = [];
  const counts: StandInReport['counts'] = { sync: { calls: 0, throttled: 0 }, dashboard: { calls: 0, throttled: 0 } };
  const syncCalls: Array<{ arrived: number; answered: number }> = [];
  const issued = new Map<string, number>();
  const arrivals: number[] = [];
  const throttledAt: number[] = [];
  const arrivedById: Record<string, number> = {};
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let peak = 0;
  const server = createServer((req, res) => {
    req.resume();
    const now = performance.now();
    arrivals.push(performance.timeOrigin + now);
    const requestId = String(req.headers['ms-requestid']);
    arrivedById[requestId] ??= performance.timeOrigin + now;
    const kind: Kind = String(req.headers['ms-correlationid']).startsWith(DASHBOARD_MARK) ? 'dashboard' : 'sync';
    counts[kind].calls++;
    while (accepted.length > 0 && (accepted[0] as number) <= now - QUOTA_WINDOW_MS) accepted.shift();
    if (accepted.length >= QUOTA) {
      counts[kind].throttled++;
      throttledAt.push(performance.timeOrigin + now);
      json(
        res,
        429,
        { statusCode: 429, message: `Rate limit is exceeded. Try again in ${RETRY_AFTER_SECONDS} seconds.` },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
      return;
    }
    accepted.push(now);
    peak = Math.max(peak, accepted.length);
    const record = kind === 'sync' ? { arrived: now, answered: now } : undefined;
    if (record) syncCalls.push(record);
    const reply = () => {
      answer(req, res);
      if (record) record.answered = performance.now();
    };
    // No timer at 0 ms: a timer waits at least 1 ms.
    if (LATENCY_MS > 0) setTimeout(reply, LATENCY_MS);
    else reply();
  });

  function answer(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method !== 'GET') return json(res, 405, { code: 405, description: 'Method not allowed.' });
    if (url.pathname === '/v1/customers') {
      const size = Number(url.searchParams.get('size'));
      if (!Number.isInteger(size) || size < 1 || size > 500) return json(res, 400, { code: 400, description: 'size' });
      let offset = 0;
      if (url.searchParams.get('seekOperation') === 'Next') {
        const seek = issued.get(String(req.headers['ms-continuationtoken']));
        if (seek === undefined) return json(res, 400, { code: 400, description: 'bad continuation token' });
        offset = seek;
      }
      const links: Record<string, unknown> = { self: { uri: `/customers?size=${size}`, method: 'GET', headers: [] } };
      if (offset + size < ROSTER.length) {
        const token = `page-${offset + size}-${randomUUID()}`;
        issued.set(token, offset + size);
        links.next = {
          uri: `/customers?size=${size}&seekOperation=Next`,
          method: 'GET',
          headers: [{ key: 'MS-ContinuationToken', value: token }],
        };
      }
      return json(res, 200, {
        totalCount: ROSTER.length,
        items: ROSTER.slice(offset, offset + size),
        links,
        attributes: { objectType: 'Collection' },
      });
    }
    const mcaType = url.searchParams.get('agreementType') === 'MicrosoftCustomerAgreement';
    if (url.pathname === '/v1/agreements' && mcaType) return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
    const match =
      /^\/v1\/customers\/([^/]+)\/(qualifications|directSignedMicrosoftCustomerAgreementStatus|agreements)$/.exec(
        url.pathname,
      );
    const n = match ? NUMBER_OF.get(String(match[1]).toLowerCase()) : undefined;
    if (!match || n === undefined) return json(res, 404, { code: 600008, description: 'Not found', data: [] });
    if (match[2] === 'qualifications') return json(res, 200, qualificationsOf(n));
    if (match[2] === 'agreements') {
      if (!mcaType) return json(res, 400, { code: 400, description: 'agreementType' });
      return json(res, 200, agreementsBody(mcaOf(n) === 'attested' ? [ATTESTATION] : []));
    }
    return json(res, 200, { isSigned: mcaOf(n) === 'signed directly' });
  }

  const url = await listen(server);
  return {
    url,
    report: () => ({
      counts,
      peak,
      syncCalls,
      arrivals,
      throttledAt,
      arrivedById,
      loopMaxMs: loop.max / 1e6,
      nice: getPriority(),
    }),
    close: () => stop(server),
  };
}

/**
 * The stand-in in a process of its own, as Partner Center is not in the gateway's: its work and its clock (the
 * arrival times it counts the quota by) are not the gateway's event loop's.
 */
async function forkStandIn(): Promise<{ url: string; report(): Promise<StandInReport> }> {
  const standIn = fork(fileURLToPath(import.meta.url), [], { env: { ...env, BENCH_ROLE: 'stand-in' } });
  const url = await new Promise<string>((resolve, reject) => {
    standIn.once('message', (message: { url: string }) => resolve(message.url));
    standIn.once('exit', (code) => reject(new Error(`the stand-in ended with code ${code}`)));
  });
  return {
    url,
    report: () =>
      new Promise<StandInReport>((resolve) => {
        standIn.once('message', (report: StandInReport) => resolve(report));
        standIn.send('report');
      }),
  };
}

/** The stand-in's process: listens, tells its URL, and on 'report' answers its counts and ends. */
async function standInMain(): Promise<void> {
  try {
    setPriority(STAND_IN_NICE);
  } catch {
    // Not root: the stand-in shares the cores with the gateways at the default priority (the table says so).
  }
  const standIn = await startStandIn();
  process.send?.({ url: standIn.url });
  process.once('message', async () => {
    await standIn.close();
    process.send?.(standIn.report(), undefined, {}, () => process.disconnect());
  });
}

interface Entra {
  readonly url: string;
  readonly issuer: string;
  callerToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Entra over loopback http: the token endpoint is the built-in simulator's (createSimulatedEntra, with its
 * development credentials and refresh-token rotation); the JWKS and the callers' RS256 tokens are the bench's, so
 * the gateway verifies every caller as it does in production.
 */
async function startEntra(): Promise<Entra> {
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
  return {
    url,
    issuer,
    callerToken: () =>
      new SignJWT({ roles: ['PartnerCenter.Read'], tid: SIMULATED_SIGN_IN.tenantId, oid: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setSubject('bench-dashboard-user')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
    close: () => stop(server),
  };
}

function signInSettings(entra: Entra): SignInSettings {
  return {
    mode: 'app-user',
    tenantId: SIMULATED_SIGN_IN.tenantId,
    clientId: SIMULATED_SIGN_IN.clientId,
    clientSecret: new SecretSetting(SIMULATED_SIGN_IN.clientSecret),
    refreshToken: new SecretSetting(SIMULATED_SIGN_IN.refreshToken),
    tokenEncryptionKey: undefined,
    authorityHost: entra.url,
    callers: {
      jwksUrl: `${entra.url}/${SIMULATED_SIGN_IN.tenantId}/discovery/v2.0/keys`,
      issuer: entra.issuer,
      audiences: [AUDIENCE],
      readRoles: ['PartnerCenter.Read', 'PartnerCenter.Write'],
      writeRoles: ['PartnerCenter.Write'],
    },
  };
}

const DASHBOARD =
  'query Dashboard($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind vettingStatus } } }';
const SYNC_STATUS = '{ customerBase { sync { enabled customersKnown customersSynced lastPassCompletedAt } } }';

/** Refresh i shows 50 customers no earlier refresh showed (until all 5,000 have been shown): a stride coprime to the base. */
function pageIds(refresh: number): string[] {
  return Array.from({ length: PAGE }, (_, j) => customerId((((refresh * PAGE + j) * 2003) % CUSTOMERS) + 1));
}

interface RunResult {
  readonly name: string;
  readonly wallMs: number;
  /** From the start to lastPassCompletedAt, when the snapshot was complete. */
  readonly snapshotMs: number | undefined;
  readonly synced: number;
  readonly standIn: StandInReport;
  readonly syncAttempts: Record<string, number>;
  readonly heldBack: Record<'window' | 'pacing', number>;
  /** Upstream attempts (sync's and dashboard's) that ended without an answer in time, or with no connection. */
  readonly attemptsFailed: number;
  /** Event-loop delay over the run: p99 and max, ms. */
  readonly loopDelay: { p99: number; max: number };
  /** The process's CPU time (user + system) over the run: the gateway and the dashboard client. */
  readonly cpuMs: number;
  readonly refreshes: number;
  /** When the gateway sent each call to the stand-in (undici's sendHeaders; epoch ms, sub-ms). */
  readonly sent: number[];
  /** The same by MS-RequestId, first attempt. */
  readonly sentById: Record<string, number>;
  readonly latencies: number[];
  /** The process's longest event-loop delay while each refresh was in flight (ms), in the order of latencies. */
  readonly stallsDuring: number[];
  readonly errorsByCode: Record<string, number>;
  readonly refreshesWithErrors: number;
  readonly transportFailures: number;
}

interface RunOptions {
  readonly sync: boolean;
  /** Ends the run early (run b ends when run a does). */
  readonly stop?: AbortSignal;
  readonly maxMs: number;
  readonly refreshMs?: number;
  /** When the first refresh goes, after the gateway's start. */
  readonly phaseMs?: number;
  /** Awaited once the stand-in and Entra listen, before the gateway starts: the two runs start together. */
  readonly ready?: () => Promise<void>;
}

async function run(name: string, options: RunOptions): Promise<RunResult> {
  const { sync, stop: stopped, maxMs, refreshMs = REFRESH_MS, phaseMs = 0 } = options;
  const standIn = await forkStandIn();
  const entra = await startEntra();
  const callerToken = await entra.callerToken();
  const syncAttempts: Record<string, number> = {};
  const heldBack = { window: 0, pacing: 0 };
  let attemptsFailed = 0;
  const events: GatewayEvents = {
    ...ignoredEvents,
    syncCall: (resource, status) => {
      const key = `${resource} ${status}`;
      syncAttempts[key] = (syncAttempts[key] ?? 0) + 1;
    },
    throttled: (reason) => {
      heldBack[reason]++;
    },
    upstreamAttempt: (attempt) => {
      if (typeof attempt.status !== 'number') attemptsFailed++;
    },
  };
  const config = createConfig({
    baseUrl: standIn.url,
    signIn: signInSettings(entra),
    syncRatePerMinute: sync ? SYNC_RATE * RATE_FACTOR : 0,
    ratePerMinute: PACING_RATE * RATE_FACTOR,
    cacheTtlSeconds: 0,
    attemptTimeoutMs: Math.round(sim(8_000)),
    maxConcurrencyPerToken: CONCURRENCY,
    requestBudgetMs: Math.round(sim(20_000)),
  });
  await options.ready?.();
  const sent: number[] = [];
  const sentById: Record<string, number> = {};
  const standInOrigin = new URL(standIn.url).origin;
  const onSend = (message: unknown) => {
    const { request: sending, headers } = message as { request: { origin?: string | URL }; headers: string };
    if (String(sending.origin) !== standInOrigin) return;
    const at = performance.timeOrigin + performance.now();
    sent.push(at);
    const requestId = /ms-requestid: ([^\r\n]+)/i.exec(headers)?.[1];
    if (requestId) sentById[requestId] ??= at;
  };
  subscribe('undici:client:sendHeaders', onSend);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = Date.now();
  const gateway = createGateway(config, {
    events,
    retryBaseDelayMs: Math.max(1, Math.round(sim(200))),
    ...(MINUTE === 'compressed' ? { quota: { pacingWindowMs: sim(60_000) } } : {}),
  });
  const server = createServer(gateway);
  const graphql = `${await listen(server)}/graphql`;
  const client = new Agent({ connections: 16 });

  const post = async (query: string, variables: Record<string, unknown>, correlationId: string) => {
    const response = await request(graphql, {
      method: 'POST',
      dispatcher: client,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${callerToken}`,
        'ms-correlationid': correlationId,
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.body.json()) as {
      data?: { customerBase?: { sync: { customersSynced: number; lastPassCompletedAt: string | null } } };
      errors?: Array<{ extensions?: { code?: string } }>;
    };
  };

  const latencies: number[] = [];
  const stallsDuring: number[] = [];
  const errorsByCode: Record<string, number> = {};
  let refreshesWithErrors = 0;
  let transportFailures = 0;
  const refresh = async (index: number) => {
    const correlationId = `${DASHBOARD_MARK}${randomUUID().slice(DASHBOARD_MARK.length)}`;
    const sent = performance.now();
    // The pauses (scavenges, the machine's) this process's event loop had while the refresh was in flight.
    const stalls = monitorEventLoopDelay({ resolution: 1 });
    stalls.enable();
    try {
      const body = await post(DASHBOARD, { ids: pageIds(index) }, correlationId);
      latencies.push(performance.now() - sent);
      stalls.disable();
      stallsDuring.push(stalls.max / 1e6);
      if (body.errors?.length) refreshesWithErrors++;
      for (const error of body.errors ?? []) {
        const code = error.extensions?.code ?? 'none';
        errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      }
    } catch (error) {
      stalls.disable();
      transportFailures++;
      console.error(`refresh ${index} failed: ${error}`);
    }
  };

  // The dashboard refreshes on a fixed schedule (open loop), whatever the last refresh took.
  const pending: Array<Promise<void>> = [];
  let refreshes = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const index = refreshes++;
    pending.push(refresh(index));
    timer = setTimeout(schedule, Math.max(0, started + phaseMs + refreshes * refreshMs - Date.now()));
  };
  timer = setTimeout(schedule, phaseMs);

  // Both runs poll customerBase.sync alike (run b gets SYNC_NOT_ENABLED): the same load besides the sync.
  let snapshotMs: number | undefined;
  let synced = 0;
  const deadline = started + maxMs;
  while (Date.now() < deadline && !stopped?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const status = (await post(SYNC_STATUS, {}, randomUUID())).data?.customerBase?.sync;
    if (!sync || !status) continue;
    synced = status.customersSynced;
    if (status.customersSynced === CUSTOMERS && status.lastPassCompletedAt !== null) {
      snapshotMs = Date.parse(status.lastPassCompletedAt) - started;
      break;
    }
  }
  const wallMs = Date.now() - started;
  clearTimeout(timer);
  await Promise.all(pending);
  unsubscribe('undici:client:sendHeaders', onSend);
  loop.disable();
  const cpuUsed = process.cpuUsage(cpu);

  await client.close();
  await stop(server);
  await gateway.dispose();
  const upstream = await standIn.report();
  await entra.close();
  return {
    name,
    wallMs,
    snapshotMs,
    synced,
    standIn: upstream,
    syncAttempts,
    heldBack,
    attemptsFailed,
    loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    cpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
    refreshes: latencies.length + transportFailures,
    sent,
    sentById,
    latencies,
    stallsDuring,
    errorsByCode,
    refreshesWithErrors,
    transportFailures,
  };
}

/** The most of `times` in any quota window (t - W, t]. */
function peakInWindow(times: readonly number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  let peak = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[first] as number) <= (sorted[last] as number) - QUOTA_WINDOW_MS) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

/** How long calls took from the gateway's socket to the stand-in's handler. */
function transit(r: RunResult): string {
  const delays = Object.entries(r.sentById)
    .map(([id, at]) => (r.standIn.arrivedById[id] ?? Number.NaN) - at)
    .filter((delay) => !Number.isNaN(delay));
  return `${fmt(percentile(delays, 0.5), 2)} / ${fmt(percentile(delays, 0.99), 2)} / ${fmt(Math.max(...delays), 2)}; ${fmt(r.standIn.loopMaxMs)}`;
}

/** An event-loop delay this long is a pause (a scavenge, the machine's), not a tick of the gateway's work (a few ms). */
const STALL_MS = 50;

/** The slowest refresh and the longest event-loop delay while it was in flight. */
function slowest(r: RunResult): string {
  let index = 0;
  r.latencies.forEach((ms, i) => {
    if (ms > (r.latencies[index] as number)) index = i;
  });
  return `${fmt(r.latencies[index] ?? Number.NaN)}: ${fmt(r.stallsDuring[index] ?? Number.NaN)}`;
}

/** How many of `times` fall in the quota window that ends at `at`. */
function inWindowBefore(times: readonly number[], at: number): number {
  return times.filter((time) => time > at - QUOTA_WINDOW_MS && time <= at).length;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

const realMinutes = (ms: number) => (ms * K) / 60_000;
const fmt = (value: number, digits = 1) => value.toFixed(digits);
const codes = (byCode: Record<string, number>) =>
  Object.entries(byCode)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ') || '0';

async function main(): Promise<void> {
  const processStarted = Date.now();
  console.log(
    `Customer-base sync: ${CUSTOMERS} customers, quota ${QUOTA}/min per tenant, sync ${SYNC_RATE}/min, pacing ${PACING_RATE}/min, ` +
      `the sync's share beside the dashboard ${fmt(SHARE_RATE)}/min (${PACING_RATE} - ${DASHBOARD_PER_MINUTE} - ${fmt(KEPT_BACK)} kept back), ` +
      `${CONCURRENCY} calls in flight, ` +
      `dashboard of ${PAGE} every 30 s, upstream latency ${LATENCY_REAL_MS} ms; time compressed x${K}, ` +
      `gateway rates ${MINUTE === 'real' ? `x${K} over a 60 s minute` : `over a ${fmt(sim(60), 2)} s minute`} (Node ${process.version})`,
  );
  if (60 / K !== RETRY_AFTER_SECONDS) {
    console.log(
      `Retry-After is 60/${K} = ${fmt(60 / K, 2)} s compressed; sent as ${RETRY_AFTER_SECONDS} (the gateway takes whole seconds only)`,
    );
  }
  const { a, b } = await sideBySide();
  console.log(`(a) and (b) ran ${fmt(a.wallMs / 1000)} s and ${fmt(b.wallMs / 1000)} s`);

  const syncCalls = Object.values(a.syncAttempts).reduce((sum, n) => sum + n, 0);
  const p = (r: RunResult, q: number) => percentile(r.latencies, q);
  const snapshot =
    a.snapshotMs === undefined
      ? `not complete after ${fmt(a.wallMs / 1000)} s (${a.synced} of ${CUSTOMERS} synced)`
      : `${fmt(a.snapshotMs / 1000)} s = ${fmt(realMinutes(a.snapshotMs))} min (${fmt((a.snapshotMs / LIMIT_MS) * 100 - 100, 0)}% over the limit)`;
  const rows: Array<[string, string, string, string]> = [
    [
      'time to a complete snapshot (compressed s = real min)',
      snapshot,
      '-',
      `limit ${fmt(LIMIT_MS / 1000)} s = ${fmt(LIMIT_REAL_MINUTES)} min (${CALLS_NEEDED} calls at ${fmt(SHARE_RATE)}/min); within 10% (${fmt(LIMIT_REAL_MINUTES * 1.1)} min)`,
    ],
    [
      "429s the stand-in sent (sync / dashboard's)",
      `${a.standIn.counts.sync.throttled + a.standIn.counts.dashboard.throttled} (${a.standIn.counts.sync.throttled} / ${a.standIn.counts.dashboard.throttled})`,
      `${b.standIn.counts.dashboard.throttled}`,
      '0',
    ],
    [
      'sync calls (attempts; real calls a minute)',
      `${syncCalls} (${fmt(syncCalls / realMinutes(a.wallMs), 0)}/min)`,
      '-',
      `${CALLS_NEEDED} (${PAGES} pages + 3 x ${CUSTOMERS} + ${METADATA_READS} metadata) at ${fmt(SHARE_RATE, 0)}/min`,
    ],
    [
      "dashboard's upstream calls",
      `${a.standIn.counts.dashboard.calls}`,
      `${b.standIn.counts.dashboard.calls}`,
      `${2 * PAGE} a refresh`,
    ],
    ['most calls accepted in one quota window', `${a.standIn.peak}`, `${b.standIn.peak}`, `${QUOTA}`],
    [
      'most calls the gateway sent / that arrived, in one quota window',
      `${peakInWindow(a.sent)} / ${peakInWindow(a.standIn.arrivals)}`,
      `${peakInWindow(b.sent)} / ${peakInWindow(b.standIn.arrivals)}`,
      `${PACING_RATE} (pacing); ${QUOTA} (the stand-in's limit)`,
    ],
    [
      'from sent to arrived, p50 / p99 / max (compressed ms); stand-in event-loop delay max; its nice',
      `${transit(a)}; ${a.standIn.nice}`,
      `${transit(b)}; ${b.standIn.nice}`,
      '-',
    ],
    [
      'in the window before the first 429: calls sent / arrived',
      a.standIn.throttledAt[0] === undefined
        ? 'no 429'
        : `${inWindowBefore(a.sent, a.standIn.throttledAt[0])} / ${inWindowBefore(a.standIn.arrivals, a.standIn.throttledAt[0])}`,
      '-',
      '-',
    ],
    ['dashboard requests', `${a.refreshes}`, `${b.refreshes}`, '-'],
    ['dashboard p50 (real ms)', fmt(p(a, 0.5)), fmt(p(b, 0.5)), '-'],
    ['dashboard p90 (real ms)', fmt(p(a, 0.9)), fmt(p(b, 0.9)), '-'],
    [
      'dashboard p99 (real ms)',
      fmt(p(a, 0.99)),
      fmt(p(b, 0.99)),
      `within 20% (${fmt((p(a, 0.99) / p(b, 0.99)) * 100 - 100, 0)}%)`,
    ],
    ['slowest refresh (real ms): the longest event-loop delay during it', slowest(a), slowest(b), '-'],
    [
      'refreshes during which the event loop stalled 50 ms or more',
      `${a.stallsDuring.filter((ms) => ms >= STALL_MS).length}`,
      `${b.stallsDuring.filter((ms) => ms >= STALL_MS).length}`,
      '-',
    ],
    [
      'dashboard errors (fields; requests with one)',
      `${codes(a.errorsByCode)} (${a.refreshesWithErrors})`,
      `${codes(b.errorsByCode)} (${b.refreshesWithErrors})`,
      '0',
    ],
    ['dashboard transport failures', `${a.transportFailures}`, `${b.transportFailures}`, '0'],
    [
      'calls held back by the gateway (pacing / window)',
      `${a.heldBack.pacing} / ${a.heldBack.window}`,
      `${b.heldBack.pacing} / ${b.heldBack.window}`,
      '-',
    ],
    ['upstream attempts timed out or failed (all; retried)', `${a.attemptsFailed}`, `${b.attemptsFailed}`, '0'],
    [
      'event-loop delay p99 / max (real ms)',
      `${fmt(a.loopDelay.p99)} / ${fmt(a.loopDelay.max)}`,
      `${fmt(b.loopDelay.p99)} / ${fmt(b.loopDelay.max)}`,
      '-',
    ],
  ];

  // Where the sync's time goes: the gap from one accepted sync call to the next at the stand-in, the part of it the
  // stand-in spent answering, and the rest (the gateway's spacing, timers and work).
  const calls = a.standIn.syncCalls;
  const gaps: number[] = [];
  const answering: number[] = [];
  const idle: number[] = [];
  for (let i = 1; i < calls.length; i++) {
    const previous = calls[i - 1] as { arrived: number; answered: number };
    const current = calls[i] as { arrived: number; answered: number };
    gaps.push(current.arrived - previous.arrived);
    answering.push(previous.answered - previous.arrived);
    idle.push(current.arrived - previous.answered);
  }
  const spacing = sim(60_000) / SHARE_RATE;
  const gap = percentile(gaps, 0.5);
  rows.push([
    'sync: gap between calls, median (compressed ms: answering + after the answer)',
    `${fmt(gap, 2)} (${fmt(percentile(answering, 0.5), 2)} + ${fmt(percentile(idle, 0.5), 2)}) = ${fmt(60_000 / (gap * K), 0)} real calls/min; p90 ${fmt(percentile(gaps, 0.9), 2)}`,
    '-',
    `${fmt(spacing, 2)} (60/${K} s / ${fmt(SHARE_RATE, 0)})`,
  ]);

  rows.push([
    'process CPU over the run (real s; gateway and dashboard client)',
    fmt(a.cpuMs / 1000),
    fmt(b.cpuMs / 1000),
    '-',
  ]);

  console.log(`\n| figure | (a) sync + dashboard | (b) dashboard alone | goal |`);
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\nsync attempts by resource and status: ${codes(a.syncAttempts)}`);
  if (process.env.BENCH_DEBUG) {
    for (const r of [a, b]) {
      console.log(`${r.name} latencies: ${r.latencies.map((ms) => ms.toFixed(0)).join(' ')}`);
      console.log(`${r.name} stalls during them: ${r.stallsDuring.map((ms) => ms.toFixed(0)).join(' ')}`);
    }
  }
  console.log(`runtime ${fmt((Date.now() - processStarted) / 1000)} s`);
}

type Role = 'a' | 'b';
type ToParent = { type: 'ready' } | { type: 'complete' } | { type: 'result'; result: RunResult };
type ToChild = { type: 'start' } | { type: 'stop' };

/**
 * Runs (a) and (b) at the same time, each in a child process of its own (its own event loop, so the sync's work
 * delays only its own gateway), started together; (b) stops when (a) does. Whatever else the machine runs then
 * weighs on both alike. The dashboards refresh half a period apart, so the two never burst at the same moment.
 */
async function sideBySide(): Promise<Record<Role, RunResult>> {
  const children = (['a', 'b'] as const).map((role) => ({
    role,
    // With the node flags the gateway runs with in production (npm start's), and BENCH_NODE_ARGS.
    child: fork(fileURLToPath(import.meta.url), [], {
      env: { ...env, BENCH_ROLE: role },
      execArgv: [...process.execArgv, ...START_FLAGS, ...(env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
    }),
  }));
  const send = (message: ToChild, to: readonly Role[] = ['a', 'b']) => {
    for (const { role, child } of children) if (to.includes(role) && child.connected) child.send(message);
  };
  let ready = 0;
  const results = await Promise.all(
    children.map(
      ({ role, child }) =>
        new Promise<RunResult>((resolve, reject) => {
          let result: RunResult | undefined;
          child.on('message', (message: ToParent) => {
            if (message.type === 'ready' && ++ready === children.length) send({ type: 'start' });
            if (message.type === 'complete' && role === 'a') send({ type: 'stop' }, ['b']);
            if (message.type === 'result') result = message.result;
          });
          child.on('exit', (code) => {
            if (result) return resolve(result);
            // One run failed: the other is stopped too, so that the bench ends.
            for (const other of children) if (other.child.exitCode === null) other.child.kill();
            reject(new Error(`run (${role}) ended with code ${code} and no result`));
          });
        }),
    ),
  );
  return { a: results[0] as RunResult, b: results[1] as RunResult };
}

/** One child: a warm-up (JIT, first connections), then its run, started and stopped by the parent. */
async function child(role: Role): Promise<void> {
  const tell = (message: ToParent) =>
    new Promise<void>((resolve, reject) => {
      process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
    });
  const started = new Promise<void>((resolve) => {
    process.on('message', (message: ToChild) => {
      if (message.type === 'start') resolve();
    });
  });
  const stopRun = new AbortController();
  process.on('message', (message: ToChild) => {
    if (message.type === 'stop') stopRun.abort();
  });
  await run('warm-up', { sync: false, maxMs: 2_000, refreshMs: 50 });
  const result = await run(role === 'a' ? 'sync + dashboard' : 'dashboard alone', {
    sync: role === 'a',
    // (b) runs until (a) ends; its own bound only keeps a lost parent from leaving it running.
    maxMs: role === 'a' ? MAX_MS : MAX_MS + 10_000,
    stop: stopRun.signal,
    phaseMs: role === 'a' ? 0 : REFRESH_MS / 2,
    ready: async () => {
      await tell({ type: 'ready' });
      await started;
    },
  });
  if (role === 'a') await tell({ type: 'complete' });
  await tell({ type: 'result', result });
  process.disconnect();
}

const role = env.BENCH_ROLE;
(role === 'stand-in' ? standInMain() : role === 'a' || role === 'b' ? child(role) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
