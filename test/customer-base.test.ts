// The whole customer base: a gateway that signs in itself syncs a stand-in's
// roster of 600 customers in the background (the list at 500 a page, then
// each customer once), answers customerBase from the snapshot with no upstream
// call (summary, filters, ordered pages), keeps it in SNAPSHOT_PATH across a
// restart, shows a mutation at once, and waits out a 429.

import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firstPassEnded } from './support/customer-base';
import { DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { type SsePayload, subscribeOverSse } from './support/sse';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  type CustomerItem,
  createHold,
  customerListHandler,
  json,
  type RecordedCall,
  startUpstream,
  TEMPLATE_ID,
  type Upstream,
} from './support/upstream';

const SIZE = 600;
const NAMES = ['contoso', 'Fabrikam', 'Northwind', 'adatum', 'Contoso Labs', 'Woodgrove', 'Ćeska'];
/** Customer n: a name of NAMES (every 13th none), a relationship, a qualification and an MCA status by n. */
const nameOf = (n: number) => (n % 13 === 0 ? null : `${NAMES[n % NAMES.length]} ${n}`);
const relationshipOf = (n: number) => (n % 5 === 0 ? 'advisor' : 'reseller');
const qualificationsOf = (n: number) =>
  n % 3 === 0
    ? [{ qualification: 'StateOwnedEntity' }]
    : n % 3 === 1
      ? [
          {
            qualification: 'Education',
            vettingStatus: n % 2 ? 'InReview' : 'Approved',
            vettingCreateDate: '2020-12-04T20:54:24Z',
          },
        ]
      : [];
/** true, false, or 403 (no reseller relationship). */
const mcaOf = (n: number): boolean | 'forbidden' => (n % 7 === 0 ? 'forbidden' : n % 2 === 0);
/** Every third customer is attested by the partner (its agreements answer 403 too without a relationship). */
const attestedOf = (n: number) => n % 3 === 0;
/** Accepted: signed directly or attested; unknown without a relationship. */
const acceptedOf = (n: number): boolean | 'unknown' =>
  mcaOf(n) === 'forbidden' ? 'unknown' : mcaOf(n) === true || attestedOf(n);

const ROSTER: CustomerItem[] = Array.from({ length: SIZE }, (_, index) => {
  const n = index + 1;
  const id = customerId(n);
  return {
    id,
    companyProfile: {
      tenantId: id,
      domain: `c${n}.onmicrosoft.com`,
      ...(nameOf(n) === null ? {} : { companyName: nameOf(n) }),
    },
    relationshipToPartner: relationshipOf(n),
    attributes: { objectType: 'Customer' },
  };
});
const numberOf = (id: string) => Number.parseInt(id.slice(-12), 16);

const list = customerListHandler(ROSTER);
let throttleNext = false;
/** A status every customer read answers with (the sync's included), when set. */
let failWith: number | undefined;
function handler(call: RecordedCall, res: ServerResponse) {
  if (call.resource === 'customers') return list(call, res, 1);
  if (failWith !== undefined) return json(res, failWith, { code: failWith, description: 'Failing on purpose.' });
  const n = numberOf(call.customerId ?? '');
  if (call.resource === 'qualifications' && call.method === 'GET') {
    if (throttleNext) {
      throttleNext = false;
      return json(
        res,
        429,
        { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
        { 'retry-after': '1' },
      );
    }
    return json(res, 200, qualificationsOf(n));
  }
  if (call.resource === 'qualifications' && call.method === 'POST') {
    return json(res, 201, { qualification: 'StateOwnedEntity' });
  }
  if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
  if (call.resource === 'agreements' && mcaOf(n) !== 'forbidden') {
    return json(res, 200, agreementsBody(attestedOf(n) ? [ATTESTATION] : []));
  }
  if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus' || call.resource === 'agreements') {
    const mca = mcaOf(n);
    return mca === 'forbidden'
      ? json(res, 403, {
          code: 20002,
          description: 'No relationship between caller and account.',
          data: [],
          source: 'PartnerFD',
        })
      : json(res, 200, { isSigned: mca });
  }
  return json(res, 404, { code: 600008, description: 'Not found' });
}

