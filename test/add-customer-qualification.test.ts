import { print } from 'graphql';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AddCustomerQualificationDocument,
  type AddCustomerQualificationMutation,
  type AddCustomerQualificationMutationVariables,
} from '../schema/generated/graphql';
import { createLogger } from '../src/observability/logger';
import { useGateway } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';
import { unsignedJwt } from './support/tokens';
import { json, type UpstreamHandler } from './support/upstream';

const MUTATION = print(AddCustomerQualificationDocument);
const CUSTOMER = customerId(1);

/** A Partner Center that remembers what was added: GET lists it, a second POST of the same kind is 409. */
function statefulHandler(): UpstreamHandler {
  const held = new Map<string, Array<Record<string, string>>>();
  return (call, res) => {
    const list = held.get(call.customerId ?? '') ?? [];
    held.set(call.customerId ?? '', list);
    if (call.resource !== 'qualifications') return json(res, 404, { code: 600008, description: 'Not found' });
    if (call.method === 'GET') return json(res, 200, list);
    const body = JSON.parse(call.body) as { qualification: string };
    if (list.some((q) => q.qualification === body.qualification)) {
      return json(res, 409, {
        code: 600061,
        message: 'Qualification already exists',
        description: 'The customer already has this qualification.',
        errorName: 'QualificationAlreadyExists',
        isRetryable: false,
        parameters: {},
      });
    }
    const created: Record<string, string> =
      body.qualification === 'StateOwnedEntity'
        ? { qualification: body.qualification }
        : { qualification: body.qualification, vettingStatus: 'InReview', vettingCreateDate: '2020-12-04T20:54:24Z' };
    list.push(created);
    return json(res, 201, created);
  };
}

/** A JWT-shaped bearer token whose claims say app-only (signature is never checked by the gateway). */
function appOnlyToken(): string {
  return unsignedJwt({ idtyp: 'app', appid: 'some-app' });
}

