// The response cache of the customer base: callers with the read role share
// one cached answer (no resolver runs for the second), a caller without the
// role or without a token never gets it; a change to one customer (a
// mutation, a sync read) drops the pages that hold it and the summaries, and
// nothing else but the pages it can move into (a name, a relationship, a
// listing move every page); replicas share answers and invalidation through
// Redis; in forward mode nothing is cached.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/config';
import { SecretSetting } from '../src/config/sign-in-settings';
import { firstPassEnded } from './support/customer-base';
import { createChangingStandIn } from './support/customer-world';
import { DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
import { customerId, type RunningGateway, startGateway } from './support/gateway';
import { type CapturedLogs, captureLogs } from './support/logs';
import { sampleValue, scrape } from './support/prometheus';
import { type RedisServer, startRedis } from './support/redis-server';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { startUpstream, type Upstream } from './support/upstream';

/** The stand-in whose customers each test changes; every list read after the first waits for its gate. */
const stand = createChangingStandIn();

const KEY = Buffer.alloc(32, 7).toString('base64');

let entra: EntraStandIn;
let upstream: Upstream;
let reader: string;
let otherReader: string;
let writer: string;
let running: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream(stand.handler);
  entra = await startEntra();
  reader = await entra.signCallerToken();
  otherReader = await entra.signCallerToken({ sub: 'another-reader', oid: '44444444-4444-4444-8444-444444444444' });
  writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
});
afterAll(async () => {
  await entra.close();
  await upstream.close();
});
beforeEach(() => {
  stand.reset();
  upstream.calls.length = 0;
  entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);
});
afterEach(async () => {
  stand.openGate();
  for (const gw of running) await gw.close();
  running = [];
});

async function syncing(logs: CapturedLogs, overrides: Partial<Config> = {}, redisUrl?: string) {
  const gw = await startSignedInGateway(
    upstream.url,
    // With Redis, the refresh token is kept there, encrypted.
    signInSettings(entra, 'app-user', redisUrl ? { tokenEncryptionKey: new SecretSetting(KEY) } : {}),
    { ratePerMinute: 600_000, syncRatePerMinute: 300_000, responseCacheTtlSeconds: 60, redisUrl, ...overrides },
    {
      logger: logs.logger,
      // Data is due again 200 ms after it was read: once the gate opens, the next pass reads every customer again.
      customerBase: { maxAgeMs: 200, pollMs: 50, writeDelayMs: 300 },
      ...(redisUrl ? { quota: { redis: { commandTimeoutMs: 1_000 } } } : {}),
    },
  );
  running.push(gw);
  await firstPassEnded(gw, bearer(reader));
  return gw;
}

interface Answer {
  status: number;
  etag: string | null;
  lastModified: string | null;
  cache: { hit: boolean } | undefined;
  data: unknown;
  codes: unknown[];
}

async function ask(gw: RunningGateway, query: string, headers: Record<string, string | null> = bearer(reader)) {
  const response = await gw.query(query, undefined, headers);
  const body = response.body as typeof response.body & { extensions?: { responseCache?: { hit: boolean } } };
  return {
    status: response.status,
    etag: response.headers.get('etag'),
    lastModified: response.headers.get('last-modified'),
    cache: body.extensions?.responseCache,
    data: body.data,
    codes: (body.errors ?? []).map((error) => error.extensions?.code),
  } satisfies Answer;
}

const FIRST_PAGE =
  '{ customerBase { customers(first: 2) { nodes { id qualifications { kind } } pageInfo { endCursor } } } }';
const pageAfter = (cursor: string) =>
  `{ customerBase { customers(first: 2, after: "${cursor}") { nodes { id qualifications { kind vettingStatus } } } } }`;
const SUMMARY = '{ customerBase { summary { customers qualifications { kind vettingStatus count } } } }';
const STATE_OWNED = '{ customerBase { customers(where: { qualification: STATE_OWNED_ENTITY }) { nodes { id } } } }';
const NOT_SIGNED = '{ customerBase { customers(first: 2, where: { mcaDirectlySigned: false }) { nodes { id } } } }';

const idsOf = (answer: Answer) => JSON.stringify(answer.data).match(/[0-9a-f-]{36}/g) ?? [];
const executed = async (gw: RunningGateway) =>
  (await scrape(gw))
    .filter((sample) => sample.name === 'graphql_envelop_request')
    .reduce((sum, sample) => sum + sample.value, 0);