let entra: EntraStandIn;
let upstream: Upstream;
let caller: string;
let running: RunningGateway[] = [];
const dir = mkdtempSync(join(tmpdir(), 'customer-base-'));

beforeAll(async () => {
  upstream = await startUpstream(handler);
  entra = await startEntra();
  caller = await entra.signCallerToken();
});
afterAll(async () => {
  await entra.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  upstream.calls.length = 0;
  throttleNext = false;
  failWith = undefined;
  // Each gateway begins from the configured refresh token, which the stand-in refuses once it has rotated.
  entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);
});
afterEach(async () => {
  for (const gw of running) await gw.close();
  running = [];
});

async function syncing(overrides: Record<string, unknown> = {}) {
  const gw = await startSignedInGateway(upstream.url, signInSettings(entra), {
    ratePerMinute: 600_000,
    syncRatePerMinute: 300_000,
    ...overrides,
  });
  running.push(gw);
  return gw;
}

const ask = async <T = Record<string, unknown>>(
  gw: RunningGateway,
  query: string,
  variables?: Record<string, unknown>,
) => {
  const { body } = await gw.query<T>(query, variables, bearer(caller));
  expect(body.errors).toBeUndefined();
  return body.data as T;
};

const passEnded = (gw: RunningGateway) => firstPassEnded(gw, bearer(caller));

const callsBy = (resource: string) =>
  upstream.calls.filter((call) => call.resource === resource && call.method === 'GET');

