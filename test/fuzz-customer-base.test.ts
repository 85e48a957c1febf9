// Property-based fuzzing of the whole customer base's surfaces on a gateway
// that signs in itself and has ended its first sync pass: customerBase
// (summary and customers with any where, first and after, as variables or
// written into the document) and GET /exports/customers.csv (any query
// string). Whatever arrives is answered from the snapshot with HTTP 200 or
// 400, never 5xx, with the exact code (BAD_USER_INPUT for a bad where, first or
// cursor, GRAPHQL_VALIDATION_FAILED for a bad literal, a 400 naming the bad
// export parameter), and costs no Partner Center call; valid filters count,
// page and export alike. fast-check prints its seed on failure.

import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomerFilter, encodeBaseCursor, type OrderKey } from '../src/customer-base/query';
import { type SyncedGateway, startSyncedGateway } from './support/customer-base';
import { customerId, type GraphQLResponse, type RunningGateway } from './support/gateway';
import { bearer } from './support/sign-in';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  type CustomerItem,
  customerListHandler,
  json,
  type RecordedCall,
  type Upstream,
} from './support/upstream';

// ---------------------------------------------------------------------------------------------------------------------
// The roster: names that need quoting or defusing in CSV, that differ only in case, that lower-case to other lengths,
// that sort apart in code units and code points, the same name for several ids, and customers without a name;
// qualifications and statuses Partner Center may add without notice, every relationship and every MCA answer.

const SIZE = 240;
const NAMES = [
  'Contoso',
  'contoso labs',
  'CONTOSO',
  'Fabrikam, Inc.',
  'Quote "Q" LLC',
  'Line\r\nBreak',
  '=SUM(A1)',
  '+1 Holdings',
  '-minus',
  '@at',
  '\tTab',
  'Ćeska',
  'İstanbul',
  'Straße',
  'ΣΊΣΥΦΟΣ',
  '日本商事',
  '🙂 Emoji',
  'ｚｅｎ Fullwidth',
  'z'.repeat(300),
  ' space',
];
/** Customer n's name: every 11th none; every 4th exactly a name of NAMES (so ids break ties), else with n after it. */
const nameOf = (n: number) =>
  n % 11 === 0 ? null : n % 4 === 0 ? (NAMES[n % NAMES.length] as string) : `${NAMES[n % NAMES.length]} ${n}`;
const WIRE_RELATIONSHIPS = ['reseller', 'advisor', 'none', 'microsoft_support', 'Syndication', 'somethingNew', null];
const WIRE_QUALIFICATIONS: Array<Array<Record<string, string>>> = [
  [],
  [{ qualification: 'Education', vettingStatus: 'Approved' }],
  [{ qualification: 'Education', vettingStatus: 'InReview' }, { qualification: 'StateOwnedEntity' }],
  [{ qualification: 'GovernmentCommunityCloud', vettingStatus: 'Denied' }],
  [{ qualification: 'Nonprofit', vettingStatus: 'Pending' }],
  [{ qualification: 'BrandNewThing', vettingStatus: 'Approved' }],
];
/** true, false, or 403 (no reseller relationship: unknown). */
const mcaOf = (n: number): boolean | 'forbidden' => (n % 7 === 0 ? 'forbidden' : n % 2 === 0);

const ROSTER: CustomerItem[] = Array.from({ length: SIZE }, (_, index) => {
  const n = index + 1;
  const id = customerId(n);
  const name = nameOf(n);
  const relationship = WIRE_RELATIONSHIPS[n % WIRE_RELATIONSHIPS.length];
  return {
    id,
    companyProfile: {
      tenantId: id,
      domain: n % 17 === 0 ? `d,"${n}".example` : `c${n}.example`,
      ...(name === null ? {} : { companyName: name }),
    },
    ...(relationship === null ? {} : { relationshipToPartner: relationship }),
    attributes: { objectType: 'Customer' },
  };
});
const numberOf = (id: string) => Number.parseInt(id.slice(-12), 16);

const list = customerListHandler(ROSTER);
function handler(call: RecordedCall, res: ServerResponse) {
  if (call.resource === 'customers') return list(call, res, 1);
  const n = numberOf(call.customerId ?? '');
  if (call.resource === 'qualifications') return json(res, 200, WIRE_QUALIFICATIONS[n % WIRE_QUALIFICATIONS.length]);
  if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
  if (call.resource === 'agreements' && mcaOf(n) !== 'forbidden')
    return json(res, 200, agreementsBody(n % 3 === 0 ? [ATTESTATION] : []));
  if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus' || call.resource === 'agreements') {
    const mca = mcaOf(n);
    return mca === 'forbidden'
      ? json(res, 403, { code: 20002, description: 'No relationship between caller and account.', data: [] })
      : json(res, 200, { isSigned: mca });
  }
  return json(res, 404, { code: 600008, description: 'Not found' });
}

// ---------------------------------------------------------------------------------------------------------------------
// The filter as the spec writes it, and what GraphQL coercion makes of a value sent for it.

