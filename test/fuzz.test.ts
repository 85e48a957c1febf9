// Property-based fuzzing through the public surface: random ids, mutation
// inputs, request bodies and upstream answers. Whatever arrives, the gateway
// answers without crashing, never with HTTP 500, and every error it shows
// carries a known code and no stack.

import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, type GraphQLResponse } from './support/gateway';
import { json, type RecordedCall } from './support/upstream';

/** The documented error codes plus the request-level codes of yoga and graphql-js. INTERNAL_SERVER_ERROR is not here: it means a bug. */
const KNOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'UPSTREAM_REJECTED',
  'UPSTREAM_THROTTLED',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_BAD_RESPONSE',
  'NOT_SUPPORTED_IN_CLOUD',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const { upstream, gw } = useGateway({ attemptTimeoutMs: 300, requestBudgetMs: 1_500, production: true });
let run = 0;

/** A token of its own per run, so a 429 window opened by one run never holds the next. */
const freshToken = () => `Bearer fuzz-${++run}`;

/** Sends one request and checks what every answer must be; returns the response for further checks. */
async function send(
  document: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse & { calls: RecordedCall[] }> {
  const before = upstream.calls.length;
  const response = await gw.query(document, variables, { authorization: freshToken() });
  expectWellFormed(response.status, response.body);
  return { ...response, calls: upstream.calls.slice(before) };
}

function expectWellFormed(status: number, body: GraphQLResponse['body']): void {
  expect(status).toBeLessThan(500);
  expect(typeof body).toBe('object');
  expect('data' in body || 'errors' in body).toBe(true);
  for (const error of body.errors ?? []) {
    expect(typeof error.message).toBe('string');
    expect(KNOWN_CODES, `${error.extensions?.code}: ${error.message}`).toContain(error.extensions?.code);
    const text = JSON.stringify(error);
    expect(text).not.toMatch(/"stack"|\n\s+at |\bat .+\.(?:ts|js):\d+/);
  }
}

const guidVariant = fc
  .tuple(fc.uuid(), fc.boolean(), fc.boolean(), fc.constantFrom('', ' ', '\t'))
  .map(([id, upper, braces, pad]) => {
    const cased = upper ? id.toUpperCase() : id;
    return `${pad}${braces ? `{${cased}}` : cased}${pad}`;
  });
const junkId = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.uuid().map((id) => id.slice(0, -1)),
  fc.uuid().map((id) => `${id}0`),
  fc.uuid().map((id) => id.replace(/-/g, '')),
  fc.uuid().map((id) => `{${id}`),
  fc.constant('x'.repeat(20_000)),
);
const anyId = fc.oneof(guidVariant, junkId);
const canonical = (raw: string) =>
  raw
    .trim()
    .replace(/^\{|\}$/g, '')
    .toLowerCase();
const isGuid = (raw: string) => /^(?:\{[0-9a-f-]{36}\}|[0-9a-f-]{36})$/i.test(raw.trim()) && GUID.test(canonical(raw));

