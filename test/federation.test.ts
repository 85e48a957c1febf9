import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';

const QUALIFICATIONS = 'qualifications';
const MCA = 'directSignedMicrosoftCustomerAgreementStatus';

/** 20 distinct customers, each referenced twice: once canonical, once upper-cased in braces. */
const DISTINCT = Array.from({ length: 20 }, (_, i) => customerId(i + 1));
const FORTY_IDS = DISTINCT.flatMap((id) => [id, `{${id.toUpperCase()}}`]);

/** A second subgraph that owns its own Customer field and a root field returning customers. */
const ACCOUNTS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  type Customer @key(fields: "id") {
    id: ID!
    "Who looks after this customer at the partner."
    accountManager: String!
  }

  type Query {
    "Customers the partner features; each appears twice, spelled differently."
    featuredCustomers: [Customer!]!
    "Customers typed in by hand; one id is not a GUID."
    handTypedCustomers: [Customer]!
  }
`;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('federation subgraph', () => {
  const { upstream, gw } = useGateway();

  const ENTITIES = /* GraphQL */ `
    query Entities($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on Customer { id mcaDirectlySigned qualifications { kind } }
      }
    }
  `;

  it('serves its SDL with Customer as an entity keyed by id', async () => {
    const response = await gw.query<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const sdl = response.body.data?._service.sdl ?? '';
    expect(sdl).toMatch(/type Customer\s+@key\(fields: "id"\)/);
    // Federation 2.6, importing only @key: what the supergraph composes this subgraph with.
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.6", import: \["@key"\]\)/);
    expect(upstream.calls).toHaveLength(0);
  });

  it('serves Subscription.customerChanges in its SDL, for a router that follows it over WebSocket', async () => {
    const sdl = (await gw.query<{ _service: { sdl: string } }>('{ _service { sdl } }')).body.data?._service.sdl ?? '';
    // Its arguments carry descriptions, so the field spans several lines.
    const subscription = /type Subscription \{\n([\s\S]*?)\n\}/.exec(sdl)?.[1] ?? '';
    expect(subscription).toMatch(
      /\n\s+customerChanges\([\s\S]*\bafter: String\b[\s\S]*\bwhere: CustomerChangeFilter\b[\s\S]*\): CustomerChange!/,
    );
  });

  it('resolves 40 representations of 20 customers with exactly 20 calls per selected resource', async () => {
    const representations = FORTY_IDS.map((id) => ({ __typename: 'Customer', id }));
    const response = await gw.query<{ _entities: Array<{ id: string; mcaDirectlySigned: boolean }> }>(ENTITIES, {
      representations,
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?._entities.map((entity) => entity.id)).toEqual(DISTINCT.flatMap((id) => [id, id]));
    expect(response.body.data?._entities.every((entity) => entity.mcaDirectlySigned === true)).toBe(true);
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(20);
    expect(upstream.callsTo(MCA)).toHaveLength(20);
    expect(new Set(upstream.calls.map((c) => `${c.resource} ${c.customerId}`)).size).toBe(40);
  });

  it('makes no call for a resource that is not selected', async () => {
    const representations = FORTY_IDS.map((id) => ({ __typename: 'Customer', id }));
    const response = await gw.query(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { qualifications { kind } } } }',
      { r: representations },
    );
    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(20);
    expect(upstream.callsTo(MCA)).toHaveLength(0);
  });

  it('fails only the entity whose id is malformed, with BAD_USER_INPUT at its own path', async () => {
    const representations = [customerId(1), 'not-a-guid', customerId(2)].map((id) => ({ __typename: 'Customer', id }));
    const response = await gw.query<{ _entities: Array<{ id: string } | null> }>(ENTITIES, { representations });
    expect(response.body.data?._entities.map((entity) => entity?.id ?? null)).toEqual([
      customerId(1),
      null,
      customerId(2),
    ]);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['_entities', 1]);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toContain('"not-a-guid"');
    expect(upstream.calls.map((c) => c.customerId).sort()).toEqual(
      [customerId(1), customerId(1), customerId(2), customerId(2)].sort(),
    );
  });

  it('answers a representation whose id is not a string with BAD_USER_INPUT naming `id` and what arrived', async () => {
    const representations = [
      { __typename: 'Customer', id: customerId(1) },
      { __typename: 'Customer', id: 42 },
    ];
    const response = await gw.query<{ _entities: Array<{ id: string } | null> }>(ENTITIES, { representations });
    expect(response.body.data?._entities.map((entity) => entity?.id ?? null)).toEqual([customerId(1), null]);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]).toMatchObject({
      path: ['_entities', 1],
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringMatching(/^id: expected a customer tenant id as a GUID .*, got "42"\.$/),
    });
    expect(upstream.calls.map((c) => c.customerId)).toEqual([customerId(1), customerId(1)]);
  });

  it('fails only a representation of another type, or of none, with BAD_USER_INPUT naming what arrived', async () => {
    const representations = [
      { __typename: 'Partner', id: customerId(3) },
      { __typename: 'Customer', id: customerId(1) },
      { id: customerId(2) },
    ];
    const response = await gw.query<{ _entities: Array<{ id: string } | null> }>(ENTITIES, { representations });
    expect(response.body.data?._entities.map((entity) => entity?.id ?? null)).toEqual([null, customerId(1), null]);
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        path: ['_entities', 0],
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        message: 'representations[0]: expected __typename "Customer", got "Partner".',
      }),
      expect.objectContaining({
        path: ['_entities', 2],
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        message: 'representations[2]: expected __typename "Customer", got none.',
      }),
    ]);
    // Only the Customer was fetched: its two resources, once each.
    expect(upstream.calls.map((c) => c.customerId)).toEqual([customerId(1), customerId(1)]);
  });

  describe('composed with a second subgraph and run through Hive Gateway', () => {
    let accounts: { url: string; server: Server };
    let accountRequests: string[];
    let runtime: GatewayRuntime;
    let subgraphFetches: Array<{ url: string; body: string }>;

    beforeAll(async () => {
      accountRequests = [];
      const accountsSchema = buildSubgraphSchema({
        typeDefs: parse(ACCOUNTS_SDL),
        resolvers: {
          Query: {
            featuredCustomers: () => FORTY_IDS.map((id) => ({ id })),
            handTypedCustomers: () => [customerId(1), 'contoso', customerId(2)].map((id) => ({ id })),
          },
          Customer: {
            __resolveReference: (reference: { id: string }) => ({ id: reference.id }),
            accountManager: (customer: { id: string }) => `manager of ${customer.id}`,
          },
        },
      });
      const accountsYoga = createYoga({ schema: accountsSchema, logging: false, maskedErrors: false });
      accounts = await listen((req, res) => {
        accountRequests.push(req.method ?? '');
        return accountsYoga(req, res);
      });

      const sdl = (await gw.query<{ _service: { sdl: string } }>('{ _service { sdl } }')).body.data?._service.sdl;
      const composed = composeServices([
        { name: 'partner-center', typeDefs: parse(sdl ?? ''), url: gw.url },
        { name: 'accounts', typeDefs: parse(ACCOUNTS_SDL), url: accounts.url },
      ]);
      if (compositionHasErrors(composed)) {
        throw new Error(composed.errors.map((error) => error.message).join('\n'));
      }
      subgraphFetches = [];
      runtime = createGatewayRuntime({
        supergraph: composed.supergraphSdl,
        logging: false,
        // Unmasked, so a broken runtime setup fails a test with its real message instead of "Unexpected error.".
        maskedErrors: false,
        propagateHeaders: {
          fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
        },
        plugins: () => [
          {
            onFetch({ url, options }) {
              subgraphFetches.push({ url, body: String(options.body) });
            },
          },
        ],
      });
    });
    afterAll(async () => {
      await runtime.dispose();
      await close(accounts.server);
    });
    beforeEach(() => {
      accountRequests.length = 0;
      subgraphFetches.length = 0;
    });

    const toPartnerCenter = () => subgraphFetches.filter((fetch) => fetch.url === gw.url);

    const run = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await runtime.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: TOKEN },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as {
        data?: Record<string, Array<Record<string, unknown> | null>>;
        errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
      };
    };

    it('resolves 40 references of 20 customers from the other subgraph with 20 calls per resource', async () => {
      const body = await run(
        '{ featuredCustomers { id accountManager mcaDirectlySigned qualifications { qualification kind } } }',
      );
      expect(body.errors).toBeUndefined();
      const customers = body.data?.featuredCustomers ?? [];
      expect(customers).toHaveLength(40);
      expect(customers[1]).toEqual({
        id: FORTY_IDS[1],
        accountManager: `manager of ${FORTY_IDS[1]}`,
        mcaDirectlySigned: true,
        qualifications: [{ qualification: 'Education', kind: 'EDUCATION' }],
      });
      expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(20);
      expect(upstream.callsTo(MCA)).toHaveLength(20);
      expect(upstream.calls.every((call) => call.headers.authorization === TOKEN)).toBe(true);
      expect(toPartnerCenter()).toHaveLength(1);
      // The gateway sent all 40 spellings; our loaders reduced them to 20 customers.
      expect(JSON.parse(toPartnerCenter()[0]?.body ?? '{}').variables.representations).toHaveLength(40);
      expect(accountRequests).toHaveLength(1);
    });

    it('adds the other subgraph field to customers fetched from this one', async () => {
      const ids = [customerId(1), customerId(2), customerId(1)];
      const body = await run(
        'query ($ids: [ID!]!) { customers(ids: $ids) { id accountManager qualifications { kind } } }',
        {
          ids,
        },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data?.customers).toEqual(
        ids.map((id) => ({ id, accountManager: `manager of ${id}`, qualifications: [{ kind: 'EDUCATION' }] })),
      );
      expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(2);
      expect(upstream.callsTo(MCA)).toHaveLength(0);
      expect(toPartnerCenter()).toHaveLength(1);
      expect(accountRequests).toHaveLength(1);
    });

    it("makes no Partner Center call when only the other subgraph's fields are selected", async () => {
      const body = await run('{ featuredCustomers { id accountManager } }');
      expect(body.errors).toBeUndefined();
      expect(body.data?.featuredCustomers).toHaveLength(40);
      expect(upstream.calls).toHaveLength(0);
      expect(toPartnerCenter()).toHaveLength(0);
    });

    it('fails only the customer whose reference is malformed, with BAD_USER_INPUT', async () => {
      const body = await run('{ handTypedCustomers { id qualifications { kind } } }');
      expect(body.data?.handTypedCustomers).toEqual([
        { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }] },
        null,
        { id: customerId(2), qualifications: [{ kind: 'EDUCATION' }] },
      ]);
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.extensions?.serviceName).toBe('partner-center');
      // Our subgraph reports ['_entities', 1] (tested above); Hive Gateway re-roots it without the list index.
      expect(body.errors?.[0]?.path?.[0]).toBe('handTypedCustomers');
      expect(upstream.callsTo(QUALIFICATIONS).map((c) => c.customerId)).toEqual([customerId(1), customerId(2)]);
    });
  });
});