describe('the customer base', () => {
  it('reads the list at 500 a page, then each customer once per resource, in one pass', async () => {
    const gw = await syncing();
    await passEnded(gw);

    expect(callsBy('customers').map((call) => call.query.get('size'))).toEqual(['500', '500']);
    const qualifications = callsBy('qualifications').map((call) => call.customerId);
    const mca = callsBy('directSignedMicrosoftCustomerAgreementStatus').map((call) => call.customerId);
    expect(qualifications).toHaveLength(SIZE);
    expect(new Set(qualifications).size).toBe(SIZE);
    expect(mca).toHaveLength(SIZE);
    expect(new Set(mca).size).toBe(SIZE);
    const agreements = callsBy('agreements');
    expect(agreements).toHaveLength(SIZE);
    expect(new Set(agreements.map((call) => call.customerId)).size).toBe(SIZE);
    expect(agreements.every((call) => call.query.get('agreementType') === 'MicrosoftCustomerAgreement')).toBe(true);
    // The current template, once for the whole pass.
    expect(callsBy('agreement_metadata')).toHaveLength(1);
    const data = await ask<{ customerBase: { sync: Record<string, unknown> } }>(
      gw,
      '{ customerBase { sync { enabled customersKnown customersSynced } } }',
    );
    expect(data.customerBase.sync).toEqual({ enabled: true, customersKnown: SIZE, customersSynced: SIZE });
  });

  it('answers before its first pass has ended: nothing known, no pass completed, an empty page', async () => {
    const hold = createHold();
    upstream.setHandler(hold.handler(handler));
    try {
      const gw = await syncing();
      await hold.untilHeld(1);
      const data = await ask(
        gw,
        '{ customerBase { sync { enabled customersKnown customersSynced lastPassCompletedAt oldestSyncedAt } summary { customers } customers { nodes { id } pageInfo { hasNextPage endCursor } } } }',
      );
      expect(data).toEqual({
        customerBase: {
          sync: {
            enabled: true,
            customersKnown: 0,
            customersSynced: 0,
            lastPassCompletedAt: null,
            oldestSyncedAt: null,
          },
          summary: { customers: 0 },
          customers: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } },
        },
      });
    } finally {
      hold.open();
      upstream.setHandler(handler);
    }
  });

  it('answers the summary, every filter and ordered pages from the snapshot, with no upstream call', async () => {
    const gw = await syncing();
    await passEnded(gw);
    const before = upstream.calls.length;
    const numbers = Array.from({ length: SIZE }, (_, index) => index + 1);

    const summary = await ask<{ customerBase: { summary: Record<string, unknown> } }>(
      gw,
      '{ customerBase { summary { customers mcaSigned mcaNotSigned mcaUnknown mcaAccepted mcaNotAccepted mcaAcceptanceUnknown qualifications { kind vettingStatus count } } } }',
    );
    const count = (test: (n: number) => boolean) => numbers.filter(test).length;
    expect(summary.customerBase.summary).toEqual({
      customers: SIZE,
      mcaSigned: count((n) => mcaOf(n) === true),
      mcaNotSigned: count((n) => mcaOf(n) === false),
      mcaUnknown: count((n) => mcaOf(n) === 'forbidden'),
      mcaAccepted: count((n) => acceptedOf(n) === true),
      mcaNotAccepted: count((n) => acceptedOf(n) === false),
      mcaAcceptanceUnknown: count((n) => acceptedOf(n) === 'unknown'),
      qualifications: [
        { kind: 'EDUCATION', vettingStatus: 'APPROVED', count: count((n) => n % 3 === 1 && n % 2 === 0) },
        { kind: 'EDUCATION', vettingStatus: 'IN_REVIEW', count: count((n) => n % 3 === 1 && n % 2 === 1) },
        { kind: 'STATE_OWNED_ENTITY', vettingStatus: null, count: count((n) => n % 3 === 0) },
      ],
    });

    const walk = async (where: Record<string, unknown>) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 200; page++) {
        const data: {
          customerBase: {
            customers: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
          };
        } = await ask(
          gw,
          'query ($where: CustomerFilter, $after: String) { customerBase { customers(first: 37, after: $after, where: $where) { nodes { id } pageInfo { hasNextPage endCursor } } } }',
          { where, after },
        );
        seen.push(...data.customerBase.customers.nodes.map((node) => node.id));
        if (!data.customerBase.customers.pageInfo.hasNextPage) break;
        after = data.customerBase.customers.pageInfo.endCursor;
      }
      return seen;
    };
    /** The expected order: lower-cased names in code-point order, then id; no name last, by id. */
    const expected = (test: (n: number) => boolean) =>
      numbers
        .filter(test)
        .sort((a, b) => {
          const [x, y] = [nameOf(a)?.toLowerCase(), nameOf(b)?.toLowerCase()];
          if (x === undefined || y === undefined) return x === y ? a - b : x === undefined ? 1 : -1;
          return x < y ? -1 : x > y ? 1 : a - b;
        })
        .map(customerId);

    expect(await walk({})).toEqual(expected(() => true));
    expect(await walk({ mcaDirectlySigned: false })).toEqual(expected((n) => mcaOf(n) === false));
    expect(await walk({ mcaAccepted: false })).toEqual(expected((n) => acceptedOf(n) === false));
    expect(await walk({ mcaAccepted: true, mcaDirectlySigned: false })).toEqual(
      expected((n) => acceptedOf(n) === true && mcaOf(n) === false),
    );
    expect(await walk({ qualification: 'EDUCATION', vettingStatus: 'IN_REVIEW' })).toEqual(
      expected((n) => n % 3 === 1 && n % 2 === 1),
    );
    expect(await walk({ vettingStatus: 'APPROVED' })).toEqual(expected((n) => n % 3 === 1 && n % 2 === 0));
    expect(await walk({ companyNameStartsWith: 'CONTOSO' })).toEqual(
      expected((n) => nameOf(n)?.toLowerCase().startsWith('contoso') ?? false),
    );
    expect(await walk({ relationshipToPartner: 'ADVISOR', mcaDirectlySigned: true })).toEqual(
      expected((n) => n % 5 === 0 && mcaOf(n) === true),
    );

    const node = await ask<{ customerBase: { customers: { nodes: Array<Record<string, unknown>> } } }>(
      gw,
      `{ customerBase { customers(first: 1, where: { companyNameStartsWith: "northwind 2" }) { nodes { id companyName domain relationshipToPartner mcaDirectlySigned mcaAcceptance { accepted directlySigned attestations { templateId } } qualifications { kind vettingStatus } syncedAt } } } }`,
    );
    expect(node.customerBase.customers.nodes[0]).toMatchObject({
      companyName: 'Northwind 2',
      domain: 'c2.onmicrosoft.com',
      relationshipToPartner: 'RESELLER',
      mcaDirectlySigned: true,
      mcaAcceptance: { accepted: true, directlySigned: true, attestations: [] },
      qualifications: [],
      syncedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    const attested = await ask<{ customerBase: { customers: { nodes: Array<Record<string, unknown>> } } }>(
      gw,
      `{ customerBase { customers(first: 1, where: { companyNameStartsWith: "northwind 9" }) { nodes { companyName mcaAcceptance { accepted directlySigned attestations { dateAgreed templateId currentTemplate agreementLink primaryContact { firstName lastName email phoneNumber } } } } } } }`,
    );
    expect(attested.customerBase.customers.nodes[0]).toEqual({
      companyName: 'Northwind 9',
      mcaAcceptance: {
        accepted: true,
        directlySigned: false,
        attestations: [
          {
            dateAgreed: '2019-08-26T00:00:00.000Z',
            templateId: TEMPLATE_ID,
            currentTemplate: true,
            agreementLink: 'https://aka.ms/customeragreement',
            primaryContact: {
              firstName: 'Tania',
              lastName: 'Carr',
              email: 'someone@example.com',
              phoneNumber: '1234567890',
            },
          },
        ],
      },
    });
    const unknown = await ask<{ customerBase: { customers: { nodes: Array<Record<string, unknown>> } } }>(
      gw,
      `{ customerBase { customers(first: 1, where: { companyNameStartsWith: "contoso 7" }) { nodes { companyName mcaAcceptance { accepted } } } } }`,
    );
    // No reseller relationship: unknown, null with no error.
    expect(unknown.customerBase.customers.nodes[0]).toEqual({ companyName: 'contoso 7', mcaAcceptance: null });
    expect(upstream.calls.length).toBe(before);
  });

  it('refuses a cursor of another filter and first outside 1 to 100 with BAD_USER_INPUT', async () => {
    const gw = await syncing();
    await passEnded(gw);
    const first = await ask<{ customerBase: { customers: { pageInfo: { endCursor: string } } } }>(
      gw,
      '{ customerBase { customers(first: 2) { pageInfo { endCursor } } } }',
    );
    const { body } = await gw.query(
      'query ($after: String) { customerBase { customers(first: 2, after: $after, where: { mcaDirectlySigned: true }) { nodes { id } } } }',
      { after: first.customerBase.customers.pageInfo.endCursor },
      bearer(caller),
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toContain('another filter');
    for (const first of [0, 101]) {
      const tooMany = await gw.query(
        `{ customerBase { customers(first: ${first}) { nodes { id } } } }`,
        undefined,
        bearer(caller),
      );
      expect(tooMany.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', min: 1, max: 100 });
      expect(tooMany.body.errors?.[0]?.message).toBe(`first must be 1 to 100, got ${first}.`);
    }
  });

  it('keeps the snapshot in SNAPSHOT_PATH: a restarted gateway reads no customer again', async () => {
    const snapshotPath = join(dir, 'snapshot.json');
    const first = await syncing({ snapshotPath });
    await passEnded(first);
    await first.close();
    running = [];
    upstream.calls.length = 0;
    entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);

    const restarted = await syncing({ snapshotPath });
    const data = await ask<{ customerBase: { sync: Record<string, unknown> } }>(
      restarted,
      '{ customerBase { sync { customersKnown customersSynced } } }',
    );
    expect(data.customerBase.sync).toEqual({ customersKnown: SIZE, customersSynced: SIZE });
    await sleep(300);
    expect(callsBy('qualifications')).toHaveLength(0);
    expect(callsBy('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(0);
    expect(callsBy('agreements')).toHaveLength(0);
  });

  it('shows a qualification added through the gateway in customerBase at once, and adds no customer it does not hold', async () => {
    const gw = await syncing();
    await passEnded(gw);
    const writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
    const id = customerId(2);
    const added = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${id}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(added.body.errors).toBeUndefined();
    const data = await ask<{
      customerBase: { customers: { nodes: Array<{ id: string; qualifications: unknown[] }> } };
    }>(
      gw,
      '{ customerBase { customers(first: 1, where: { companyNameStartsWith: "northwind 2", qualification: STATE_OWNED_ENTITY }) { nodes { id qualifications { kind } } } } }',
    );
    expect(data.customerBase.customers.nodes).toEqual([{ id, qualifications: [{ kind: 'STATE_OWNED_ENTITY' }] }]);

    // A customer that already held a qualification keeps it beside the one added.
    const educated = customerId(4);
    const addedBeside = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${educated}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(addedBeside.body.errors).toBeUndefined();
    const beside = await ask<{
      customerBase: { customers: { nodes: Array<{ id: string; qualifications: unknown[] }> } };
    }>(
      gw,
      '{ customerBase { customers(first: 100, where: { companyNameStartsWith: "contoso labs 4" }) { nodes { id qualifications { kind } } } } }',
    );
    expect(beside.customerBase.customers.nodes.find((node) => node.id === educated)?.qualifications).toEqual([
      { kind: 'EDUCATION' },
      { kind: 'STATE_OWNED_ENTITY' },
    ]);

    // A customer the sync does not hold (not in the list) is added to Partner Center alone.
    const outside = customerId(SIZE + 1);
    const addedOutside = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${outside}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(writer),
    );
    expect(addedOutside.body).toEqual({
      data: { addCustomerQualification: { qualification: { kind: 'STATE_OWNED_ENTITY' } } },
    });
    expect(upstream.calls.filter((call) => call.method === 'POST' && call.customerId === outside)).toHaveLength(1);
    const known = await ask<{ customerBase: { sync: { customersKnown: number } } }>(
      gw,
      '{ customerBase { sync { customersKnown } } }',
    );
    expect(known.customerBase.sync.customersKnown).toBe(SIZE);
  });

  it('makes no call before Retry-After after a 429, and reads the throttled customer on the next pass', async () => {
    throttleNext = true;
    const gw = await syncing();
    await passEnded(gw);
    const throttled = upstream.calls.find((call) => call.resource === 'qualifications');
    const next = upstream.calls[upstream.calls.indexOf(throttled as RecordedCall) + 1];
    expect((next?.at ?? 0) - (throttled?.at ?? 0)).toBeGreaterThanOrEqual(950);
    // The first pass left it; it is read again (a new pass starts while data is due).
    for (
      let tries = 0;
      tries < 200 && callsBy('qualifications').filter((call) => call.customerId === throttled?.customerId).length < 2;
      tries++
    ) {
      await sleep(25);
    }
    expect(callsBy('qualifications').filter((call) => call.customerId === throttled?.customerId)).toHaveLength(2);
  });

  it('serves the snapshot for a read Partner Center fails with 503, listed in extensions.stale; never for a 404', async () => {
    const gw = await syncing({ staleIfErrorSeconds: 3_600, maxAttempts: 1 });
    await passEnded(gw);
    failWith = 503;
    const id = customerId(4);
    const { body } = await gw.query(
      `{ customer(id: "${id}") { qualifications { kind } mcaDirectlySigned } }`,
      undefined,
      bearer(caller),
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ customer: { qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: true } });
    expect((body as { extensions?: unknown }).extensions).toEqual({
      stale: [
        { path: ['customer', 'qualifications'], syncedAt: expect.stringMatching(/Z$/) },
        { path: ['customer', 'mcaDirectlySigned'], syncedAt: expect.stringMatching(/Z$/) },
      ],
    });
    failWith = 404;
    const missing = await gw.query(
      `{ customer(id: "${customerId(2)}") { qualifications { kind } } }`,
      undefined,
      bearer(caller),
    );
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((missing.body as { extensions?: unknown }).extensions).toBeUndefined();
  });

  it('serves mcaAcceptance from the snapshot when Partner Center fails both its reads with 503; null while unknown', async () => {
    const gw = await syncing({ staleIfErrorSeconds: 3_600, maxAttempts: 1 });
    await passEnded(gw);
    failWith = 503;
    const fields = 'mcaAcceptance { accepted directlySigned attestations { templateId currentTemplate } }';
    // Customer 3 is attested and not signed directly; customer 7 has no relationship, so the snapshot never knew.
    const { body } = await gw.query<Record<string, unknown>>(
      `{ a: customer(id: "${customerId(3)}") { ${fields} } b: customer(id: "${customerId(7)}") { ${fields} } }`,
      undefined,
      bearer(caller),
    );
    expect(body.data).toEqual({
      a: {
        mcaAcceptance: {
          accepted: true,
          directlySigned: false,
          attestations: [{ templateId: TEMPLATE_ID, currentTemplate: true }],
        },
      },
      b: { mcaAcceptance: null },
    });
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['b', 'mcaAcceptance'], 'UPSTREAM_UNAVAILABLE'],
    ]);
    const stale = (body as { extensions?: { stale?: Array<{ path: unknown[] }> } }).extensions?.stale;
    // One entry for each read served from the snapshot: the direct status and the agreements.
    expect(stale?.map((entry) => entry.path)).toEqual([
      ['a', 'mcaAcceptance'],
      ['a', 'mcaAcceptance'],
    ]);
  });

  it('spreads its calls evenly: one every 60 / SYNC_RATE_PER_MINUTE seconds, never in a burst', async () => {
    // 1,200 a minute: one call every 50 ms; 40 calls are two seconds of the sync's life.
    const gw = await syncing({ syncRatePerMinute: 1_200 });
    for (let tries = 0; tries < 400 && upstream.calls.length < 40; tries++) await sleep(25);
    await gw.close();
    running = [];
    const arrivals = upstream.calls.slice(0, 40).map((call) => call.at);
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] as number));
    expect(arrivals).toHaveLength(40);
    // One every 51 ms (50, and 2% kept back) from start to start: 39 gaps take at least 39 x 51 ms, less the first
    // call's own time.
    expect((arrivals[39] as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(39 * 51 - 25);
    // Never in a burst: a call goes at least a quarter of the spacing after the previous one's answer.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(12);
  });

  it('never takes a turn a waiting request could use, and stays within its rate in any minute', async () => {
    // Time compressed: a minute of 1 s, 40 calls a minute for the partner, 10 of them for the sync (one every 100 ms).
    const gw = await startSignedInGateway(
      upstream.url,
      signInSettings(entra),
      { ratePerMinute: 40, syncRatePerMinute: 10, requestBudgetMs: 5_000 },
      { quota: { pacingWindowMs: 1_000 } },
    );
    running.push(gw);
    for (let tries = 0; tries < 400 && upstream.calls.length < 15; tries++) await sleep(25);
    // 60 calls: 20 more than the minute leaves, so the request waits for turns, and the sync takes none.
    const ids = Array.from({ length: 60 }, (_, index) => customerId(500 + index));
    const startedAt = upstream.calls.length;
    const { body } = await gw.query(
      'query ($ids: [ID!]!) { customers(ids: $ids) { qualifications { kind } } }',
      { ids },
      { ...bearer(caller), 'ms-correlationid': '0f0e0d0c-0b0a-4909-8807-060504030201' },
    );
    expect(body.errors).toBeUndefined();
    const during = upstream.calls.slice(startedAt);
    const mine = (call: RecordedCall) => call.headers['ms-correlationid'] === '0f0e0d0c-0b0a-4909-8807-060504030201';
    const lastOfMine = during.findLastIndex(mine);
    expect(during.filter(mine)).toHaveLength(60);
    // Between the request's first and last call, every call is the request's.
    expect(during.slice(during.findIndex(mine), lastOfMine + 1).filter((call) => !mine(call))).toEqual([]);

    // The request took the whole minute (40 turns): while its turns fill the window, the sync makes one call a minute.
    const requestEndedAt = (during[lastOfMine] as RecordedCall).at;
    // Until 10 of the sync's calls came after the request (one or two may have come during it).
    const syncCallsAfter = () => upstream.calls.filter((call) => !mine(call) && call.at > requestEndedAt).length;
    for (let tries = 0; tries < 400 && syncCallsAfter() < 10; tries++) await sleep(25);
    await gw.close();
    running = [];
    const syncAt = upstream.calls.filter((call) => !mine(call)).map((call) => call.at);
    const after = syncAt.filter((at) => at > requestEndedAt);
    expect(after.filter((at) => at < requestEndedAt + 1_000).length).toBeLessThanOrEqual(2);
    // Then its own rate again: 10 more calls, and at most 10 in any second (the compressed minute).
    expect(after.length).toBeGreaterThanOrEqual(10);
    const busiest = Math.max(...syncAt.map((at) => syncAt.filter((other) => other >= at && other < at + 1_000).length));
    expect(busiest).toBeLessThanOrEqual(10);
  });

  it("leaves the requests' minute free: a request's burst finds its turns free and waits for none", async () => {
    // A minute of 1 s: 40 turns for the partner, 39 of them the sync's while no request calls.
    const gw = await startSignedInGateway(
      upstream.url,
      signInSettings(entra),
      // A budget far shorter than the wait for a turn (up to the compressed minute): a call that had to wait fails.
      { ratePerMinute: 40, syncRatePerMinute: 39, requestBudgetMs: 400 },
      { quota: { pacingWindowMs: 1_000 } },
    );
    running.push(gw);
    for (let tries = 0; tries < 400 && upstream.calls.length < 20; tries++) await sleep(25);
    const burst = (first: number, correlationId: string) =>
      gw.query(
        'query ($ids: [ID!]!) { customers(ids: $ids) { qualifications { kind } } }',
        { ids: Array.from({ length: 20 }, (_, index) => customerId(first + index)) },
        { ...bearer(caller), 'ms-correlationid': correlationId },
      );
    // The first burst: 20 turns, whatever the sync left (here it may wait: the sync has not seen a request yet).
    await burst(300, '0f0e0d0c-0b0a-4909-8807-060504030202');
    // The sync now keeps 20 turns of every minute free. A minute and a half later, the next burst of 20 takes them.
    await sleep(1_500);
    const before = upstream.calls.length;
    const { body } = await burst(400, '0f0e0d0c-0b0a-4909-8807-060504030203');
    expect(body.errors).toBeUndefined();
    const second = upstream.calls
      .slice(before)
      .filter((call) => call.headers['ms-correlationid'] === '0f0e0d0c-0b0a-4909-8807-060504030203');
    expect(second).toHaveLength(20);
  });

  it('fails customerBase with SYNC_NOT_ENABLED while the sync is off', async () => {
    const gw = await startSignedInGateway(upstream.url, signInSettings(entra), {});
    running.push(gw);
    const { body } = await gw.query('{ customerBase { sync { enabled } } }', undefined, bearer(caller));
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'SYNC_NOT_ENABLED' });
    expect(body.errors?.[0]?.path).toEqual(['customerBase']);
    expect(body.errors?.[0]?.message).toBe(
      'customerBase needs the background sync: set SYNC_RATE_PER_MINUTE (with PARTNER_CENTER_AUTH=app-user or app).',
    );
    // The subscription names itself.
    const payloads: SsePayload[] = [];
    const stream = await subscribeOverSse<Record<string, unknown>>(
      gw.url,
      { query: 'subscription { customerChanges { kind } }' },
      bearer(caller),
      (payload) => payloads.push(payload),
    );
    await stream.ended;
    expect(payloads.map((payload) => payload.errors?.map((error) => [error.extensions?.code, error.message]))).toEqual([
      [
        [
          'SYNC_NOT_ENABLED',
          'customerChanges needs the background sync: set SYNC_RATE_PER_MINUTE (with PARTNER_CENTER_AUTH=app-user or app).',
        ],
      ],
    ]);
  });
});