const KINDS = ['EDUCATION', 'NONPROFIT', 'GOVERNMENT_COMMUNITY_CLOUD', 'STATE_OWNED_ENTITY', 'OTHER'] as const;
const STATUSES = ['APPROVED', 'IN_REVIEW', 'DENIED', 'UNKNOWN'] as const;
const RELATIONSHIPS = ['NONE', 'RESELLER', 'ADVISOR', 'SYNDICATION', 'MICROSOFT_SUPPORT', 'UNKNOWN'] as const;

interface Filter {
  mcaDirectlySigned?: boolean | null;
  mcaAccepted?: boolean | null;
  qualification?: (typeof KINDS)[number] | null;
  vettingStatus?: (typeof STATUSES)[number] | null;
  companyNameStartsWith?: string | null;
  relationshipToPartner?: (typeof RELATIONSHIPS)[number] | null;
}

const isOneOf = (values: readonly string[]) => (value: unknown) => typeof value === 'string' && values.includes(value);
/** Each field of CustomerFilter and the non-null JSON values its type takes from a variable. */
const FIELDS: Record<string, (value: unknown) => boolean> = {
  mcaDirectlySigned: (value) => typeof value === 'boolean',
  mcaAccepted: (value) => typeof value === 'boolean',
  qualification: isOneOf(KINDS),
  vettingStatus: isOneOf(STATUSES),
  companyNameStartsWith: (value) => typeof value === 'string',
  relationshipToPartner: isOneOf(RELATIONSHIPS),
};