const cacheCount = async (gw: RunningGateway, result: 'hit' | 'miss') =>
  sampleValue(await scrape(gw), 'gateway_response_cache_total', { result }) ?? 0;

/** The bytes a caller receives, as sent. */
async function bytesOf(gw: RunningGateway, query: string, token = reader) {
  const response = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ query }),
  });
  return {
    text: await response.text(),
    type: response.headers.get('content-type'),
    etag: response.headers.get('etag'),
  };
}

/** A hit's bytes are the miss's, but for what responseCache says: the data as executed, no internal extension. */
function expectHitBytesLikeMiss(miss: { text: string }, hit: { text: string }) {
  const missCache = '"responseCache":{"hit":false,"didCache":true,"ttl":60000}}}';
  expect(miss.text.endsWith(missCache)).toBe(true);
  expect(hit.text).toBe(`${miss.text.slice(0, -missCache.length)}"responseCache":{"hit":true}}}`);
  expect(hit.text).not.toContain('"http"');
}

describe('sharing', () => {
  it('serves a second caller with the read role the first caller’s answer, without running a resolver', async () => {
    const logs = captureLogs('info');
    const gw = await syncing(logs);
    const first = await ask(gw, FIRST_PAGE);
    expect(first.cache).toEqual({ hit: false, didCache: true, ttl: 60_000 });
    expect(first.etag).toBeTruthy();
    const executedBefore = await executed(gw);

    const second = await ask(gw, FIRST_PAGE, bearer(otherReader));
    expect(second.cache).toEqual({ hit: true });
    expect(second.data).toEqual(first.data);
    expect(second.etag).toBe(first.etag);
    // Last-Modified says when the answer was cached: the first answer's time.
    expect(second.lastModified).toBe(first.lastModified);
    expect(await executed(gw)).toBe(executedBefore);
    expect(await cacheCount(gw, 'hit')).toBe(1);
    expect(await cacheCount(gw, 'miss')).toBe(1);
    const lines = logs.withMessage('graphql request').filter((line) => line.responseCache !== undefined);
    expect(lines.map((line) => line.responseCache)).toEqual(['miss', 'hit']);
  });

  it('answers a hit with the bytes the miss was answered with, its responseCache extension aside', async () => {
    const gw = await syncing(captureLogs('info'));
    const miss = await bytesOf(gw, FIRST_PAGE);
    const hit = await bytesOf(gw, FIRST_PAGE, otherReader);
    expectHitBytesLikeMiss(miss, hit);
    expect(hit.type).toBe(miss.type);
    expect(hit.etag).toBe(miss.etag);
    // Served again, the same bytes.
    expect((await bytesOf(gw, FIRST_PAGE)).text).toBe(hit.text);
  });

  it('never caches sync, changes, or an operation that asks for anything besides customerBase', async () => {
    const gw = await syncing(captureLogs('info'));
    for (const query of [
      '{ customerBase { sync { customersKnown } summary { customers } } }',
      '{ customerBase { changes { nodes { kind } } } }',
      `{ customerBase { summary { customers } } customer(id: "${customerId(1)}") { id } }`,
    ]) {
      await ask(gw, query);
      const again = await ask(gw, query);
      expect(again.cache).toBeUndefined();
      expect(again.etag).toBeNull();
    }
    expect(await cacheCount(gw, 'hit')).toBe(0);
  });
});

/** Posts a document as a client sends it, with its operation name and variables; `accept` may ask for multipart. */
async function post(
  gw: RunningGateway,
  request: { query: string; operationName?: string; variables?: Record<string, unknown> },
  accept = 'application/json',
) {
  const response = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...bearer(reader) },
    body: JSON.stringify(request),
  });
  const text = await response.text();
  const body = (accept === 'application/json' ? JSON.parse(text) : {}) as {
    data?: unknown;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
    extensions?: { responseCache?: { hit: boolean } };
  };
  return { status: response.status, text, body, cache: body.extensions?.responseCache };
}

