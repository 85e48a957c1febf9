import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { stitchSchemas } from '@graphql-tools/stitch';
import { schemaFromExecutor } from '@graphql-tools/wrap';
import { type GraphQLSchema, graphql, parse } from 'graphql';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const QUALIFICATIONS = 'qualifications';
const MCA = 'directSignedMicrosoftCustomerAgreementStatus';

const [A, B, C] = [customerId(0xa1), customerId(0xb2), customerId(0xc3)] as const;

/** Six deals of three customers; the same customer is spelled differently across deals. */
const DEALS = [
  { id: 'deal-1', title: 'Campus licences', customerId: A },
  { id: 'deal-2', title: 'Lab upgrade', customerId: `{${A.toUpperCase()}}` },
  { id: 'deal-3', title: 'GCC tenant', customerId: B },
  { id: 'deal-4', title: 'Renewal', customerId: C },
  { id: 'deal-5', title: 'Renewal', customerId: B },
  { id: 'deal-6', title: 'Add-on', customerId: C.toUpperCase() },
];

/** A schema of the partner's own CRM: it knows deals and only the id of their customer. */
const dealsSchema = makeExecutableSchema({
  typeDefs: /* GraphQL */ `
    type Deal {
      id: ID!
      title: String!
      customer: Customer
    }
    type Customer {
      id: ID!
    }
    type Query {
      deals: [Deal!]!
    }
  `,
  resolvers: {
    Query: { deals: () => DEALS },
    Deal: { customer: (deal: (typeof DEALS)[number]) => ({ id: deal.customerId }) },
  },
});

describe('schema stitching on customers(ids)', () => {
  const { upstream, gw } = useGateway();
  let stitched: GraphQLSchema;
  let gatewayRequests: Array<{ query: string; variables: Record<string, unknown> }>;

  beforeAll(async () => {
    gatewayRequests = [];
    const executor = buildHTTPExecutor({
      endpoint: gw.url,
      headers: { authorization: TOKEN },
      fetch: (url, init) => {
        gatewayRequests.push(JSON.parse(String(init?.body)));
        return fetch(url, init);
      },
    });
    const gatewaySchema = await schemaFromExecutor(executor);
    gatewayRequests.length = 0;
    stitched = stitchSchemas({
      subschemas: [
        {
          schema: gatewaySchema,
          executor,
          merge: {
            Customer: {
              selectionSet: '{ id }',
              fieldName: 'customers',
              key: ({ id }: { id: string }) => id,
              argsFromKeys: (ids: readonly string[]) => ({ ids }),
            },
          },
        },
        { schema: dealsSchema },
      ],
    });
  });
  beforeEach(() => {
    gatewayRequests.length = 0;
  });

  // A fresh context per request: stitching keys its batch loaders (and their caches) on the context object.
  const run = (source: string) => graphql({ schema: stitched, source, contextValue: {} });

  it('loads all deal customers with one batched customers call and one upstream call per customer and resource', async () => {
    const result = await run(
      '{ deals { id customer { id mcaDirectlySigned qualifications { kind vettingStatus } } } }',
    );
    expect(result.errors).toBeUndefined();
    // Customer.id comes from the deals schema (the merge key), so it keeps that schema's spelling.
    expect(result.data).toEqual({
      deals: DEALS.map((deal) => ({
        id: deal.id,
        customer: {
          id: deal.customerId,
          mcaDirectlySigned: true,
          qualifications: [{ kind: 'EDUCATION', vettingStatus: 'APPROVED' }],
        },
      })),
    });
    expect(gatewayRequests).toHaveLength(1);
    const [request] = gatewayRequests;
    expect(parse(request?.query ?? '').definitions).toHaveLength(1);
    expect(request?.query.match(/\bcustomers\s*\(/g)).toHaveLength(1);
    // Stitching dedupes equal keys only; the gateway folds the differently spelled ones.
    expect(request?.variables.ids).toHaveLength(5);
    expect(
      upstream
        .callsTo(QUALIFICATIONS)
        .map((c) => c.customerId)
        .sort(),
    ).toEqual([A, B, C]);
    expect(
      upstream
        .callsTo(MCA)
        .map((c) => c.customerId)
        .sort(),
    ).toEqual([A, B, C]);
  });

  it('does not call the gateway when only the local schema is asked for', async () => {
    const result = await run('{ deals { title customer { id } } }');
    expect(result.errors).toBeUndefined();
    expect(gatewayRequests).toHaveLength(0);
    expect(upstream.calls).toHaveLength(0);
  });

  it('calls only the resources selected', async () => {
    const result = await run('{ deals { customer { qualifications { kind } } } }');
    expect(result.errors).toBeUndefined();
    expect(gatewayRequests).toHaveLength(1);
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(3);
    expect(upstream.callsTo(MCA)).toHaveLength(0);
  });

  it('fails only the customer Partner Center does not know, with NOT_FOUND, and keeps the other deals', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.customerId === B
        ? json(res, 404, { code: 600008, description: 'Customer not found', data: [], source: 'PartnerFD' })
        : defaultHandler(call, res, attempt),
    );
    const result = await run('{ deals { id customer { qualifications { kind } } } }');
    const education = { qualifications: [{ kind: 'EDUCATION' }] };
    expect(result.data).toEqual({
      deals: DEALS.map((deal) => ({ id: deal.id, customer: deal.customerId === B ? null : education })),
    });
    expect(result.errors?.map((error) => [error.extensions?.code, error.path?.slice(0, 2)])).toEqual([
      ['NOT_FOUND', ['deals', 2]],
      ['NOT_FOUND', ['deals', 4]],
    ]);
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(3);
    expect(gatewayRequests).toHaveLength(1);
  });
});