/** Whether a JSON value, as the gateway receives it, is a CustomerFilter variable (null or absent included). */
function filterFits(value: unknown): value is Filter | null | undefined {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(value).every(
    ([key, field]) => Object.hasOwn(FIELDS, key) && (field === null || (FIELDS[key] as (v: unknown) => boolean)(field)),
  );
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const intFits = (value: unknown) =>
  value === undefined ||
  value === null ||
  (Number.isInteger(value) && (value as number) >= INT_MIN && (value as number) <= INT_MAX);

/** When two filters are the same for a cursor: the same values, the prefix in any case, an empty prefix as none. */
function filterKey(filter: Filter | null | undefined): string {
  const prefix = filter?.companyNameStartsWith;
  return JSON.stringify([
    filter?.mcaDirectlySigned ?? null,
    filter?.qualification ?? null,
    filter?.vettingStatus ?? null,
    prefix ? prefix.toLowerCase() : null,
    filter?.relationshipToPartner ?? null,
    ...(filter?.mcaAccepted == null ? [] : [filter.mcaAccepted]),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------------
// The gateway.

let started: SyncedGateway | undefined;
let upstream: Upstream;
let gw: RunningGateway;
let caller: string;

/** A few filters' full orders and real cursors (the cursor after each node), read once after the first pass. */
const SOURCE_FILTERS: Filter[] = [
  {},
  { mcaDirectlySigned: true },
  { qualification: 'EDUCATION' },
  { companyNameStartsWith: 'Contoso' },
  { relationshipToPartner: 'RESELLER', vettingStatus: 'APPROVED' },
  { companyNameStartsWith: '' },
];
const sources: Array<{ filter: Filter; ids: string[]; cursors: string[] }> = [];
interface EdgesData {
  customerBase: {
    customers: {
      edges: Array<{ cursor: string; node: { id: string } }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
}

beforeAll(async () => {
  started = await startSyncedGateway(handler);
  ({ upstream, gw, caller } = started);
  for (const filter of SOURCE_FILTERS) {
    const ids: string[] = [];
    const cursors: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const { body }: GraphQLResponse<EdgesData> = await gw.query<EdgesData>(
        'query ($where: CustomerFilter, $after: String) { customerBase { customers(first: 100, after: $after, where: $where) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }',
        { where: filter, after },
        bearer(caller),
      );
      expect(body.errors).toBeUndefined();
      const connection: EdgesData['customerBase']['customers'] | undefined = body.data?.customerBase.customers;
      for (const edge of connection?.edges ?? []) {
        ids.push(edge.node.id);
        cursors.push(edge.cursor);
      }
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    sources.push({ filter, ids, cursors });
  }
  expect(sources[0]?.ids).toHaveLength(SIZE);
}, 60_000);
afterAll(async () => {
  await started?.close();
});

/** The codes the gateway and graphql-js/yoga use; INTERNAL_SERVER_ERROR is not here: it means a bug. */
const KNOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SYNC_NOT_ENABLED',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
]);

type Body = GraphQLResponse<unknown>['body'];

/** What every GraphQL answer must be: 200 or 400, data or errors, each error with a known code and no stack. */
function expectWellFormed(status: number, body: Body): void {
  expect([200, 400], JSON.stringify(body).slice(0, 500)).toContain(status);
  expect('data' in body || 'errors' in body).toBe(true);
  for (const error of body.errors ?? []) {
    expect(typeof error.message).toBe('string');
    expect(KNOWN_CODES, `${error.extensions?.code}: ${error.message}`).toContain(error.extensions?.code);
    expect(JSON.stringify(error)).not.toMatch(/"stack"|\n\s+at |\bat .+\.(?:ts|js):\d+/);
  }
}

/** Runs `body` and checks Partner Center received no call meanwhile. */
async function withoutUpstreamCalls<T>(body: () => Promise<T>): Promise<T> {
  const before = upstream.calls.length;
  const result = await body();
  expect(
    upstream.calls.slice(before).map((call) => `${call.method} ${call.path}`),
    'upstream calls',
  ).toEqual([]);
  return result;
}

const PAGE =
  'query ($where: CustomerFilter, $first: Int, $after: String) { customerBase { summary(where: $where) { customers } customers(first: $first, after: $after, where: $where) { nodes { id } pageInfo { hasNextPage endCursor } } } }';

interface PageData {
  customerBase: {
    summary: { customers: number };
    customers: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  };
}

/** Sends PAGE with `variables` (as JSON: what the gateway receives) and checks the answer's shape. */
async function page(variables: Record<string, unknown>) {
  const response = await gw.query<PageData>(PAGE, variables, bearer(caller));
  expectWellFormed(response.status, response.body);
  return response;
}

async function summaryOf(where: Filter): Promise<number> {
  const { body } = await gw.query<{ customerBase: { summary: { customers: number } } }>(
    'query ($where: CustomerFilter) { customerBase { summary(where: $where) { customers } } }',
    { where },
    bearer(caller),
  );
  expect(body.errors).toBeUndefined();
  return body.data?.customerBase.summary.customers as number;
}

/** Every id matching `where`, paging with `firsts` in turn; checks each page as it comes. */
async function walk(where: Filter, firsts: readonly number[]): Promise<{ ids: string[]; total: number }> {
  const ids: string[] = [];
  let after: string | null = null;
  let total = -1;
  for (let index = 0; index < 1_000; index++) {
    const first = firsts[index % firsts.length] as number;
    const { body } = await page({ where, first, after });
    expect(body.errors).toBeUndefined();
    const base = (body.data as PageData).customerBase;
    if (total === -1) total = base.summary.customers;
    expect(base.summary.customers).toBe(total);
    const { nodes, pageInfo } = base.customers;
    expect(nodes.length).toBe(Math.min(first, total - ids.length));
    ids.push(...nodes.map((node) => node.id));
    expect(pageInfo.hasNextPage).toBe(ids.length < total);
    if (!pageInfo.hasNextPage) return { ids, total };
    after = pageInfo.endCursor;
  }
  throw new Error('paging never ended');
}

// ---------------------------------------------------------------------------------------------------------------------
// Arbitraries.

const namePrefix = fc
  .tuple(fc.constantFrom(...NAMES), fc.nat({ max: 12 }), fc.boolean())
  .map(([name, cut, upper]) => (upper ? name.toUpperCase() : name.toLowerCase()).slice(0, cut));
const prefix = fc.oneof(
  { weight: 4, arbitrary: namePrefix },
  fc.constantFrom('', 'nomatch', 'i̇', 'İ', 'STRASSE', 'σί', '\ud83d', '\ud800x', 'z'.repeat(300), 'z'.repeat(301)),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.nat({ max: 20_000 }).map((length) => 'x'.repeat(length)),
  fc.nat({ max: 5_000 }).map((length) => 'ü🙂'.repeat(length)),
);
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 4 });
const validFilter: fc.Arbitrary<Filter> = fc.record(
  {
    mcaDirectlySigned: nullable(fc.boolean()),
    mcaAccepted: nullable(fc.boolean()),
    qualification: nullable(fc.constantFrom(...KINDS)),
    vettingStatus: nullable(fc.constantFrom(...STATUSES)),
    companyNameStartsWith: nullable(prefix.filter((text) => text.length <= 256)),
    relationshipToPartner: nullable(fc.constantFrom(...RELATIONSHIPS)),
  },
  { requiredKeys: [] },
);
/** Filters that match many customers as well as few: none, one field of a valid filter, or a whole one. */
const broadFilter: fc.Arbitrary<Filter> = fc.oneof(
  fc.constant({}),
  {
    weight: 4,
    arbitrary: fc.tuple(validFilter, fc.nat()).map(([filter, index]) => {
      const entries = Object.entries(filter);
      const entry = entries[index % Math.max(1, entries.length)];
      return entry === undefined ? {} : (Object.fromEntries([entry]) as Filter);
    }),
  },
  { weight: 3, arbitrary: validFilter },
);
const fieldName = fc.oneof(
  fc.constantFrom(...Object.keys(FIELDS)),
  fc.constantFrom('companyName', 'MCADirectlySigned', 'qualifications', '__proto__', 'constructor', 'toString', ''),
  fc.string({ maxLength: 10 }),
);
const badFieldValue = fc.oneof(
  fc.constantFrom('education', 'EDUCATIONX', 'Education', 'APPROVED ', 'true', 'null', '', 1, 0, -1, 1.5, true, false),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);
/** Any JSON for where: valid filters, valid ones with a field spoiled or added, and values of every other shape. */
const anyWhere: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: validFilter },
  { weight: 3, arbitrary: fc.tuple(validFilter, fieldName, badFieldValue).map(([f, key, v]) => ({ ...f, [key]: v })) },
  fc.constantFrom(
    ...SOURCE_FILTERS,
    { companyNameStartsWith: 'CONTOSO' },
    { mcaDirectlySigned: true, qualification: null },
  ),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.nat({ max: 20_000 }).map((length) => 'w'.repeat(length)),
  fc.array(validFilter, { minLength: 1, maxLength: 2 }),
);
const anyFirst: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 100 }) },
  fc.constant(undefined),
  fc.integer(),
  fc.integer({ min: INT_MIN, max: INT_MAX }).map((n) => n * 8),
  fc.constantFrom(0, -0, -1, 101, INT_MAX, INT_MIN, 2 ** 31, 2 ** 53, 1e21, 1.5, -0.5, 99.999, Number.MAX_VALUE, null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 1 }),
);
/**
 * An `after`: a literal value, a real cursor of one of SOURCE_FILTERS (with `own`, sent with that filter, its prefix
 * upper-cased, instead of the where drawn), or one made with the gateway's own encoder.
 */