describe('what is cached', () => {
  it('caches a query that reaches summary and customers through fragments, inline fragments, aliases and @include', async () => {
    const gw = await syncing(captureLogs('info'));
    const requests = [
      {
        query: `query Named { __typename customerBase { ...Base } }
          fragment Base on CustomerBase { summary { customers } ...Page ... on CustomerBase { __typename } }
          fragment Page on CustomerBase { customers(first: 1) { nodes { id } } }`,
        operationName: 'Named',
      },
      { query: '{ ... on Query { one: customerBase { s: summary { customers } } two: customerBase { __typename } } }' },
      {
        query:
          '{ customerBase { ...S other: summary { customers } ...S } } fragment S on CustomerBase { summary { customers } }',
      },
      {
        query:
          '{ customerBase { summary @include(if: true) { customers } customers(first: 1) @skip(if: true) { nodes { id } } } }',
      },
    ];
    for (const request of requests) {
      const first = await post(gw, request);
      expect(first.body.errors).toBeUndefined();
      expect(first.cache, request.query).toEqual({ hit: false, didCache: true, ttl: 60_000 });
      const again = await post(gw, request);
      expect(again.cache).toEqual({ hit: true });
      expect(again.body.data).toEqual(first.body.data);
    }
    expect(await cacheCount(gw, 'hit')).toBe(requests.length);
  });

  it('never caches sync or another root field reached through a fragment, nor @defer or @stream', async () => {
    const gw = await syncing(captureLogs('info'));
    for (const query of [
      '{ customerBase { ...F } } fragment F on CustomerBase { summary { customers } sync { customersKnown } }',
      '{ customerBase { summary { customers } ... on CustomerBase { sync { customersKnown } } } }',
      '{ ...Q } fragment Q on Query { customerBase { summary { customers } } __schema { queryType { name } } }',
      '{ customerBase { summary { customers } } __schema { __typename } }',
      '{ __typename }',
    ]) {
      const first = await post(gw, { query });
      expect(first.body.errors).toBeUndefined();
      expect(first.cache).toBeUndefined();
      expect((await post(gw, { query })).cache).toBeUndefined();
    }
    for (const query of [
      '{ customerBase { summary { customers } ... @defer { customers(first: 1) { nodes { id } } } } }',
      '{ customerBase { customers(first: 2) { nodes @stream { id } } } }',
    ]) {
      const before = await executed(gw);
      for (let i = 0; i < 2; i++) {
        const answer = await post(gw, { query }, 'multipart/mixed');
        expect(answer.status).toBe(200);
        expect(answer.text).toContain(customerId(1));
        expect(answer.text).not.toContain('responseCache');
      }
      // Both ran.
      expect(await executed(gw)).toBe(before + 2);
    }
    expect(await cacheCount(gw, 'hit')).toBe(0);
    expect(await cacheCount(gw, 'miss')).toBe(0);
  });

  it('tells apart the operations of one document by the operation name', async () => {
    const gw = await syncing(captureLogs('info'));
    const query = `query Counts { customerBase { summary { customers } } }
      query Sync { customerBase { sync { customersKnown } } }
      query Count { customerBase { summary { customers } } }`;
    await post(gw, { query, operationName: 'Counts' });
    expect((await post(gw, { query, operationName: 'Counts' })).cache).toEqual({ hit: true });
    // The same selection under another name is another answer.
    const count = await post(gw, { query, operationName: 'Count' });
    expect(count.cache?.hit).toBe(false);
    expect(count.body.data).toEqual({ customerBase: { summary: { customers: 5 } } });
    for (let i = 0; i < 2; i++) {
      const sync = await post(gw, { query, operationName: 'Sync' });
      expect(sync.body.data).toEqual({ customerBase: { sync: { customersKnown: 5 } } });
      expect(sync.cache).toBeUndefined();
    }
  });

  it('answers a document it cannot cache with the error it gets without the cache', async () => {
    const gw = await syncing(captureLogs('info'));
    for (const [query, message] of [
      ['{ customerBase { summary { customers } }', 'Syntax Error: Expected Name, found <EOF>.'],
      ['{ customerBase { ...Missing } }', 'Unknown fragment "Missing".'],
      ['{ ...Missing }', 'Unknown fragment "Missing".'],
      [
        '{ customerBase { ...A } } fragment A on CustomerBase { summary { customers } ...B } fragment B on CustomerBase { ...A }',
        'Cannot spread fragment "A" within itself via "B".',
      ],
      [
        '{ customerBase }',
        'Field "customerBase" of type "CustomerBase!" must have a selection of subfields. Did you mean "customerBase { ... }"?',
      ],
      [
        'query A { customerBase { summary { customers } } } query B { customerBase { summary { customers } } }',
        'Could not determine what operation to execute.',
      ],
    ] as const) {
      const answer = await post(gw, { query });
      expect(answer.body.errors?.map((error) => error.message)).toEqual([message]);
      expect(answer.cache).toBeUndefined();
    }
  });

  it('tags a page whose filter is a variable by the filter each request gives, and drops exactly those a mutation moves', async () => {
    const gw = await syncing(captureLogs('info'));
    const query =
      'query Page($where: CustomerFilter) { customerBase { customers(first: 2, where: $where) { nodes { id } } } }';
    const pages: Array<[Record<string, unknown> | undefined, number[]]> = [
      [undefined, [1, 2]],
      [{ where: null }, [1, 2]],
      [{ where: { qualification: 'STATE_OWNED_ENTITY' } }, []],
      [{ where: { mcaDirectlySigned: false } }, [1, 2]],
      [{ where: { companyNameStartsWith: 'Company 00' } }, [1, 2]],
    ];
    for (const [variables, ids] of pages) {
      const first = await post(gw, { query, variables });
      expect(JSON.stringify(first.body.data).match(/[0-9a-f-]{36}/g) ?? []).toEqual(ids.map(customerId));
      expect(first.cache?.hit).toBe(false);
    }
    // Each request's variables are their own answer.
    for (const [variables] of pages) expect((await post(gw, { query, variables })).cache).toEqual({ hit: true });

    const { body } = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(3)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(body.errors).toBeUndefined();
    // The page filtered by qualification held nobody: the moved qualification drops it all the same.
    const moved = await post(gw, { query, variables: { where: { qualification: 'STATE_OWNED_ENTITY' } } });
    expect(moved.cache?.hit).toBe(false);
    expect(JSON.stringify(moved.body.data)).toContain(customerId(3));
    // None holds customer 3, and no filter of theirs reads qualifications.
    for (const [variables] of pages.filter((_, i) => i !== 2)) {
      expect((await post(gw, { query, variables })).cache).toEqual({ hit: true });
    }
  });
});

