// A failing field fails alone, with the SPEC's code and what is known of the
// upstream call; other customers and fields still resolve. Nothing raw leaks.

import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';
import { defaultHandler, json, type RecordedCall } from './support/upstream';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Put in every part of an error body the gateway must not pass on. */
const SECRET = 'RAW-BODY-SECRET-7f3a';

const BOTH_FIELDS = `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind } } }`;
const QUALIFICATIONS_ONLY = `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`;

interface CustomersData {
  customers: Array<{ id: string; mcaDirectlySigned?: boolean | null; qualifications: Array<{ kind: string }> } | null>;
}

/** Answers `status` with `body` for calls matching `failing`; everything else gets the default answer. */
function failWhen(
  failing: (call: RecordedCall) => boolean,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return (call: RecordedCall, res: ServerResponse, attempt: number) =>
    failing(call) ? json(res, status, body, headers) : defaultHandler(call, res, attempt);
}

describe('partial errors', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 1_000, requestBudgetMs: 3_000 });

  it('fails only the missing customer with NOT_FOUND beside two good ones', async () => {
    const missing = customerId(404);
    upstream.setHandler(
      failWhen((call) => call.customerId === missing, 404, {
        code: 600008,
        description: `Customer ${missing} was not found.`,
        data: [],
        source: 'PartnerFD',
      }),
    );

    const response = await gw.query<CustomersData>(QUALIFICATIONS_ONLY, {
      ids: [customerId(1), missing, customerId(2)],
    });

    // qualifications is non-null, so its failure nulls the customer, not the list.
    expect(response.body.data?.customers).toEqual([
      { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }] },
      null,
      { id: customerId(2), qualifications: [{ kind: 'EDUCATION' }] },
    ]);
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    expect(error?.path).toEqual(['customers', 1, 'qualifications']);
    expect(error?.extensions).toMatchObject({ code: 'NOT_FOUND', upstream: { status: 404, code: 600008 } });
    expect(upstream.callsTo('qualifications', missing)).toHaveLength(1);
  });

  it('fails mcaDirectlySigned with FORBIDDEN on a 403 while qualifications resolve', async () => {
    const noRelationship = customerId(403);
    upstream.setHandler(
      failWhen(
        (call) =>
          call.customerId === noRelationship && call.resource === 'directSignedMicrosoftCustomerAgreementStatus',
        403,
        { code: 20002, description: 'No relationship between caller and account.', data: [], source: 'PartnerFD' },
      ),
    );

    const response = await gw.query<CustomersData>(BOTH_FIELDS, { ids: [noRelationship, customerId(1)] });

    expect(response.body.data?.customers).toEqual([
      { id: noRelationship, mcaDirectlySigned: null, qualifications: [{ kind: 'EDUCATION' }] },
      { id: customerId(1), mcaDirectlySigned: true, qualifications: [{ kind: 'EDUCATION' }] },
    ]);
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    const [mcaCall] = upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus', noRelationship);
    expect(error?.path).toEqual(['customers', 0, 'mcaDirectlySigned']);
    expect(error?.message).toContain('No relationship between caller and account.');
    expect(error?.extensions).toEqual({
      code: 'FORBIDDEN',
      upstream: {
        status: 403,
        code: 20002,
        requestId: mcaCall?.headers['ms-requestid'],
        correlationId: response.headers.get('ms-correlationid'),
      },
    });
    expect(error?.extensions?.upstream).toMatchObject({ requestId: expect.stringMatching(GUID) });
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus', noRelationship)).toHaveLength(1);
  });

  it.each([
    [400, 'BAD_USER_INPUT', 1],
    [401, 'UNAUTHENTICATED', 1],
    [403, 'FORBIDDEN', 1],
    [404, 'NOT_FOUND', 1],
    [405, 'UPSTREAM_REJECTED', 1],
    [406, 'UPSTREAM_REJECTED', 1],
    [409, 'CONFLICT', 1],
    [412, 'UPSTREAM_REJECTED', 1],
    [422, 'UPSTREAM_REJECTED', 1],
    [500, 'UPSTREAM_UNAVAILABLE', 3],
    [502, 'UPSTREAM_UNAVAILABLE', 3],
    [503, 'UPSTREAM_UNAVAILABLE', 3],
    [504, 'UPSTREAM_UNAVAILABLE', 3],
  ])('maps upstream %i to %s after %i call(s), leaking nothing', async (status, code, calls) => {
    const failing = customerId(status);
    upstream.setHandler(
      failWhen((call) => call.customerId === failing, status, {
        code: 777,
        description: 'Something went wrong upstream.',
        data: [SECRET],
        source: SECRET,
        stack: `Error: ${SECRET}\n    at PartnerFD (/srv/partnerfd/index.js:1:1)`,
      }),
    );

    const response = await gw.query<CustomersData>(QUALIFICATIONS_ONLY, { ids: [failing, customerId(1)] });

    expect(response.status).toBe(200);
    expect(response.body.data?.customers).toEqual([
      null,
      { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }] },
    ]);
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    expect(error?.path).toEqual(['customers', 0, 'qualifications']);
    expect(error?.extensions).toMatchObject({ code, upstream: { status, code: 777 } });
    expect(Object.keys(error ?? {}).sort()).toEqual(['extensions', 'locations', 'message', 'path']);
    expect(Object.keys(error?.extensions ?? {}).sort()).toEqual(['code', 'upstream']);
    expect(Object.keys(error?.extensions?.upstream ?? {}).sort()).toEqual([
      'code',
      'correlationId',
      'requestId',
      'status',
    ]);
    const text = JSON.stringify(response.body);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN.split(' ')[1]);
    expect(text).not.toMatch(/\bat \S+ \(|node_modules|\.ts:\d+/);
    expect(upstream.callsTo('qualifications', failing)).toHaveLength(calls);
  });

  it('reads the {statusCode, message} 429 shape and takes the wait from the message when Retry-After is absent', async () => {
    upstream.setHandler(
      failWhen(() => true, 429, { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' }),
    );

    // Its own token: a 429 opens a throttling window for the token that received it.
    const response = await gw.query(
      QUALIFICATIONS_ONLY,
      { ids: [customerId(1)] },
      { authorization: 'Bearer throttled-by-message' },
    );

    const [error] = response.body.errors ?? [];
    expect(error?.message).toBe('Partner Center answered 429: Rate limit is exceeded. Try again in 57 seconds.');
    expect(error?.extensions).toMatchObject({
      code: 'UPSTREAM_THROTTLED',
      retryAfterSeconds: 57,
      upstream: { status: 429 },
    });
    expect(upstream.calls).toHaveLength(1);
  });

  it('prefers the Retry-After header over the wait named in the 429 message', async () => {
    upstream.setHandler(
      failWhen(
        () => true,
        429,
        { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' },
        { 'retry-after': '30' },
      ),
    );

    const response = await gw.query(
      QUALIFICATIONS_ONLY,
      { ids: [customerId(1)] },
      { authorization: 'Bearer throttled-by-header' },
    );

    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 30 });
    expect(upstream.calls).toHaveLength(1);
  });

  it('fails each field of one customer on its own: qualifications NOT_FOUND, mcaDirectlySigned still resolves', async () => {
    const id = customerId(77);
    upstream.setHandler(
      failWhen((call) => call.resource === 'qualifications', 404, {
        code: 600008,
        description: 'Not found',
        data: [],
        source: 'PartnerFD',
      }),
    );

    const response = await gw.query<{ customer: { mcaDirectlySigned: boolean | null } | null; other: unknown }>(
      `query ($id: ID!) {
        customer(id: $id) { qualifications { kind } }
        other: customer(id: $id) { mcaDirectlySigned }
      }`,
      { id },
    );

    expect(response.body.data).toEqual({ customer: null, other: { mcaDirectlySigned: true } });
    expect(response.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customer', 'qualifications'], 'NOT_FOUND'],
    ]);
  });
});