type AfterSpec =
  | { kind: 'raw'; value: unknown }
  | { kind: 'real'; source: number; at: number; own: boolean }
  | { kind: 'encoded'; key: unknown[] };
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const anyAfter: fc.Arbitrary<AfterSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, null, '').map((value) => ({ kind: 'raw' as const, value })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          undefined,
          null,
          '',
          '.',
          'null',
          'eyJ2IjoxfQ.AAAAAAAAAAAAAAAA',
          `${'A'.repeat(2_100)}.${'B'.repeat(16)}`,
        ),
        fc.string({ maxLength: 60 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.jsonValue({ maxDepth: 2 }).map((value) => b64(JSON.stringify(value) ?? 'null')),
        fc
          .tuple(fc.jsonValue({ maxDepth: 2 }), fc.stringMatching(/^[A-Za-z0-9_-]{16}$/))
          .map(([value, check]) => `${b64(JSON.stringify(value) ?? 'null')}.${check}`),
        fc
          .record({ v: fc.jsonValue({ maxDepth: 1 }), f: fc.string(), k: fc.jsonValue({ maxDepth: 1 }) })
          .map((value) => `${b64(JSON.stringify(value))}.${'x'.repeat(16)}`),
        fc.nat({ max: 3_000 }).map((length) => `${'C'.repeat(length)}.${'D'.repeat(16)}`),
        fc.integer(),
        fc.boolean(),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map((value) => ({ kind: 'raw' as const, value })),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('real' as const), source: fc.nat(), at: fc.nat(), own: fc.boolean() }),
  },
  fc.record({
    kind: fc.constant('encoded' as const),
    key: fc.oneof(
      fc.tuple(fc.constantFrom(0, 1), fc.string({ maxLength: 10 }), fc.constantFrom(customerId(1), '', 'zzz')),
      fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 3, maxLength: 3 }),
    ),
  }),
);

// ---------------------------------------------------------------------------------------------------------------------

