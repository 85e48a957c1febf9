// What a page of customerList costs upstream and how its failures show: the
// page itself is one call, each node's qualifications and mcaDirectlySigned go
// through the per-request loaders (a page of 50 with both: 1 + 50 + 50 calls),
// the operation limits count `first` customers, and a page Partner Center
// refuses or garbles fails the field with the matching code.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const FULL_PAGE = /* GraphQL */ `
  query ($first: Int) {
    customerList(first: $first) {
      nodes {
        id companyName domain relationshipToPartner mcaDirectlySigned
        qualifications { qualification kind vettingStatus vettingCreatedDate }
      }
      pageInfo { hasNextPage }
    }
  }
`;

describe('customerList calls', () => {
  const { upstream, gw } = useGateway({ maxCustomersPerRequest: 120 });

  it('costs exactly 1 + 50 + 50 calls for a page of 50 with qualifications and mcaDirectlySigned', async () => {
    const response = await gw.query<{ customerList: { nodes: Array<{ id: string }> } }>(FULL_PAGE, { first: 50 });

    expect(response.body.errors).toBeUndefined();
    const ids = Array.from({ length: 50 }, (_, n) => customerId(n + 1));
    expect(response.body.data?.customerList.nodes.map((node) => node.id)).toEqual(ids);
    expect(upstream.callsTo('customers')).toHaveLength(1);
    // Calls of one batch start together and arrive in any order.
    const calledFor = (resource: string) =>
      upstream
        .callsTo(resource)
        .map((call) => call.customerId)
        .sort();
    expect(calledFor('qualifications')).toEqual([...ids].sort());
    expect(calledFor('directSignedMicrosoftCustomerAgreementStatus')).toEqual([...ids].sort());
    expect(upstream.callsTo('customer')).toHaveLength(0);
    expect(upstream.calls).toHaveLength(101);
  });

  it('shares the qualifications loader with customers(ids) in the same request: one call per distinct customer', async () => {
    const response = await gw.query(
      `query ($ids: [ID!]!) {
        customerList(first: 10) { nodes { companyName qualifications { kind } } }
        customers(ids: $ids) { companyName qualifications { kind } }
      }`,
      { ids: [customerId(1), customerId(2)] },
    );

    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo('customers')).toHaveLength(1);
    expect(upstream.callsTo('qualifications')).toHaveLength(10);
    // Root fields run side by side: customers(ids) asks its profiles before the page has arrived, as a customer
    // named by id; the page's own nodes then cost nothing more.
    expect(upstream.callsTo('customer').map((call) => call.customerId)).toEqual([customerId(1), customerId(2)]);
  });

  it('counts customerList(first: n) as n customers towards the operation limit, before any call', async () => {
    const atLimit = await gw.query(
      `{ a: customerList(first: 100) { nodes { id } } b: customerList(first: 20) { nodes { id } } }`,
    );
    expect(atLimit.body.errors).toBeUndefined();
    upstream.calls.length = 0;

    const over = await gw.query(
      `{ a: customerList(first: 100) { nodes { id } } b: customerList(first: 21) { nodes { id } } }`,
    );
    expect(over.body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      [
        'BAD_USER_INPUT',
        'This operation touches 121 customers; at most 120 are allowed in one request. Split it into smaller requests.',
      ],
    ]);
    expect(upstream.calls).toHaveLength(0);
  });

  it('counts the default page size and sizes passed in variables', async () => {
    const response = await gw.query(
      `query ($first: Int) { a: customerList { nodes { id } } b: customerList(first: $first) { nodes { id } } }`,
      { first: 71 },
    );
    expect(response.body.errors?.[0]?.message).toMatch(/touches 121 customers/);
    expect(upstream.calls).toHaveLength(0);
  });

  it('fails without a token with UNAUTHENTICATED and no call', async () => {
    const response = await gw.query('{ customerList { nodes { id } } }', undefined, { authorization: null });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(upstream.calls).toHaveLength(0);
  });

  it('fails the list with FORBIDDEN when Partner Center answers 403', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'customers'
        ? json(res, 403, { code: 20002, description: 'Forbidden.', data: [], source: 'PartnerFD' })
        : defaultHandler(call, res, attempt),
    );
    const response = await gw.query('{ customerList { nodes { id } } }');
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['FORBIDDEN', ['customerList']],
    ]);
    expect(upstream.calls).toHaveLength(1);
  });

  const NO_ID = 'item 0 of GET /customers has no customer id (a GUID)';
  const NO_TOKEN = 'links.next of GET /customers carries no usable MS-ContinuationToken header';
  const tokenHeader = (value: string) => ({ next: { headers: [{ key: 'MS-ContinuationToken', value }] } });
  for (const [what, body, expected] of [
    ['a body without items', { totalCount: 0 }, 'expected {"items": [...]} from GET /customers'],
    ['an item without a customer id', { items: [{ companyProfile: { companyName: 'No id' } }] }, NO_ID],
    ['an item with neither id nor companyProfile', { items: [{ relationshipToPartner: 'reseller' }] }, NO_ID],
    ['an item that is null', { items: [null] }, NO_ID],
    ['an item that is a string', { items: ['00000000-0000-0000-0000-000000000001'] }, NO_ID],
    [
      'a next link without MS-ContinuationToken',
      { items: [], links: { next: { uri: '/customers?size=1&seekOperation=Next', headers: [] } } },
      NO_TOKEN,
    ],
    ['a next link whose headers are not a list', { items: [], links: { next: { headers: 'none' } } }, NO_TOKEN],
    [
      'a continuation token that cannot be sent as a header',
      { items: [], links: tokenHeader('line\nbreak') },
      NO_TOKEN,
    ],
    ['a continuation token longer than 8192 characters', { items: [], links: tokenHeader('t'.repeat(8193)) }, NO_TOKEN],
  ] as const) {
    it(`answers UPSTREAM_BAD_RESPONSE for ${what}, saying what was expected`, async () => {
      upstream.setHandler((call, res, attempt) =>
        call.resource === 'customers' ? json(res, 200, body) : defaultHandler(call, res, attempt),
      );
      const response = await gw.query('{ customerList { nodes { id } } }');
      expect(response.body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
        ['UPSTREAM_BAD_RESPONSE', `Partner Center sent an unexpected body: ${expected}.`],
      ]);
    });
  }

  it('reads a page without links, or whose links.next is not an object, as the last page', async () => {
    for (const links of [undefined, { next: 'https://example.com/next' }, { next: 7 }, { next: null }]) {
      upstream.setHandler((call, res, attempt) =>
        call.resource === 'customers'
          ? json(res, 200, { items: [{ id: customerId(1) }], ...(links ? { links } : {}) })
          : defaultHandler(call, res, attempt),
      );
      const response = await gw.query('{ customerList { nodes { id } pageInfo { hasNextPage } } }');
      expect(response.body, JSON.stringify(links)).toEqual({
        data: { customerList: { nodes: [{ id: customerId(1) }], pageInfo: { hasNextPage: false } } },
      });
    }
  });

  it('takes the token from the MS-ContinuationToken entry of links.next, past entries of any other shape', async () => {
    upstream.setHandler((call, res, attempt) => {
      if (call.resource !== 'customers') return defaultHandler(call, res, attempt);
      if (call.query.get('seekOperation') === 'Next') return json(res, 200, { items: [{ id: customerId(2) }] });
      const headers = [null, 'MS-ContinuationToken', { key: 42, value: 'number' }, { key: 'Other', value: 'x\ny' }];
      return json(res, 200, {
        items: [{ id: customerId(1) }],
        links: { next: { headers: [...headers, { key: 'MS-ContinuationToken', value: 'the-token' }] } },
      });
    });
    const first = await gw.query<{ customerList: { pageInfo: { endCursor: string } } }>(
      '{ customerList(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } }',
    );
    expect(first.body.errors).toBeUndefined();
    const after = first.body.data?.customerList.pageInfo.endCursor;
    const second = await gw.query('query ($after: String) { customerList(first: 1, after: $after) { nodes { id } } }', {
      after,
    });
    expect(second.body).toEqual({ data: { customerList: { nodes: [{ id: customerId(2) }] } } });
    expect(upstream.callsTo('customers').map((call) => call.headers['ms-continuationtoken'])).toEqual([
      undefined,
      'the-token',
    ]);
  });

  it('passes a continuation token of 8192 characters, the most a header may carry, back to Partner Center', async () => {
    const token = `${'t'.repeat(8191)}=`;
    upstream.setHandler((call, res, attempt) => {
      if (call.resource !== 'customers') return defaultHandler(call, res, attempt);
      if (call.query.get('seekOperation') === 'Next') return json(res, 200, { items: [{ id: customerId(2) }] });
      return json(res, 200, { items: [{ id: customerId(1) }], links: tokenHeader(token) });
    });
    const first = await gw.query<{ customerList: { pageInfo: { endCursor: string } } }>(
      '{ customerList(first: 1) { pageInfo { hasNextPage endCursor } } }',
    );
    expect(first.body.errors).toBeUndefined();
    const second = await gw.query('query ($after: String) { customerList(first: 1, after: $after) { nodes { id } } }', {
      after: first.body.data?.customerList.pageInfo.endCursor,
    });
    expect(second.body).toEqual({ data: { customerList: { nodes: [{ id: customerId(2) }] } } });
    expect(upstream.callsTo('customers')[1]?.headers['ms-continuationtoken']).toBe(token);
  });

  it('accepts a continuation token header key in any case, and ignores totalCount', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'customers'
        ? json(res, 200, {
            totalCount: 9999,
            items: [{ id: `{${customerId(1).toUpperCase()}}` }],
            links: { next: { headers: [{ key: 'ms-continuationtoken', value: 'opaque==' }] } },
          })
        : defaultHandler(call, res, attempt),
    );
    const response = await gw.query('{ customerList(first: 1) { nodes { id } pageInfo { hasNextPage } } }');
    expect(response.body).toEqual({
      data: { customerList: { nodes: [{ id: customerId(1) }], pageInfo: { hasNextPage: true } } },
    });
  });
});
