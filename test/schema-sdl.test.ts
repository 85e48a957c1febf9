// The SDL the schema code builds is the committed schema/schema.graphql, as
// `npm run codegen` writes it. CI's drift check runs codegen outside vitest;
// this runs inside a test, building the schema afresh, so that a change to
// what Pothos reads while it builds the schema (a description, `nullable`, a
// type or argument name) fails a test, mutation runs included: the schema the
// other tests import is built once, when a worker first loads it.

import { readFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { getDocumentNodeFromSchema } from '@graphql-tools/utils';
import { buildASTSchema, type GraphQLSchema, lexicographicSortSchema, parse, print } from 'graphql';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_ROSTER, startUpstream } from './support/upstream';

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

  it('answers customerList through a gateway built on the fresh schema', async () => {
    // What the type files hand Pothos inside their `fields` (resolvers, exposed keys) also runs only when the schema
    // is built: a gateway on a fresh module graph uses it with the mutant on.
    vi.resetModules();
    const { startGateway } = await import('./support/gateway');
    const upstream = await startUpstream();
    const gw = await startGateway(upstream.url);
    try {
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
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