describe('customerBase with hostile arguments', () => {
  it('answers any where, first and after sent as variables with data or BAD_USER_INPUT, and no upstream call', async () => {
    await withoutUpstreamCalls(() =>
      fc.assert(
        fc.asyncProperty(anyWhere, anyFirst, anyAfter, async (drawnWhere, firstValue, afterSpec) => {
          let whereValue = drawnWhere;
          let afterValue: unknown;
          let source: (typeof sources)[number] | undefined;
          let position = -1;
          if (afterSpec.kind === 'raw') afterValue = afterSpec.value;
          else if (afterSpec.kind === 'real') {
            source = sources[afterSpec.source % sources.length];
            position = afterSpec.at % Math.max(1, source?.cursors.length ?? 1);
            afterValue = source?.cursors[position];
            const prefix = source?.filter.companyNameStartsWith;
            if (afterSpec.own) whereValue = { ...source?.filter, companyNameStartsWith: prefix?.toUpperCase() };
          } else
            afterValue = encodeBaseCursor(
              afterSpec.key as unknown as OrderKey,
              (filterFits(whereValue) ? (whereValue ?? {}) : {}) as CustomerFilter,
            );
          // What the gateway receives: JSON (-0 becomes 0, undefined fields disappear).
          const sent = JSON.parse(JSON.stringify({ where: whereValue, first: firstValue, after: afterValue })) as {
            where?: unknown;
            first?: unknown;
            after?: unknown;
          };
          const { body } = await page(sent);
          const codes = (body.errors ?? []).map((error) => error.extensions?.code);

          const variablesFit =
            filterFits(sent.where) &&
            intFits(sent.first) &&
            (sent.after === undefined || sent.after === null || typeof sent.after === 'string');
          if (!variablesFit) {
            // Variables that do not fit their types refuse the request as a whole.
            expect(body.data ?? undefined).toBeUndefined();
            expect(codes.length).toBeGreaterThan(0);
            expect(new Set(codes)).toEqual(new Set(['BAD_USER_INPUT']));
            return;
          }
          const where = sent.where as Filter | null | undefined;
          if ((where?.companyNameStartsWith?.length ?? 0) > 256) {
            // Both fields refuse it; customerBase is nulled.
            expect(body.data?.customerBase ?? null).toBeNull();
            expect(new Set(codes)).toEqual(new Set(['BAD_USER_INPUT']));
            expect(body.errors?.map((error) => error.message)).toContain(
              'where: companyNameStartsWith must be at most 256 characters.',
            );
            return;
          }
          const first = (sent.first ?? 50) as number;
          if (first < 1 || first > 100) {
            expect(body.errors).toHaveLength(1);
            expect(body.errors?.[0]).toMatchObject({
              path: ['customerBase', 'customers'],
              extensions: { code: 'BAD_USER_INPUT' },
            });
            expect(body.errors?.[0]?.message).toContain('first must be 1 to 100');
            return;
          }
          const after = sent.after as string | null | undefined;
          const sameFilter = source !== undefined && filterKey(source.filter) === filterKey(where);
          // A cursor made by the gateway's own encoder for this filter passes every check the gateway makes of a cursor;
          // what it holds is arbitrary, so it may be answered or refused, but never break the request.
          const expected = !after
            ? 'answer'
            : afterSpec.kind === 'real'
              ? sameFilter
                ? 'answer'
                : 'refuse'
              : afterSpec.kind === 'encoded'
                ? 'either'
                : 'refuse';
          if (body.errors !== undefined) {
            expect(expected, JSON.stringify(body.errors).slice(0, 300)).not.toBe('answer');
            expect(body.errors).toHaveLength(1);
            expect(body.errors[0]).toMatchObject({
              path: ['customerBase', 'customers'],
              extensions: { code: 'BAD_USER_INPUT' },
            });
            expect(body.errors[0]?.message).toMatch(/^after: /);
            if (afterSpec.kind === 'real') expect(body.errors[0]?.message).toContain('another filter');
            return;
          }
          expect(expected, `the cursor ${String(after).slice(0, 200)} was taken`).not.toBe('refuse');
          const { summary, customers } = (body.data as PageData).customerBase;
          expect(customers.nodes.length).toBeLessThanOrEqual(first);
          if (!after) {
            expect(customers.nodes.length).toBe(Math.min(first, summary.customers));
            expect(customers.pageInfo.hasNextPage).toBe(summary.customers > first);
          } else if (sameFilter && source !== undefined) {
            expect(customers.nodes.map((node) => node.id)).toEqual(
              source.ids.slice(position + 1, position + 1 + first),
            );
          }
        }),
        { numRuns: 250 },
      ),
    );
  });

  /** An enum value in a GraphQL literal, written bare. */
  class EnumValue {
    constructor(readonly name: string) {}
    toString() {
      return this.name;
    }
  }
  /** A GraphQL literal: JSON-ish values and enum values. */
  type Literal = null | boolean | number | string | EnumValue | Literal[] | { [key: string]: Literal };
  function print(value: Literal): string {
    if (value === null || typeof value === 'boolean' || typeof value === 'number') return String(value);
    if (typeof value === 'string') return JSON.stringify(value);
    if (value instanceof EnumValue) return value.name;
    if (Array.isArray(value)) return `[${value.map(print).join(', ')}]`;
    return `{ ${Object.entries(value)
      .map(([key, field]) => `${key}: ${print(field)}`)
      .join(', ')} }`;
  }
  /** Whether a literal is a CustomerFilter: an object of its fields, each null or a literal of the field's type. */
  function literalFits(value: Literal): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof EnumValue) {
      return value === null;
    }
    return Object.entries(value).every(([key, field]) => {
      if (field === null) return Object.hasOwn(FIELDS, key);
      if (key === 'mcaDirectlySigned' || key === 'mcaAccepted') return typeof field === 'boolean';
      if (key === 'companyNameStartsWith') return typeof field === 'string';
      const values = ENUM_FIELDS[key];
      return values !== undefined && field instanceof EnumValue && values.includes(field.name);
    });
  }
  /** Whether a literal holds a string with half a surrogate pair (a prefix that cut an emoji). */
  const hasLoneSurrogate = (value: Literal): boolean =>
    typeof value === 'string'
      ? /\p{Cs}/u.test(value)
      : typeof value === 'object' && value !== null && !(value instanceof EnumValue)
        ? Object.values(value).some(hasLoneSurrogate)
        : false;
  const ENUM_FIELDS: Record<string, readonly string[]> = {
    qualification: KINDS,
    vettingStatus: STATUSES,
    relationshipToPartner: RELATIONSHIPS,
  };
  // true, false and null are not enum values but the literals of their own.
  const graphqlName = fc
    .stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,12}$/)
    .filter((name) => !['true', 'false', 'null'].includes(name));
  const enumLiteral = fc
    .oneof(fc.constantFrom(...KINDS, ...STATUSES, ...RELATIONSHIPS, 'education', 'EDUCATIONX', 'Approved'), graphqlName)
    .map((name) => new EnumValue(name));
  const scalarLiteral: fc.Arbitrary<Literal> = fc.oneof(
    enumLiteral,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 12 }),
    namePrefix,
  );
  const literal: fc.Arbitrary<Literal> = fc.oneof(
    fc.dictionary(fc.oneof(fc.constantFrom(...Object.keys(FIELDS)), graphqlName), scalarLiteral, { maxKeys: 4 }),
    scalarLiteral,
    fc.array(scalarLiteral, { maxLength: 2 }),
  );

  it('answers any where and first written into the document with data or the exact GraphQL error code', async () => {
    await withoutUpstreamCalls(() =>
      fc.assert(
        fc.asyncProperty(
          literal,
          fc.oneof(
            fc.integer({ min: -5, max: 105 }),
            fc.integer(),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.string({ maxLength: 4 }),
          ),
          async (where, first) => {
            const firstLiteral = typeof first === 'string' ? JSON.stringify(first) : String(first);
            const document = `{ customerBase { summary(where: ${print(where)}) { customers } customers(first: ${firstLiteral}, where: ${print(where)}) { nodes { id } } } }`;
            const { status, body } = await gw.query(document, undefined, bearer(caller));
            expectWellFormed(status, body);
            const codes = (body.errors ?? []).map((error) => error.extensions?.code);
            const firstFits =
              typeof first === 'number' && Number.isInteger(first) && first >= INT_MIN && first <= INT_MAX;
            if (hasLoneSurrogate(where) || hasLoneSurrogate(first)) {
              // JSON.stringify writes it as an escape such as \ud83d, which GraphQL's grammar does not take.
              expect(codes).toEqual(['GRAPHQL_PARSE_FAILED']);
            } else if (!literalFits(where) || !firstFits) {
              expect(codes.length).toBeGreaterThan(0);
              expect(new Set(codes)).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
              expect(body.data ?? undefined).toBeUndefined();
            } else if (first < 1 || first > 100) {
              expect(codes).toEqual(['BAD_USER_INPUT']);
              expect(body.errors?.[0]?.message).toContain('first must be 1 to 100');
            } else {
              expect(body.errors).toBeUndefined();
            }
          },
        ),
        { numRuns: 150 },
      ),
    );
  });

  it('counts in summary(where) exactly the customers paging customers(where) yields, each once, with any first', async () => {
    await withoutUpstreamCalls(() =>
      fc.assert(
        fc.asyncProperty(
          broadFilter,
          fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
          async (where, firsts) => {
            const { ids, total } = await walk(where, firsts);
            expect(ids).toHaveLength(total);
            expect(new Set(ids).size).toBe(ids.length);
            // The same customers, in the same order, as one page of the whole base filtered.
            const all = sources[0]?.ids ?? [];
            const matching = new Set(ids);
            expect(all.filter((id) => matching.has(id))).toEqual(ids);
          },
        ),
        { numRuns: 60 },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The export.

const KNOWN_PARAMETERS = [
  'mcaDirectlySigned',
  'mcaAccepted',
  'qualification',
  'vettingStatus',
  'companyNameStartsWith',
  'relationshipToPartner',
];
const PARAMETER_VALUES: Record<string, (value: string) => boolean> = {
  mcaDirectlySigned: (value) => value === 'true' || value === 'false',
  mcaAccepted: (value) => value === 'true' || value === 'false',
  qualification: isOneOf(KINDS),
  vettingStatus: isOneOf(STATUSES),
  companyNameStartsWith: (value) => value.length <= 256,
  relationshipToPartner: isOneOf(RELATIONSHIPS),
};
const CSV_HEADER =
  'id,companyName,domain,relationshipToPartner,mcaDirectlySigned,qualifications,syncedAt,mcaAccepted,mcaAttestedAt';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const CELL = /"((?:[^"]|"")*)"|[^",\r\n]*/y;
