// The SDL the schema code builds is the committed schema/schema.graphql, as
// `npm run codegen` writes it. CI's drift check runs codegen outside vitest;
// this runs inside a test, building the schema afresh, so that a change to
// what Pothos reads while it builds the schema (a description, `nullable`, a
// type or argument name) fails a test, mutation runs included: the schema the
// other tests import is built once, when a worker first loads it. For the same
// reason a gateway on the fresh schema answers a few queries: the resolvers and
// exposed keys handed to Pothos are also taken only when the schema is built.

import { readFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { getDocumentNodeFromSchema } from '@graphql-tools/utils';
import { buildASTSchema, type GraphQLSchema, lexicographicSortSchema, parse, print } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { customerId, type RunningGateway } from './support/gateway';
import { customerListHandler, DEFAULT_ROSTER, defaultHandler, startUpstream, type Upstream } from './support/upstream';

const COMMITTED = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');

/**
 * What codegen.ts hands codegen (the sorted subgraph SDL), then what codegen's
 * schema-ast plugin writes from it (`sort` and `includeDirectives`: the SDL
 * loaded into a schema, sorted, printed from its AST with its directives).
 */
function asCodegenWritesIt(schema: GraphQLSchema): string {
  const sdl = printSubgraphSchema(lexicographicSortSchema(schema));
  const loaded = buildASTSchema(parse(sdl), { assumeValidSDL: true });
  return print(getDocumentNodeFromSchema(lexicographicSortSchema(loaded)));
}

describe('schema SDL', () => {
  it('is the committed schema/schema.graphql, built afresh', async () => {
    // A fresh module graph: the builder and every type file run again, inside this test.
    vi.resetModules();
    const { schema } = await import('../src/schema/index');
    expect(asCodegenWritesIt(schema)).toBe(COMMITTED);
  });

  describe('a gateway built on the fresh schema', () => {
    // What the type files hand Pothos inside their `fields` (resolvers, exposed keys), and what src/schema/index.ts
    // does to the built schema, also run only when the schema is built: a gateway on a fresh module graph uses them
    // with the mutant on.
    // Started inside each test: Stryker counts a mutant as reached by the test that runs it, and a module loaded in a
    // beforeAll would be reached by none.
    let upstream: Upstream;
    let gw: RunningGateway;
    async function freshGateway(): Promise<void> {
      vi.resetModules();
      const { startGateway } = await import('./support/gateway');
      upstream = await startUpstream();
      gw = await startGateway(upstream.url);
    }
    afterEach(async () => {
      await gw?.close();
      await upstream?.close();
    });

    it('answers a page of customerList', async () => {
      await freshGateway();
      const { body } = await gw.query(
        '{ customerList(first: 2) { edges { cursor node { id companyName } } nodes { id } pageInfo { hasNextPage endCursor } } }',
      );
      expect(body.errors).toBeUndefined();
      const list = (body.data as { customerList: Record<string, unknown> }).customerList;
      const edges = list.edges as Array<{ cursor: string }>;
      expect(list).toEqual({
        edges: DEFAULT_ROSTER.slice(0, 2).map((item) => ({
          cursor: expect.stringMatching(/^[\w-]+\.[\w-]{16}$/),
          node: { id: item.id, companyName: (item.companyProfile as { companyName: string }).companyName },
        })),
        nodes: DEFAULT_ROSTER.slice(0, 2).map((item) => ({ id: item.id })),
        pageInfo: { hasNextPage: true, endCursor: edges[1]?.cursor },
      });
      expect(upstream.calls.map((call) => `${call.method} ${call.resource}`)).toEqual(['GET customers']);
    });

    it('answers a customer by id, each field from its own call', async () => {
      await freshGateway();
      const id = customerId(3);
      const { body } = await gw.query(
        `{ customer(id: "{${id.toUpperCase()}}") { id qualifications { kind vettingCreatedDate } mcaDirectlySigned companyName domain relationshipToPartner syncedAt } }`,
      );
      expect(body).toEqual({
        data: {
          customer: {
            id,
            qualifications: [{ kind: 'EDUCATION', vettingCreatedDate: '2021-05-06T19:59:56.683Z' }],
            mcaDirectlySigned: true,
            companyName: 'Company 003',
            domain: 'company3.onmicrosoft.com',
            relationshipToPartner: 'RESELLER',
            syncedAt: null,
          },
        },
      });
      expect(upstream.calls.map((call) => `${call.method} ${call.resource}`).sort()).toEqual([
        'GET customer',
        'GET directSignedMicrosoftCustomerAgreementStatus',
        'GET qualifications',
      ]);
    });

    it('answers customerBase and customerChanges on a syncing gateway', async () => {
      vi.resetModules();
      const { startSyncedGateway } = await import('./support/customer-base');
      const { subscribeOverSse } = await import('./support/sse');
      const { bearer } = await import('./support/sign-in');
      const roster = DEFAULT_ROSTER.slice(0, 3);
      const list = customerListHandler(roster);
      const synced = await startSyncedGateway((call, res, attempt) =>
        call.resource === 'customers' ? list(call, res, attempt) : defaultHandler(call, res, attempt),
      );
      try {
        const writer = bearer(await synced.entra.signCallerToken({ roles: ['PartnerCenter.Write'] }));
        for (const n of [1, 2]) {
          const { body } = await synced.gw.query(
            `mutation { addCustomerQualification(input: { customerId: "${customerId(n)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
            undefined,
            writer,
          );
          expect(body.errors).toBeUndefined();
        }
        const change =
          'cursor at kind source customerId companyName qualification qualificationKind vettingStatusBefore vettingStatus';
        const { body } = await synced.gw.query(
          `{ customerBase {
            sync { enabled customersKnown customersSynced lastPassCompletedAt oldestSyncedAt }
            summary { customers mcaSigned mcaNotSigned mcaUnknown mcaAccepted mcaNotAccepted mcaAcceptanceUnknown qualifications { kind vettingStatus count } }
            customers(first: 2) { edges { cursor node { id companyName } } nodes { id } pageInfo { hasNextPage endCursor } }
            changes(first: 1) { edges { cursor node { ${change} } } nodes { customerId } pageInfo { hasNextPage endCursor } }
          } }`,
          undefined,
          bearer(synced.caller),
        );
        expect(body.errors).toBeUndefined();
        const base = (body.data as { customerBase: Record<string, Record<string, unknown>> }).customerBase;
        const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(base.sync).toEqual({
          enabled: true,
          customersKnown: 3,
          customersSynced: 3,
          lastPassCompletedAt: iso,
          oldestSyncedAt: iso,
        });
        expect(base.summary).toEqual({
          customers: 3,
          mcaSigned: 3,
          mcaNotSigned: 0,
          mcaUnknown: 0,
          mcaAccepted: 3,
          mcaNotAccepted: 0,
          mcaAcceptanceUnknown: 0,
          qualifications: [
            { kind: 'EDUCATION', vettingStatus: 'APPROVED', count: 3 },
            { kind: 'STATE_OWNED_ENTITY', vettingStatus: 'IN_REVIEW', count: 2 },
          ],
        });
        const cursor = expect.stringMatching(/^[\w-]+\.[\w-]+$/);
        const customers = base.customers as { edges: Array<{ cursor: string }> };
        expect(customers).toEqual({
          edges: [1, 2].map((n) => ({ cursor, node: { id: customerId(n), companyName: `Company 00${n}` } })),
          nodes: [{ id: customerId(1) }, { id: customerId(2) }],
          pageInfo: { hasNextPage: true, endCursor: customers.edges[1]?.cursor },
        });
        const changes = base.changes as { edges: Array<{ cursor: string }> };
        const first = changes.edges[0]?.cursor as string;
        expect(changes).toEqual({
          edges: [
            {
              cursor: first,
              node: {
                cursor: first,
                at: iso,
                kind: 'QUALIFICATION_ADDED',
                source: 'GATEWAY',
                customerId: customerId(1),
                companyName: 'Company 001',
                qualification: 'StateOwnedEntity',
                qualificationKind: 'STATE_OWNED_ENTITY',
                vettingStatusBefore: null,
                vettingStatus: 'IN_REVIEW',
              },
            },
          ],
          nodes: [{ customerId: customerId(1) }],
          pageInfo: { hasNextPage: true, endCursor: first },
        });

        // The subscription replays what follows the first change's cursor.
        const received: unknown[] = [];
        const stop = new AbortController();
        const stream = await subscribeOverSse<{ customerChanges: unknown }>(
          synced.gw.url,
          {
            query: 'subscription ($after: String) { customerChanges(after: $after) { kind source customerId } }',
            variables: { after: first },
          },
          bearer(synced.caller),
          (payload) => received.push(payload),
          stop.signal,
        );
        expect(stream.status).toBe(200);
        await expect.poll(() => received.length).toBe(1);
        stop.abort();
        await stream.ended;
        expect(received).toEqual([
          { data: { customerChanges: { kind: 'QUALIFICATION_ADDED', source: 'GATEWAY', customerId: customerId(2) } } },
        ]);
      } finally {
        await synced.close();
      }
    });

    it('fails only the representation of another type in _entities, and serves the federation link in its SDL', async () => {
      await freshGateway();
      const { body } = await gw.query(
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id } } _service { sdl } }',
        {
          r: [
            { __typename: 'Partner', id: customerId(1) },
            { __typename: 'Customer', id: customerId(2) },
          ],
        },
      );
      const data = body.data as { _entities: unknown[]; _service: { sdl: string } };
      expect(data._entities).toEqual([null, { id: customerId(2) }]);
      expect(body.errors).toEqual([
        {
          message: 'representations[0]: expected __typename "Customer", got "Partner".',
          locations: expect.any(Array),
          path: ['_entities', 0],
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
      expect(data._service.sdl).toContain(
        'extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])\n',
      );
      expect(upstream.calls).toEqual([]);
    });
  });
});