describe('the read role', () => {
  it('refuses a caller without the read role and one without a token, also right after a hit', async () => {
    const gw = await syncing(captureLogs('info'));
    await ask(gw, SUMMARY);
    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });
    const noRole = await entra.signCallerToken({ roles: ['Something.Else'] });

    const forbidden = await ask(gw, SUMMARY, bearer(noRole));
    expect(forbidden.codes).toEqual(['FORBIDDEN']);
    expect(forbidden.data ?? null).toBeNull();
    expect(forbidden.cache).toBeUndefined();

    const anonymous = await ask(gw, SUMMARY, { authorization: null });
    expect(anonymous.codes).toEqual(['UNAUTHENTICATED']);
    expect(anonymous.data ?? null).toBeNull();

    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });
    expect(await cacheCount(gw, 'hit')).toBe(2);
  });
});

describe('invalidation', () => {
  it('answers afresh, at once, the pages holding a customer a mutation changed and the summaries; the others stay hits', async () => {
    const gw = await syncing(captureLogs('info'));
    const first = await ask(gw, FIRST_PAGE);
    const cursor = (first.data as { customerBase: { customers: { pageInfo: { endCursor: string } } } }).customerBase
      .customers.pageInfo.endCursor;
    const second = await ask(gw, pageAfter(cursor));
    expect(idsOf(second)).toEqual([customerId(3), customerId(4)]);
    for (const query of [SUMMARY, STATE_OWNED, NOT_SIGNED]) await ask(gw, query);
    for (const query of [FIRST_PAGE, pageAfter(cursor), SUMMARY, STATE_OWNED, NOT_SIGNED]) {
      expect((await ask(gw, query)).cache).toEqual({ hit: true });
    }

    const { body } = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(3)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(body.errors).toBeUndefined();

    // No wait: the write of the snapshot and the invalidation are one step.
    const holding = await ask(gw, pageAfter(cursor));
    expect(holding.cache).toEqual({ hit: false, didCache: true, ttl: 60_000 });
    expect(JSON.stringify(holding.data)).toContain('STATE_OWNED_ENTITY');
    const summary = await ask(gw, SUMMARY);
    expect(summary.cache?.hit).toBe(false);
    expect(JSON.stringify(summary.data)).toContain('STATE_OWNED_ENTITY');
    // A page filtered by qualification the customer now matches.
    const stateOwned = await ask(gw, STATE_OWNED);
    expect(stateOwned.cache?.hit).toBe(false);
    expect(idsOf(stateOwned)).toEqual([customerId(3)]);
    // Pages that do not hold it, and whose filter its change cannot move it into.
    expect((await ask(gw, FIRST_PAGE)).cache).toEqual({ hit: true });
    expect((await ask(gw, NOT_SIGNED)).cache).toEqual({ hit: true });
  });

  it('answers afresh the page and summary a sync read changed, once the pass has read it', async () => {
    const gw = await syncing(captureLogs('info'));
    const before = await ask(gw, FIRST_PAGE);
    expect(JSON.stringify(before.data)).not.toContain('APPROVED');
    await ask(gw, SUMMARY);
    expect((await ask(gw, FIRST_PAGE)).cache).toEqual({ hit: true });
    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });

    stand.world.vetting.set(1, 'Approved');
    stand.openGate();
    await expect
      .poll(async () => JSON.stringify((await ask(gw, SUMMARY)).data), { timeout: 10_000, interval: 25 })
      .toContain('APPROVED');
    const page = await ask(
      gw,
      '{ customerBase { customers(first: 2) { nodes { id qualifications { vettingStatus } } } } }',
    );
    expect(JSON.stringify(page.data)).toContain('APPROVED');
  });

  it('answers afresh the pages a customer listed or an attestation moves, though they do not hold that customer', async () => {
    const gw = await syncing(captureLogs('info'));
    const ALL = '{ customerBase { customers(first: 10) { nodes { id } } } }';
    const ACCEPTED = '{ customerBase { customers(where: { mcaAccepted: true }) { nodes { id } } } }';
    const COUNTS = '{ customerBase { summary { customers mcaAccepted } } }';
    const SIXTH = '{ customerBase { customers(where: { companyNameStartsWith: "Company 006" }) { nodes { id } } } }';
    expect(idsOf(await ask(gw, ALL))).toEqual([1, 2, 3, 4, 5].map(customerId));
    expect(idsOf(await ask(gw, ACCEPTED))).toEqual([]);
    expect((await ask(gw, COUNTS)).data).toEqual({ customerBase: { summary: { customers: 5, mcaAccepted: 0 } } });
    expect(idsOf(await ask(gw, SIXTH))).toEqual([]);
    for (const query of [ALL, ACCEPTED, COUNTS, SIXTH]) expect((await ask(gw, query)).cache).toEqual({ hit: true });

    stand.world.listed = [1, 2, 3, 4, 5, 6];
    stand.world.attested.add(2);
    stand.openGate();
    await expect
      .poll(async () => JSON.stringify((await ask(gw, '{ customerBase { changes { nodes { kind } } } }')).data), {
        timeout: 10_000,
        interval: 25,
      })
      .toMatch(/CUSTOMER_LISTED.*MCA_ACCEPTED|MCA_ACCEPTED.*CUSTOMER_LISTED/);
    // The first page holds neither customer 6 nor an attestation: listing a customer moves every page.
    expect(idsOf(await ask(gw, ALL))).toEqual([1, 2, 3, 4, 5, 6].map(customerId));
    // A page that held nobody: the attestation moves customer 2 into it.
    expect(idsOf(await ask(gw, ACCEPTED))).toEqual([customerId(2)]);
    expect((await ask(gw, COUNTS)).data).toEqual({ customerBase: { summary: { customers: 6, mcaAccepted: 1 } } });
    // A page that held nobody, and no filter a fact moves: only the listing moves customer 6 into it.
    expect(idsOf(await ask(gw, SIXTH))).toEqual([customerId(6)]);
  });

  /** Changes the world, lets the held pass go on, and resolves once it has ended. */
  async function afterPass(gw: RunningGateway, change: () => void) {
    const completedAt = async () =>
      JSON.stringify((await ask(gw, '{ customerBase { sync { lastPassCompletedAt } } }')).data);
    const before = await completedAt();
    change();
    stand.openGate();
    await expect.poll(completedAt, { timeout: 10_000, interval: 25 }).not.toBe(before);
  }

  // Each pass reads every customer again (due 200 ms after its read), so a page that holds any customer is answered
  // afresh after it whatever moved: what these tests look at is the pages that hold nobody the pass read, and the
  // summary, which only a moved fact drops.
  it('answers afresh, after a pass that read a customer renamed, the page of its new name that held nobody', async () => {
    const gw = await syncing(captureLogs('info'));
    const RENAMED =
      '{ customerBase { customers(where: { companyNameStartsWith: "Renamed" }) { nodes { id companyName } } } }';
    expect((await ask(gw, RENAMED)).data).toEqual({ customerBase: { customers: { nodes: [] } } });
    expect((await ask(gw, RENAMED)).cache).toEqual({ hit: true });

    await afterPass(gw, () => stand.world.names.set(3, 'Renamed Ltd'));
    expect((await ask(gw, RENAMED)).data).toEqual({
      customerBase: { customers: { nodes: [{ id: customerId(3), companyName: 'Renamed Ltd' }] } },
    });
  });

  it('answers afresh, after a pass that read a customer’s relationship changed, the page of that relationship', async () => {
    const gw = await syncing(captureLogs('info'));
    const ADVISED = '{ customerBase { customers(where: { relationshipToPartner: ADVISOR }) { nodes { id } } } }';
    expect(idsOf(await ask(gw, ADVISED))).toEqual([]);
    expect((await ask(gw, ADVISED)).cache).toEqual({ hit: true });

    await afterPass(gw, () => stand.world.relationships.set(2, 'advisor'));
    expect(idsOf(await ask(gw, ADVISED))).toEqual([customerId(2)]);
  });

  it('answers afresh the summary after a pass that found a customer dropped from the list', async () => {
    const gw = await syncing(captureLogs('info'));
    const COUNT = '{ customerBase { summary { customers } } }';
    expect((await ask(gw, COUNT)).data).toEqual({ customerBase: { summary: { customers: 5 } } });
    expect((await ask(gw, COUNT)).cache).toEqual({ hit: true });

    await afterPass(gw, () => {
      stand.world.listed = [1, 2, 3, 4];
    });
    expect((await ask(gw, COUNT)).data).toEqual({ customerBase: { summary: { customers: 4 } } });
  });

  it('answers afresh, after a pass that found a customer listed, the page of its name that held nobody', async () => {
    const gw = await syncing(captureLogs('info'));
    const NAMED = '{ customerBase { customers(where: { companyNameStartsWith: "Company 006" }) { nodes { id } } } }';
    expect(idsOf(await ask(gw, NAMED))).toEqual([]);
    expect((await ask(gw, NAMED)).cache).toEqual({ hit: true });

    await afterPass(gw, () => {
      stand.world.listed = [1, 2, 3, 4, 5, 6];
    });
    expect(idsOf(await ask(gw, NAMED))).toEqual([customerId(6)]);
  });

  it('answers afresh, after a pass that read a customer’s direct MCA signature, the page of signed customers', async () => {
    const gw = await syncing(captureLogs('info'));
    const SIGNED = '{ customerBase { customers(where: { mcaDirectlySigned: true }) { nodes { id } } } }';
    expect(idsOf(await ask(gw, SIGNED))).toEqual([]);
    expect((await ask(gw, SIGNED)).cache).toEqual({ hit: true });

    stand.world.signed.add(4);
    stand.openGate();
    // Customer 4 may fall due only in the pass after the one the gate held: the change log says when it was read.
    await expect
      .poll(async () => JSON.stringify((await ask(gw, '{ customerBase { changes { nodes { kind } } } }')).data), {
        timeout: 10_000,
        interval: 25,
      })
      .toContain('MCA_ACCEPTED');
    expect(idsOf(await ask(gw, SIGNED))).toEqual([customerId(4)]);
  });

  it('keeps the summary a hit across sync passes that read every customer again and find nothing changed', async () => {
    const gw = await syncing(captureLogs('info'));
    await ask(gw, SUMMARY);
    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });
    const completedAt = async () =>
      JSON.stringify((await ask(gw, '{ customerBase { sync { lastPassCompletedAt } } }')).data);
    const before = await completedAt();
    stand.openGate();
    // Two more passes: each one reads every customer again (due 200 ms after its read), and only read times move.
    await expect.poll(completedAt, { timeout: 10_000, interval: 25 }).not.toBe(before);
    const once = await completedAt();
    await expect.poll(completedAt, { timeout: 10_000, interval: 25 }).not.toBe(once);
    expect(upstream.calls.filter((call) => call.resource === 'qualifications').length).toBeGreaterThan(5);
    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });
  });

  it('never serves a page cached before a sync read changed its customer, once the change is recorded', async () => {
    const gw = await syncing(captureLogs('info'));
    const PAGE = '{ customerBase { customers(first: 1) { nodes { id qualifications { vettingStatus } } } } }';
    await ask(gw, PAGE);
    expect((await ask(gw, PAGE)).cache).toEqual({ hit: true });
    stand.world.vetting.set(1, 'Approved');
    stand.openGate();
    // Once the change log holds the change, the snapshot holds it, and no cached answer may say otherwise.
    await expect
      .poll(async () => JSON.stringify((await ask(gw, '{ customerBase { changes { nodes { kind } } } }')).data), {
        timeout: 10_000,
        interval: 25,
      })
      .toContain('VETTING_STATUS_CHANGED');
    expect(JSON.stringify((await ask(gw, PAGE)).data)).toContain('APPROVED');
  });
});