/** Parses RFC 4180 strictly: every record ends with CRLF, a quoted cell doubles its quotes, a bare one holds none of `",CR LF`. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let at = 0;
  while (at < text.length) {
    const record: string[] = [];
    for (;;) {
      CELL.lastIndex = at;
      const match = CELL.exec(text) as RegExpExecArray;
      record.push(match[1] === undefined ? match[0] : match[1].replace(/""/g, '"'));
      at = CELL.lastIndex;
      if (text[at] === ',') {
        at++;
        continue;
      }
      if (text.startsWith('\r\n', at)) {
        at += 2;
        break;
      }
      throw new Error(`not RFC 4180 at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))}`);
    }
    records.push(record);
  }
  return records;
}

/** The filter of an export's query parameters, taking the first value of each (as GraphQL would, with that where). */
function filterOf(params: URLSearchParams): Filter {
  const get = (name: string) => params.get(name) ?? undefined;
  const mca = get('mcaDirectlySigned');
  const accepted = get('mcaAccepted');
  return {
    ...(mca === undefined ? {} : { mcaDirectlySigned: mca === 'true' }),
    ...(accepted === undefined ? {} : { mcaAccepted: accepted === 'true' }),
    ...(get('qualification') ? { qualification: get('qualification') as Filter['qualification'] } : {}),
    ...(get('vettingStatus') ? { vettingStatus: get('vettingStatus') as Filter['vettingStatus'] } : {}),
    ...(get('companyNameStartsWith') ? { companyNameStartsWith: get('companyNameStartsWith') } : {}),
    ...(get('relationshipToPartner')
      ? { relationshipToPartner: get('relationshipToPartner') as Filter['relationshipToPartner'] }
      : {}),
  };
}