describe('ids', () => {
  it('answers any list of ids item by item: canonical customers for GUIDs, BAD_USER_INPUT at the index of each other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyId, { maxLength: 6 }), async (ids) => {
        const { body, calls } = await send(
          'query($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }',
          { ids },
        );
        const customers = body.data?.customers as Array<{ id: string } | null>;
        expect(customers.map((c) => c?.id ?? null)).toEqual(ids.map((id) => (isGuid(id) ? canonical(id) : null)));
        const badIndexes = ids.flatMap((id, index) => (isGuid(id) ? [] : [index]));
        expect(body.errors?.map((error) => [error.path, error.extensions?.code]) ?? []).toEqual(
          badIndexes.map((index) => [['customers', index], 'BAD_USER_INPUT']),
        );
        expect(calls).toHaveLength(new Set(ids.filter(isGuid).map(canonical)).size);
      }),
      { numRuns: 120 },
    );
  });

  it('answers any id written into the document or sent as a value of any JSON type', async () => {
    await fc.assert(
      fc.asyncProperty(anyId, fc.jsonValue({ maxDepth: 2 }), async (id, value) => {
        const inline = await send(`{ customer(id: ${JSON.stringify(id)}) { id qualifications { kind } } }`);
        if (!isGuid(id)) expect(inline.calls).toHaveLength(0);
        const variable = await send('query($id: ID!) { customer(id: $id) { id } }', { id: value });
        expect(variable.calls).toHaveLength(0);
        if (typeof value !== 'string' && !Number.isInteger(value)) {
          expect(variable.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        }
      }),
      { numRuns: 80 },
    );
  });

  it('answers any _entities representation, failing only the bad ones', async () => {
    const representation = fc.oneof(
      anyId.map((id) => ({ __typename: 'Customer', id })),
      fc.record({ __typename: fc.constantFrom('Customer', 'Nope', ''), id: fc.jsonValue({ maxDepth: 1 }) }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(representation, { maxLength: 4 }), async (representations) => {
        const { body } = await send(
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id } } }',
          {
            r: representations,
          },
        );
        if (representations.includes(null)) {
          // [_Any!]! takes no null: the variables are refused as a whole.
          expect(body.data).toBeUndefined();
          expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
          return;
        }
        const good = (r: unknown): r is { id: string } => {
          const { __typename, id } = (r ?? {}) as { __typename?: unknown; id?: unknown };
          return __typename === 'Customer' && typeof id === 'string' && isGuid(id);
        };
        expect(body.data?._entities).toEqual(representations.map((r) => (good(r) ? { id: canonical(r.id) } : null)));
        const failed = representations.flatMap((r, index) => (good(r) ? [] : [index]));
        const paths = (body.errors ?? []).map((error) => error.path as [string, number]);
        expect(paths.sort((a, b) => a[1] - b[1])).toEqual(failed.map((index) => ['_entities', index]));
        for (const error of body.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      }),
      { numRuns: 80 },
    );
  });
});

describe('mutation inputs', () => {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('', '   ', '123456', 'contoso.edu'),
    fc.constant('w'.repeat(100_000)),
  );
  const input = fc.record(
    {
      customerId: fc.oneof(guidVariant, junkId),
      qualification: fc.oneof(
        fc.constantFrom('EDUCATION', 'GOVERNMENT_COMMUNITY_CLOUD', 'STATE_OWNED_ENTITY', 'NONPROFIT', 'OTHER'),
        fc.string({ maxLength: 20 }),
      ),
      educationSegment: maybe(fc.oneof(fc.constantFrom('K12', 'HIGHER_EDUCATION', null), fc.string({ maxLength: 10 }))),
      website: maybe(fc.oneof(text, fc.constant(null), fc.integer())),
      validationCode: maybe(fc.oneof(text, fc.constant(null), fc.boolean())),
    },
    { requiredKeys: [] },
  );

  /** Whether the gateway must post this input, as documented: a settable kind with what it requires, all well typed. */
  function shouldPost(value: Record<string, unknown>): boolean {
    const { customerId: id, qualification, educationSegment, website, validationCode } = value;
    if (typeof id !== 'string' || !isGuid(id)) return false;
    const stringOrNull = (v: unknown) => v === undefined || v === null || typeof v === 'string';
    if (!stringOrNull(website) || !stringOrNull(validationCode)) return false;
    if (![undefined, null, 'K12', 'HIGHER_EDUCATION'].includes(educationSegment as string)) return false;
    if (qualification === 'STATE_OWNED_ENTITY') return true;
    if (qualification === 'EDUCATION') return educationSegment === 'K12' || educationSegment === 'HIGHER_EDUCATION';
    if (qualification === 'GOVERNMENT_COMMUNITY_CLOUD')
      return typeof validationCode === 'string' && validationCode.trim() !== '';
    return false;
  }

  it('posts exactly the valid inputs, in Partner Center spelling, and answers every input cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        const { body, calls } = await send(
          'mutation($input: AddCustomerQualificationInput!) { addCustomerQualification(input: $input) { customer { id } qualification { qualification kind } } }',
          { input: value },
        );
        const posts = calls.filter((call) => call.method === 'POST');
        if (!shouldPost(value)) {
          expect(posts).toHaveLength(0);
          expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
          return;
        }
        expect(posts).toHaveLength(1);
        const sent = JSON.parse(posts[0]?.body ?? '{}') as Record<string, unknown>;
        expect(['Education', 'GovernmentCommunityCloud', 'StateOwnedEntity']).toContain(sent.qualification);
        if (sent.qualification === 'Education') expect(['K12', 'HigherEducation']).toContain(sent.educationSegment);
        if (sent.qualification === 'GovernmentCommunityCloud') expect(sent.validationCode).toMatch(/\S/);
        expect(body.errors).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  });
});