describe('replicas', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('share answers, and a change on one replica drops the other replica’s cached page', async () => {
    const one = await syncing(captureLogs('info'), {}, redis.url);
    const two = await syncing(captureLogs('info'), {}, redis.url);
    const PAGE = '{ customerBase { customers(first: 3) { nodes { id qualifications { kind } } } } }';
    const OTHER =
      '{ customerBase { customers(first: 2, where: { companyNameStartsWith: "Company 005" }) { nodes { id } } } }';
    expect(idsOf(await ask(two, PAGE))).toEqual([customerId(1), customerId(2), customerId(3)]);
    expect((await ask(two, PAGE)).cache).toEqual({ hit: true });
    // The other replica is served what this one cached.
    expect((await ask(one, PAGE)).cache).toEqual({ hit: true });
    await ask(one, OTHER);
    expect((await ask(two, OTHER)).cache).toEqual({ hit: true });

    const { body } = await one.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(2)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(body.errors).toBeUndefined();
    // The other replica has not read the write yet (it travels after writeDelayMs): it answers from its own copy,
    // and the answer it caches now is dropped when it reads the write, so it answers afresh from then on.
    await ask(two, PAGE);
    await expect
      .poll(async () => JSON.stringify((await ask(two, PAGE)).data), { timeout: 5_000, interval: 20 })
      .toContain('STATE_OWNED_ENTITY');
    expect(JSON.stringify((await ask(one, PAGE)).data)).toContain('STATE_OWNED_ENTITY');
    // Answers are kept under the partner's prefix, and the page that does not hold customer 2 is still shared.
    expect((await redis.client.keys('pcgw:rc:*')).length).toBeGreaterThan(0);
    expect((await ask(two, OTHER)).cache?.hit).toBe(true);
  });

  it('answer a hit read from Redis with the bytes of the miss, and a changed answer with its new bytes', async () => {
    const one = await syncing(captureLogs('info'), {}, redis.url);
    const two = await syncing(captureLogs('info'), {}, redis.url);
    const miss = await bytesOf(one, FIRST_PAGE);
    expectHitBytesLikeMiss(miss, await bytesOf(two, FIRST_PAGE));
    expectHitBytesLikeMiss(miss, await bytesOf(two, FIRST_PAGE));

    const { body } = await one.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(body.errors).toBeUndefined();
    // The other replica applies the write too, and its invalidation may drop the page once more: asked until a miss
    // is followed by a hit (a bounded number of times), the hit's bytes are the new miss's.
    let pair: { fresh: { text: string }; hit: { text: string } } | undefined;
    for (let tries = 0; tries < 50 && pair === undefined; tries++) {
      const fresh = await bytesOf(one, FIRST_PAGE);
      const hit = await bytesOf(one, FIRST_PAGE);
      if (fresh.text.includes('"hit":false') && hit.text.includes('"hit":true')) pair = { fresh, hit };
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (pair === undefined) throw new Error('no miss followed by a hit after the write');
    expect(pair.fresh.text).toContain('STATE_OWNED_ENTITY');
    expectHitBytesLikeMiss(pair.fresh, pair.hit);
  });

  const OTHER =
    '{ customerBase { customers(first: 2, where: { companyNameStartsWith: "Company 005" }) { nodes { id } } } }';
  const addStateOwned = async (gw: RunningGateway, n: number) => {
    const { body } = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(n)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(body.errors).toBeUndefined();
  };
  /** Makes the summaries' tag a string, so that Redis refuses (WRONGTYPE) every drop that reaches it; undoes it. */
  async function refuseDrops(): Promise<() => Promise<void>> {
    const [summaries] = await redis.client.keys('pcgw:rc:*:t:CustomerBaseSummary');
    if (summaries === undefined) throw new Error('no summary is cached');
    const members = await redis.client.smembers(summaries);
    await redis.client.del(summaries);
    await redis.client.set(summaries, 'not a set');
    return async () => {
      await redis.client.del(summaries);
      await redis.client.sadd(summaries, ...members);
    };
  }

  it('keep an answer and its tags for the TTL, and serve nothing from Redis while an invalidation has not landed there', async () => {
    const gw = await syncing(captureLogs('info'), {}, redis.url);
    await ask(gw, OTHER);
    await ask(gw, SUMMARY);
    expect((await ask(gw, OTHER)).cache).toEqual({ hit: true });
    const answers = await redis.client.keys('pcgw:rc:*:r:*');
    expect(answers).toHaveLength(2);
    for (const key of [...answers, ...(await redis.client.keys('pcgw:rc:*:t:*'))]) {
      const ms = await redis.client.pttl(key);
      expect(ms).toBeGreaterThan(55_000);
      expect(ms).toBeLessThanOrEqual(60_000);
    }

    const undo = await refuseDrops();
    await addStateOwned(gw, 2);
    await addStateOwned(gw, 4);
    // The page is still in Redis and holds nobody the mutation changed, but this replica serves nothing from Redis
    // and stores nothing there until its invalidation has landed.
    expect((await ask(gw, OTHER)).cache?.hit).toBe(false);
    expect((await ask(gw, OTHER)).cache?.hit).toBe(false);
    const summary = await ask(gw, SUMMARY);
    expect(summary.cache?.hit).toBe(false);
    expect(JSON.stringify(summary.data)).toContain('STATE_OWNED_ENTITY');
    await ask(gw, FIRST_PAGE);
    expect((await redis.client.keys('pcgw:rc:*:r:*')).sort()).toEqual(answers.sort());

    // Once Redis takes the drops (retried each second), the summary cached before the mutations is gone, and the
    // page is served from Redis again.
    await undo();
    await expect.poll(async () => (await ask(gw, OTHER)).cache?.hit, { timeout: 10_000, interval: 50 }).toBe(true);
    expect((await redis.client.keys('pcgw:rc:*:r:*')).length).toBe(1);
    const afresh = await ask(gw, SUMMARY);
    expect(afresh.cache?.hit).toBe(false);
    expect(JSON.stringify(afresh.data)).toContain('STATE_OWNED_ENTITY');
    expect((await ask(gw, SUMMARY)).cache).toEqual({ hit: true });
  });

  it('answer from the snapshot, uncached, while Redis is away', async () => {
    const gw = await syncing(captureLogs('info'), {}, redis.url);
    await ask(gw, OTHER);
    expect((await ask(gw, OTHER)).cache).toEqual({ hit: true });
    await redis.kill();
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await ask(gw, OTHER);
        expect(answer.codes).toEqual([]);
        expect(idsOf(answer)).toEqual([customerId(5)]);
        expect(answer.cache?.hit).toBe(false);
      }
    } finally {
      await redis.restart();
    }
  });

  it('serve from Redis again once an invalidation that never landed is older than the TTL', async () => {
    const gw = await syncing(captureLogs('info'), { responseCacheTtlSeconds: 1 }, redis.url);
    await ask(gw, SUMMARY);
    await refuseDrops();
    await addStateOwned(gw, 2);
    await ask(gw, OTHER);
    expect((await ask(gw, OTHER)).cache?.hit).toBe(false);
    // What the invalidation was about has expired from Redis by then.
    await expect
      .poll(
        async () => {
          await ask(gw, OTHER);
          return (await ask(gw, OTHER)).cache?.hit;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
  });
});

describe('forward mode', () => {
  it('caches no response: two tokens asking the same customer both reach Partner Center', async () => {
    const gw = await startGateway(upstream.url, { responseCacheTtlSeconds: 60 });
    running.push(gw);
    const QUERY = `{ customer(id: "${customerId(1)}") { id qualifications { kind } } }`;
    const a = await ask(gw, QUERY, { authorization: 'Bearer forward-token-a' });
    const b = await ask(gw, QUERY, { authorization: 'Bearer forward-token-b' });
    for (const answer of [a, b]) {
      expect(answer.codes).toEqual([]);
      expect(answer.cache).toBeUndefined();
      expect(answer.etag).toBeNull();
    }
    expect(
      upstream.calls.filter((call) => call.resource === 'qualifications').map((call) => call.headers.authorization),
    ).toEqual(['Bearer forward-token-a', 'Bearer forward-token-b']);
  });
});