const exportUrl = (query: string) => new URL(gw.url.replace('/graphql', `/exports/customers.csv${query}`));

/** Downloads the export and checks a 200's CSV: header, RFC 4180, 9 cells a row, sane cells. Its ids, or the 400's body. */
async function download(
  url: URL,
): Promise<{ status: number; ids?: string[]; error?: { message: string; code: unknown } }> {
  const response = await fetch(url, { headers: bearer(caller) });
  const text = await response.text();
  expect([200, 400, 431], text.slice(0, 300)).toContain(response.status);
  if (response.status === 431) {
    // Node's HTTP server refuses a request line over its 16 KiB header limit before the gateway sees it.
    expect(url.href.length).toBeGreaterThan(14_000);
    return { status: 431 };
  }
  if (response.status === 400) {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { errors: Array<{ message: string; extensions?: { code?: unknown } }> };
    expect(body.errors).toHaveLength(1);
    expect(text).not.toMatch(/"stack"|\n\s+at /);
    return {
      status: 400,
      error: { message: body.errors[0]?.message as string, code: body.errors[0]?.extensions?.code },
    };
  }
  expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  const records = parseCsv(text);
  expect(records[0]?.join(',')).toBe(CSV_HEADER);
  const rows = records.slice(1);
  for (const row of rows) {
    expect(row, JSON.stringify(row)).toHaveLength(9);
    const [id, , , relationship, mca, , syncedAt, accepted, attestedAt] = row as string[];
    expect(['true', 'false', '']).toContain(accepted);
    if (attestedAt !== '') expect(attestedAt).toMatch(ISO);
    expect(id).toMatch(GUID);
    expect(['', ...RELATIONSHIPS]).toContain(relationship);
    expect(['true', 'false', '']).toContain(mca);
    expect(syncedAt).toMatch(ISO);
  }
  return { status: 200, ids: rows.map((row) => row[0] as string) };
}

/** encodeURIComponent, a lone surrogate (half an emoji cut off) sent as U+FFFD as a browser would. */
const percent = (text: string) => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));
/** Characters that stay literal in a query string and split nothing (no &, =, # or space). */
const rawText = fc.stringMatching(/^[A-Za-z0-9%._~!$'()*+,;:@/?[\]-]{0,12}$/);
const parameterName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN_PARAMETERS) },
  fc.constantFrom(
    'Qualification',
    'qualification[]',
    'where',
    'first',
    '',
    '%zz',
    '%',
    '%e2%82',
    'mcaDirectlySigned%00',
  ),
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', '%71ualification', 'vetting%53tatus', 'a+b'),
  fc.string({ maxLength: 12 }).map(percent),
  rawText,
  fc.nat({ max: 10_000 }).map((length) => 'n'.repeat(length)),
);
const parameterValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('true', 'false', ...KINDS, ...STATUSES, ...RELATIONSHIPS) },
  { weight: 2, arbitrary: namePrefix.map(percent) },
  fc.constantFrom('', '%zz', '%', '%%', '%e2%82', '%ff%fe', '%00', '%0d%0a', '+', 'true%20', 'TRUE', 'education'),
  fc.constantFrom('%45DUCATION', 'EDUCATION%00', 'APPROVED+', 'con+', 'Contoso%2C', '%F0%9F%99%82'),
  fc.string({ maxLength: 20 }).map(percent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(percent),
  rawText,
  fc.nat({ max: 12_000 }).map((length) => 'v'.repeat(length)),
  fc.integer({ min: 250, max: 260 }).map((length) => 'c'.repeat(length)),
  fc.nat({ max: 3_000 }).map((length) => '%41'.repeat(length)),
);
const pair = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(parameterName, parameterValue).map(([name, value]) => `${name}=${value}`) },
  parameterName,
  fc.tuple(parameterName, parameterValue, parameterValue).map(([name, a, b]) => `${name}=${a}=${b}`),
  fc
    .tuple(fc.constantFrom(...KNOWN_PARAMETERS), parameterValue, parameterValue)
    .map(([name, a, b]) => `${name}=${a}&${name}=${b}`),
);
const queryString = fc
  .tuple(fc.array(pair, { maxLength: 6 }), fc.constantFrom('?', '?&', '?&&', ''))
  .map(([pairs, lead]) => (pairs.length === 0 && lead === '' ? '' : `${lead || '?'}${pairs.join('&')}`));

