// The built-in simulator lists a few hundred customers like Partner Center:
// the sample customers first, paged with continuation tokens, filtered with
// starts_with, and GET /customers/{id} (404 for the sample that does not exist).

import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS, SIMULATED_ROSTER_SIZE } from '../src/simulator/simulator';
import { useSimulatorGateway } from './support/fixtures';
import type { GraphQLResponse } from './support/gateway';

interface Page {
  customerList: {
    nodes: Array<{ id: string; companyName: string | null; domain: string | null; relationshipToPartner: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const PAGE = /* GraphQL */ `
  query ($first: Int, $after: String, $prefix: String) {
    customerList(first: $first, after: $after, companyNameStartsWith: $prefix) {
      nodes { id companyName domain relationshipToPartner }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

describe('simulator customers', () => {
  const { simulator, gw } = useSimulatorGateway();

  async function walk(variables: Record<string, unknown>): Promise<Page['customerList']['nodes']> {
    const nodes: Page['customerList']['nodes'] = [];
    let after: string | null = null;
    do {
      const response: GraphQLResponse<Page> = await gw.query<Page>(PAGE, { ...variables, after });
      expect(response.body.errors).toBeUndefined();
      const page: Page['customerList'] = (response.body.data as Page).customerList;
      nodes.push(...page.nodes);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after !== null);
    return nodes;
  }

  it('lists 300 distinct customers in pages of 100, the sample customers first, all but the one that does not exist', async () => {
    const before = simulator.requests.length;
    const nodes = await walk({ first: 100 });

    expect(nodes).toHaveLength(SIMULATED_ROSTER_SIZE);
    expect(SIMULATED_ROSTER_SIZE).toBe(300);
    expect(new Set(nodes.map((node) => node.id)).size).toBe(300);
    const samples = Object.values(SAMPLE_CUSTOMERS).filter((id) => id !== SAMPLE_CUSTOMERS.doesNotExist);
    expect(nodes.slice(0, samples.length).map((node) => node.id)).toEqual(samples);
    expect(nodes.map((node) => node.id)).not.toContain(SAMPLE_CUSTOMERS.doesNotExist);
    expect(nodes[0]).toEqual({
      id: SAMPLE_CUSTOMERS.approvedEducation,
      companyName: 'Bellows College',
      domain: 'bellowscollege.onmicrosoft.com',
      relationshipToPartner: 'RESELLER',
    });
    expect(nodes.filter((node) => node.domain === null).length).toBeGreaterThan(0);
    expect(new Set(nodes.map((node) => node.relationshipToPartner))).toEqual(
      new Set(['RESELLER', 'ADVISOR', 'SYNDICATION', 'MICROSOFT_SUPPORT', 'UNKNOWN']),
    );

    const listCalls = simulator.requests.slice(before).filter((request) => request.path === '/v1/customers');
    expect(listCalls.map((request) => request.search)).toEqual([
      '?size=100',
      '?size=100&seekOperation=Next',
      '?size=100&seekOperation=Next',
    ]);
    expect(listCalls.map((request) => typeof request.headers['ms-continuationtoken'])).toEqual([
      'undefined',
      'string',
      'string',
    ]);
  });

  it('filters by company name prefix without regard to case, across pages', async () => {
    const nodes = await walk({ first: 4, prefix: 'contoso' });

    expect(nodes.length).toBeGreaterThan(4);
    expect(nodes.every((node) => node.companyName?.toLowerCase().startsWith('contoso'))).toBe(true);
    expect(nodes[0]?.companyName).toBe('Contoso High School');
  });

  it('answers GET /customers/{id} for customers named by id, and NOT_FOUND for the sample that does not exist', async () => {
    const response = await gw.query(`{
      known: customer(id: "${SAMPLE_CUSTOMERS.noResellerRelationship}") { companyName relationshipToPartner }
      unknownRelationship: customer(id: "${SAMPLE_CUSTOMERS.unknownQualification}") { relationshipToPartner }
      generated: customer(id: "3fa85f64-5717-4562-b3fc-2c963f66afa6") { companyName domain }
      missing: customer(id: "${SAMPLE_CUSTOMERS.doesNotExist}") { companyName }
    }`);

    expect(response.body.data).toEqual({
      known: { companyName: 'Northwind Traders', relationshipToPartner: 'ADVISOR' },
      unknownRelationship: { relationshipToPartner: 'UNKNOWN' },
      generated: { companyName: 'Customer 3fa85f64', domain: 'customer3fa85f64.onmicrosoft.com' },
      missing: { companyName: null },
    });
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['NOT_FOUND', ['missing', 'companyName']],
    ]);
  });
});