describe('addCustomerQualification', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 300, requestBudgetMs: 3000 });
  beforeEach(() => {
    upstream.setHandler(statefulHandler());
  });

  const add = (input: AddCustomerQualificationMutationVariables['input'], headers?: Record<string, string | null>) =>
    gw.query<AddCustomerQualificationMutation>(MUTATION, { input }, headers);

  it('posts Education in Partner Center spelling and returns the created qualification and the fresh customer', async () => {
    const response = await add({
      customerId: `{${CUSTOMER.toUpperCase()}}`,
      qualification: 'EDUCATION',
      educationSegment: 'HIGHER_EDUCATION',
      website: 'contoso.edu',
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({
      addCustomerQualification: {
        qualification: {
          qualification: 'Education',
          kind: 'EDUCATION',
          vettingStatus: 'IN_REVIEW',
          vettingCreatedDate: '2020-12-04T20:54:24.000Z',
        },
        customer: {
          id: CUSTOMER,
          qualifications: [{ qualification: 'Education', kind: 'EDUCATION', vettingStatus: 'IN_REVIEW' }],
        },
      },
    });
    const [post, get] = upstream.calls;
    expect(upstream.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `POST /v1/customers/${CUSTOMER}/qualifications`,
      `GET /v1/customers/${CUSTOMER}/qualifications`,
    ]);
    expect(post?.body).toBe(
      '{"qualification":"Education","educationSegment":"HigherEducation","website":"contoso.edu"}',
    );
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.headers.authorization).toBe('Bearer test-token-app-user');
    expect(get?.headers['ms-correlationid']).toBe(post?.headers['ms-correlationid']);
  });

  it('posts K12 Education without a website', async () => {
    const response = await add({ customerId: CUSTOMER, qualification: 'EDUCATION', educationSegment: 'K12' });
    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications').find((c) => c.method === 'POST')?.body).toBe(
      '{"qualification":"Education","educationSegment":"K12"}',
    );
  });

  it('trims the website and leaves out one that is blank', async () => {
    await add({ customerId: CUSTOMER, qualification: 'EDUCATION', educationSegment: 'K12', website: ' contoso.edu ' });
    await add({ customerId: customerId(2), qualification: 'EDUCATION', educationSegment: 'K12', website: '   ' });
    expect(upstream.calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([
      '{"qualification":"Education","educationSegment":"K12","website":"contoso.edu"}',
      '{"qualification":"Education","educationSegment":"K12"}',
    ]);
  });

  it('trims the validation code it posts', async () => {
    await add({ customerId: CUSTOMER, qualification: 'GOVERNMENT_COMMUNITY_CLOUD', validationCode: ' 123456\t' });
    expect(upstream.calls[0]?.body).toBe('{"qualification":"GovernmentCommunityCloud","validationCode":"123456"}');
  });

  it('posts GovernmentCommunityCloud with its validation code', async () => {
    const response = await add({
      customerId: CUSTOMER,
      qualification: 'GOVERNMENT_COMMUNITY_CLOUD',
      validationCode: '123456',
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.addCustomerQualification.qualification.kind).toBe('GOVERNMENT_COMMUNITY_CLOUD');
    expect(upstream.calls[0]?.body).toBe('{"qualification":"GovernmentCommunityCloud","validationCode":"123456"}');
  });

  it('posts StateOwnedEntity with no further data and maps its missing vetting status to null', async () => {
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.addCustomerQualification.qualification).toEqual({
      qualification: 'StateOwnedEntity',
      kind: 'STATE_OWNED_ENTITY',
      vettingStatus: null,
      vettingCreatedDate: null,
    });
    expect(upstream.calls[0]?.body).toBe('{"qualification":"StateOwnedEntity"}');
  });

  it.each([
    ['EDUCATION without educationSegment', { qualification: 'EDUCATION', website: 'contoso.edu' }, 'educationSegment'],
    [
      'GOVERNMENT_COMMUNITY_CLOUD without validationCode',
      { qualification: 'GOVERNMENT_COMMUNITY_CLOUD' },
      'validationCode',
    ],
    [
      'GOVERNMENT_COMMUNITY_CLOUD with a blank validationCode',
      { qualification: 'GOVERNMENT_COMMUNITY_CLOUD', validationCode: '   ' },
      'validationCode',
    ],
    ['NONPROFIT', { qualification: 'NONPROFIT' }, 'NONPROFIT cannot be set'],
    ['OTHER', { qualification: 'OTHER' }, 'OTHER cannot be set'],
  ] as const)('refuses %s with BAD_USER_INPUT and no upstream call', async (_name, input, mentions) => {
    const response = await add({ customerId: CUSTOMER, ...input });
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.path).toEqual(['addCustomerQualification']);
    expect(response.body.errors?.[0]?.message).toContain(mentions);
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses a customer id that is not a GUID with BAD_USER_INPUT and no upstream call', async () => {
    const response = await add({ customerId: 'contoso', qualification: 'STATE_OWNED_ENTITY' });
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toBe(
      'input.customerId: expected a customer tenant id as a GUID (e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6), got "contoso".',
    );
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses an app-only token with FORBIDDEN and no upstream call', async () => {
    const response = await add(
      { customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' },
      { authorization: appOnlyToken() },
    );
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(response.body.errors?.[0]?.message).toBe(
      'addCustomerQualification needs an App+User token; the token sent is app-only.',
    );
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses a request without a token with UNAUTHENTICATED and no upstream call', async () => {
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' }, { authorization: null });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(upstream.calls).toHaveLength(0);
  });

  it('reports CONFLICT when the customer already has the qualification', async () => {
    await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });
    upstream.calls.length = 0;
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });
    expect(response.body.data).toBeNull();
    const error = response.body.errors?.[0];
    expect(error?.extensions?.code).toBe('CONFLICT');
    expect(error?.extensions?.upstream).toMatchObject({ status: 409, code: 600061 });
    expect(JSON.stringify(response.body)).not.toContain('QualificationAlreadyExists');
    expect(upstream.calls.map((c) => c.method)).toEqual(['POST']);
  });

  it('clears the cached qualifications so a second mutation in the same request reads them again', async () => {
    const response = await gw.query(
      `mutation Two($id: ID!) {
        first: addCustomerQualification(input: { customerId: $id, qualification: STATE_OWNED_ENTITY }) {
          customer { qualifications { qualification } }
        }
        second: addCustomerQualification(
          input: { customerId: $id, qualification: EDUCATION, educationSegment: K12 }
        ) {
          customer { qualifications { qualification } }
        }
      }`,
      { id: CUSTOMER },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({
      first: { customer: { qualifications: [{ qualification: 'StateOwnedEntity' }] } },
      second: { customer: { qualifications: [{ qualification: 'StateOwnedEntity' }, { qualification: 'Education' }] } },
    });
    expect(upstream.calls.map((c) => c.method)).toEqual(['POST', 'GET', 'POST', 'GET']);
  });

  it('never sends a POST again once it got a response, even a 500', async () => {
    upstream.setHandler((_call, res) => json(res, 500, { code: 500, description: 'Internal error' }));
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(response.body.errors?.[0]?.extensions?.upstream).toMatchObject({ status: 500 });
    expect(upstream.calls).toHaveLength(1);
  });

  it('sends a POST again with the same MS-RequestId when the connection dropped before any response', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) => {
      if (call.method === 'POST' && attempt === 1) {
        res.socket?.destroy();
        return;
      }
      return stateful(call, res, attempt);
    });
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });
    expect(response.body.errors).toBeUndefined();
    const posts = upstream.calls.filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[1]?.headers['ms-requestid']).toBe(posts[0]?.headers['ms-requestid']);
    expect(posts[1]?.body).toBe(posts[0]?.body);
  });

  it('returns the created qualification when reading the customer back fails: only customer is null, with the error at its path', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) =>
      call.method === 'GET'
        ? json(res, 503, { code: 503, description: 'Service unavailable' })
        : stateful(call, res, attempt),
    );
    const response = await add({ customerId: CUSTOMER, qualification: 'STATE_OWNED_ENTITY' });

    expect(response.body.data).toEqual({
      addCustomerQualification: {
        qualification: {
          qualification: 'StateOwnedEntity',
          kind: 'STATE_OWNED_ENTITY',
          vettingStatus: null,
          vettingCreatedDate: null,
        },
        customer: null,
      },
    });
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['addCustomerQualification', 'customer', 'qualifications']);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      upstream: { status: 503 },
    });
    expect(upstream.calls.map((c) => c.method)).toEqual(['POST', 'GET', 'GET', 'GET']);
  });

  it('logs the qualification Partner Center added, with its request and correlation ids and no token', async () => {
    const lines: string[] = [];
    const logged = await startGateway(
      upstream.url,
      {},
      { logger: createLogger({ destination: { write: (line) => lines.push(line) } }) },
    );
    try {
      // The audit line names the customer canonically, and cuts an id that is not a GUID to 100 characters.
      const response = await logged.query(MUTATION, {
        input: { customerId: `{${CUSTOMER.toUpperCase()}}`, qualification: 'STATE_OWNED_ENTITY' },
      });
      expect(response.body.errors).toBeUndefined();
      const refused = await logged.query(MUTATION, {
        input: { customerId: 'c'.repeat(150), qualification: 'STATE_OWNED_ENTITY' },
      });
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await logged.close();
    }
    const post = upstream.calls.find((c) => c.method === 'POST');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const added = entries.filter((line) => line.msg === 'partner center added a qualification');
    expect(entries.filter((line) => line.msg === 'qualification change')).toEqual([
      expect.objectContaining({
        level: 'info',
        // An opaque forwarded token names nobody; a gateway that signs in itself names the verified caller.
        caller: null,
        customerId: CUSTOMER,
        qualification: 'STATE_OWNED_ENTITY',
        outcome: 'added',
        correlationId: post?.headers['ms-correlationid'],
      }),
      expect.objectContaining({ caller: null, customerId: 'c'.repeat(100), outcome: 'BAD_USER_INPUT' }),
    ]);
    expect(added).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'partner center added a qualification',
        customerId: CUSTOMER,
        qualification: 'StateOwnedEntity',
        status: 201,
        requestId: post?.headers['ms-requestid'],
        correlationId: post?.headers['ms-correlationid'],
      }),
    ]);
    expect(lines.join('\n')).not.toContain('test-token-app-user');
  });
});