describe('GET /exports/customers.csv with hostile query strings', () => {
  it('answers any query string with the CSV or a 400 naming the bad parameter, and no upstream call', async () => {
    await withoutUpstreamCalls(() =>
      fc.assert(
        fc.asyncProperty(queryString, async (query) => {
          const url = exportUrl(query);
          const params = url.searchParams;
          const names = [...new Set(params.keys())];
          // Unknown, given twice, or a value the filter does not take.
          const bad = names.filter(
            (name) =>
              !Object.hasOwn(PARAMETER_VALUES, name) ||
              params.getAll(name).length > 1 ||
              !(PARAMETER_VALUES[name] as (v: string) => boolean)(params.get(name) as string),
          );
          const answer = await download(url);
          if (answer.status === 431) return;
          if (bad.length > 0) {
            expect(answer.status).toBe(400);
            expect(answer.error?.code).toBe('BAD_USER_INPUT');
            const message = answer.error?.message ?? '';
            expect(
              bad.some((name) => message.startsWith(`${name.slice(0, 100)} `)),
              `${message.slice(0, 200)} names none of ${JSON.stringify(bad).slice(0, 200)}`,
            ).toBe(true);
            return;
          }
          expect(answer.status).toBe(200);
          expect(answer.ids).toHaveLength(await summaryOf(filterOf(params)));
        }),
        { numRuns: 250 },
      ),
    );
  });

  const allParameters = fc.record({
    mcaDirectlySigned: fc.constantFrom('true', 'false'),
    mcaAccepted: fc.constantFrom('true', 'false'),
    qualification: fc.constantFrom(...KINDS),
    vettingStatus: fc.constantFrom(...STATUSES),
    companyNameStartsWith: fc.oneof(
      namePrefix,
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.constant('z'.repeat(256)),
    ),
    relationshipToPartner: fc.constantFrom(...RELATIONSHIPS),
  });
  /** Mostly none, one or two parameters (so the export is often large), in any order; sometimes all five. */
  const validParameters = fc
    .tuple(
      allParameters,
      fc.oneof(fc.shuffledSubarray(KNOWN_PARAMETERS, { maxLength: 2 }), fc.shuffledSubarray(KNOWN_PARAMETERS)),
    )
    .map(([values, names]) => Object.fromEntries(names.map((name) => [name, values[name as keyof typeof values]])));

  it('exports, for valid parameters, exactly summary(where).customers rows of 9 cells, in the order of customers(where)', async () => {
    await withoutUpstreamCalls(() =>
      fc.assert(
        fc.asyncProperty(validParameters, fc.boolean(), async (parameters, plusForSpace) => {
          const entries = Object.entries(parameters) as Array<[string, string]>;
          const query = plusForSpace
            ? new URLSearchParams(entries).toString()
            : entries.map(([name, value]) => `${name}=${percent(value)}`).join('&');
          const url = exportUrl(`?${query}`);
          const answer = await download(url);
          expect(answer.status).toBe(200);
          const where = filterOf(url.searchParams);
          const { ids, total } = await walk(where, [100]);
          expect(answer.ids).toHaveLength(total);
          expect(answer.ids).toEqual(ids);
        }),
        { numRuns: 60 },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// What the properties above once found, pinned by example.

describe('cursors and order', () => {
  /** A cursor whose check is right for `text`: the check is a plain digest, so anyone can make one. */
  const forged = (text: string) =>
    `${b64(text)}.${createHash('sha256').update(`customerBase cursor:${text}`).digest('base64url').slice(0, 16)}`;

  // A cursor's check is a plain digest, so its text may be anything: text that is not JSON, or is null, is refused too.
  it('refuses a cursor whose check fits but whose text is not a cursor object with BAD_USER_INPUT', async () => {
    const texts = ['"v"', '[0]', '{"v":1}', '{"v":2,"f":"x","k":[]}', 'null', '{', 'not json'];
    const answers = await withoutUpstreamCalls(() =>
      Promise.all(
        texts.map(async (text) => {
          const { status, body } = await gw.query(PAGE, { first: 5, after: forged(text) }, bearer(caller));
          return { text, status, codes: body.errors?.map((error) => error.extensions?.code) };
        }),
      ),
    );
    expect(answers).toEqual(texts.map((text) => ({ text, status: 200, codes: ['BAD_USER_INPUT'] })));
  });

  /** Code-point order, as SPEC.md says: unlike `<` on strings, which compares UTF-16 code units. */
  function compareCodePoints(a: string, b: string): number {
    const [x, y] = [[...a], [...b]];
    for (let index = 0; index < Math.min(x.length, y.length); index++) {
      const difference = (x[index]?.codePointAt(0) as number) - (y[index]?.codePointAt(0) as number);
      if (difference !== 0) return difference;
    }
    return x.length - y.length;
  }

  // `<` on strings orders UTF-16 code units: '🙂 Emoji' (above U+FFFF) would sort before 'ｚｅｎ Fullwidth' (U+FF5A).
  it('orders customerBase.customers by the lower-cased names in code-point order', async () => {
    const names: Array<string | null> = [];
    let after: string | null = null;
    for (let index = 0; index < 10; index++) {
      const { body }: GraphQLResponse<NamesData> = await gw.query<NamesData>(
        'query ($after: String) { customerBase { customers(first: 100, after: $after) { nodes { companyName } pageInfo { hasNextPage endCursor } } } }',
        { after },
        bearer(caller),
      );
      const connection: NamesData['customerBase']['customers'] | undefined = body.data?.customerBase.customers;
      names.push(...(connection?.nodes ?? []).map((node) => node.companyName));
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(names).toHaveLength(SIZE);
    const named = names.filter((name): name is string => name !== null).map((name) => name.toLowerCase());
    expect(named).toEqual([...named].sort(compareCodePoints));
  });
});
interface NamesData {
  customerBase: {
    customers: {
      nodes: Array<{ companyName: string | null }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
}
