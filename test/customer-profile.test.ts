// Customer.companyName, domain and relationshipToPartner: free for customers
// read from customerList (the customer loader is primed), otherwise one batched
// GET /customers/{id} per distinct customer per request, wherever the customer
// comes from; missing fields are null and unknown relationships UNKNOWN.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { defaultHandler, json, rosterItem } from './support/upstream';

const PROFILE = 'companyName domain relationshipToPartner';

/** Answers GET /customers/{id} with `profiles[id]` when given; everything else as the default handler does. */
function profilesHandler(profiles: Record<string, unknown>): Parameters<typeof useGateway>[1] {
  return {
    handler: (call, res, attempt) => {
      if (call.resource === 'customer' && call.customerId !== undefined && call.customerId in profiles) {
        return json(res, 200, profiles[call.customerId]);
      }
      if (call.resource === 'customers') {
        const items = Object.values(profiles);
        return json(res, 200, { totalCount: items.length, items, links: {} });
      }
      return defaultHandler(call, res, attempt);
    },
  };
}

describe('customer profile fields', () => {
  const { upstream, gw } = useGateway();

  it('costs no call beyond the page for the profile fields of 50 listed customers', async () => {
    const response = await gw.query<{ customerList: { nodes: Array<Record<string, unknown>> } }>(
      `{ customerList(first: 50) { nodes { id ${PROFILE} } edges { node { companyName } } } }`,
    );

    expect(response.body.errors).toBeUndefined();
    const nodes = response.body.data?.customerList.nodes ?? [];
    expect(nodes).toHaveLength(50);
    expect(nodes[0]).toEqual({
      id: customerId(1),
      companyName: 'Company 001',
      domain: 'company1.onmicrosoft.com',
      relationshipToPartner: 'RESELLER',
    });
    expect(upstream.calls.map((call) => call.resource)).toEqual(['customers']);
  });

  it('makes one GET /customers/{id} per distinct customer across aliases, duplicates, case, braces and lists', async () => {
    const [a, b, c] = [customerId(1), customerId(2), customerId(3)];
    const response = await gw.query(
      `query ($ids: [ID!]!) {
        one: customer(id: "${a}") { ${PROFILE} }
        again: customer(id: "{${a.toUpperCase()}}") { companyName }
        customers(ids: $ids) { id ${PROFILE} }
      }`,
      { ids: [a, b, c, b, c] },
    );

    expect(response.body.errors).toBeUndefined();
    expect(
      upstream
        .callsTo('customer')
        .map((call) => call.customerId)
        .sort(),
    ).toEqual([a, b, c]);
    expect(upstream.calls.map((call) => call.path).sort()).toEqual([a, b, c].map((id) => `/v1/customers/${id}`).sort());
  });

  it('shares one GET /customers/{id} between the three profile fields of a customer', async () => {
    const response = await gw.query(`{ customer(id: "${customerId(7)}") { ${PROFILE} } }`);
    expect(response.body.data).toEqual({
      customer: { companyName: 'Company 007', domain: 'company7.onmicrosoft.com', relationshipToPartner: 'RESELLER' },
    });
    expect(upstream.calls).toHaveLength(1);
  });

  it('reads profiles for federation _entities with one call per distinct customer', async () => {
    const representations = [1, 2, 1, 2, 3].map((n) => ({ __typename: 'Customer', id: customerId(n) }));
    const response = await gw.query<{ _entities: Array<{ companyName: string }> }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { ${PROFILE} } } }`,
      { representations },
    );

    expect(response.body.data?._entities.map((entity) => entity.companyName)).toEqual([
      'Company 001',
      'Company 002',
      'Company 001',
      'Company 002',
      'Company 003',
    ]);
    expect(upstream.callsTo('customer')).toHaveLength(3);
  });

  it('makes no GET /customers/{id} when no profile field is selected', async () => {
    await gw.query(`{ customer(id: "${customerId(1)}") { id qualifications { kind } } }`);
    expect(upstream.callsTo('customer')).toHaveLength(0);
  });

  it('fails each profile field of a customer Partner Center does not know with NOT_FOUND, alone', async () => {
    const missing = customerId(999);
    upstream.setHandler((call, res, attempt) =>
      call.customerId === missing
        ? json(res, 404, { code: 600008, description: 'Not found', data: [], source: 'PartnerFD' })
        : defaultHandler(call, res, attempt),
    );
    const response = await gw.query(
      `{ gone: customer(id: "${missing}") { id ${PROFILE} } here: customer(id: "${customerId(1)}") { companyName } }`,
    );

    expect(response.body.data).toEqual({
      gone: { id: missing, companyName: null, domain: null, relationshipToPartner: null },
      here: { companyName: 'Company 001' },
    });
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['NOT_FOUND', ['gone', 'companyName']],
      ['NOT_FOUND', ['gone', 'domain']],
      ['NOT_FOUND', ['gone', 'relationshipToPartner']],
    ]);
    expect(upstream.callsTo('customer', missing)).toHaveLength(1);
  });

  it('answers UPSTREAM_BAD_RESPONSE for a profile body that is not an object', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'customer' ? json(res, 200, '["not", "a", "customer"]') : defaultHandler(call, res, attempt),
    );
    const response = await gw.query(`{ customer(id: "${customerId(1)}") { companyName } }`);
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      [
        'UPSTREAM_BAD_RESPONSE',
        `Partner Center sent an unexpected body: expected a customer object from GET /customers/${customerId(1)}.`,
      ],
    ]);
  });
});

describe('customer profile values', () => {
  const id = (n: number) => customerId(n);
  const profiles = {
    [id(1)]: { ...rosterItem(1), relationshipToPartner: 'indirect_reseller' },
    [id(2)]: { ...rosterItem(2), relationshipToPartner: 'microsoft_support' },
    [id(3)]: { ...rosterItem(3), relationshipToPartner: 'Advisor' },
    [id(4)]: { ...rosterItem(4), relationshipToPartner: 'none' },
    [id(5)]: { ...rosterItem(5), relationshipToPartner: 'SYNDICATION' },
    [id(6)]: { id: id(6) },
    [id(7)]: { id: id(7), companyProfile: { companyName: '', domain: 42 }, relationshipToPartner: null },
    [id(8)]: {
      companyProfile: { tenantId: id(8), companyName: 'Only a tenant id' },
      relationshipToPartner: 'reseller',
    },
  };
  const { gw } = useGateway({}, profilesHandler(profiles));

  const expected = [
    { companyName: 'Company 001', domain: 'company1.onmicrosoft.com', relationshipToPartner: 'UNKNOWN' },
    { companyName: 'Company 002', domain: 'company2.onmicrosoft.com', relationshipToPartner: 'MICROSOFT_SUPPORT' },
    { companyName: 'Company 003', domain: 'company3.onmicrosoft.com', relationshipToPartner: 'ADVISOR' },
    { companyName: 'Company 004', domain: 'company4.onmicrosoft.com', relationshipToPartner: 'NONE' },
    { companyName: 'Company 005', domain: 'company5.onmicrosoft.com', relationshipToPartner: 'SYNDICATION' },
    { companyName: null, domain: null, relationshipToPartner: null },
    { companyName: null, domain: null, relationshipToPartner: null },
    { companyName: 'Only a tenant id', domain: null, relationshipToPartner: 'RESELLER' },
  ];

  it('maps relationships without regard to case, unknown ones to UNKNOWN, and missing fields to null (by id)', async () => {
    const response = await gw.query<{ customers: unknown[] }>(
      `query ($ids: [ID!]!) { customers(ids: $ids) { ${PROFILE} } }`,
      { ids: Object.keys(profiles) },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers).toEqual(expected);
  });

  it('maps the same values on a page, taking the id from companyProfile.tenantId when id is missing', async () => {
    const response = await gw.query<{ customerList: { nodes: Array<{ id: string }> } }>(
      `{ customerList { nodes { id ${PROFILE} } } }`,
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customerList.nodes).toEqual(
      expected.map((profile, n) => ({ id: id(n + 1), ...profile })),
    );
  });
});