describe('upstream answers', () => {
  const validList = JSON.stringify([
    { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00' },
    { qualification: 'StateOwnedEntity' },
  ]);
  const wireDate = fc.oneof(
    fc
      .tuple(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom('Z', '+00:00', '-05:00', '+1400', ''),
      )
      .map(
        ([date, digits, zone]) => `${date.toISOString().slice(0, 19)}${digits ? `.${'7'.repeat(digits)}` : ''}${zone}`,
      ),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('2021-02-30T25:61:00Z', '0000-00-00T00:00:00Z', '9999-12-31T23:59:59.9999999-14:00'),
  );
  const item = fc.record(
    {
      qualification: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
      vettingStatus: fc.oneof(
        fc.constantFrom('Approved', 'InReview', 'Denied', 'approved', ''),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      vettingReason: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
      vettingCreatedDate: fc.oneof(wireDate, fc.jsonValue({ maxDepth: 1 })),
      vettingCreateDate: wireDate,
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.array(item, { maxLength: 4 }).map((items) => JSON.stringify(items)),
    fc.array(item, { maxLength: 3 }).map((items) => JSON.stringify({ qualifications: items })),
    fc.jsonValue({ maxDepth: 1 }).map((isSigned) => JSON.stringify({ isSigned })),
    fc.nat({ max: validList.length - 1 }).map((cut) => validList.slice(0, cut)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom(
      `"${'z'.repeat(1_000_000)}"`,
      `[{"qualification":"${'q'.repeat(500_000)}","vettingReason":"${'r'.repeat(500_000)}"}]`,
      '',
      'null',
      '{"code":20002,"description":"No relationship","data":[],"source":"PartnerFD"}',
      '{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}',
    ),
  );
  const status = fc.constantFrom(200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 405, 408, 409, 412, 429, 500, 503);
  const contentType = fc.constantFrom('application/json', 'text/html', 'application/json; charset=utf-8');

  it('answers any status and body from Partner Center with data or a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(status, body, contentType, async (code, text, type) => {
        upstream.setHandler((_call, res: ServerResponse) => {
          // Retry-After past the budget, so a 429 fails at once instead of waiting.
          json(res, code, text, { 'content-type': type, ...(code === 429 ? { 'retry-after': '30' } : {}) });
        });
        const { body: answer } = await send(
          `{ customer(id: "${customerId(1)}") { id mcaDirectlySigned qualifications { qualification kind vettingStatus vettingReason vettingCreatedDate } } }`,
        );
        const customer = answer.data?.customer as { qualifications?: unknown[] } | null | undefined;
        if (customer) {
          for (const q of (customer.qualifications ?? []) as Array<Record<string, unknown>>) {
            expect(typeof q.qualification).toBe('string');
            if (q.vettingCreatedDate !== null)
              expect(q.vettingCreatedDate).toMatch(/^(?:\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          }
        }
        const mutation = await send(
          `mutation { addCustomerQualification(input: { customerId: "${customerId(2)}", qualification: STATE_OWNED_ENTITY }) { qualification { qualification kind vettingCreatedDate } } }`,
        );
        expect(mutation.calls.filter((call) => call.method === 'POST').length).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 120 },
    );
  });

  it('answers any raw request body without an HTTP 500', async () => {
    const raw = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ maxLength: 80 }).map((query) => JSON.stringify({ query })),
      fc
        .record(
          {
            query: fc.jsonValue({ maxDepth: 1 }),
            variables: fc.jsonValue({ maxDepth: 2 }),
            operationName: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (text) => {
        const authorization = freshToken();
        const response = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
          body: text,
        });
        const answer = (await response.json()) as GraphQLResponse['body'];
        expectWellFormed(response.status, answer);
        // Counted by token: a call of an earlier test arriving late must not be taken for one of this body's.
        expect(upstream.calls.filter((call) => call.headers.authorization === authorization)).toEqual([]);
      }),
      { numRuns: 120 },
    );
  });
});
