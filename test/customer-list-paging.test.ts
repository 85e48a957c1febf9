// customerList pages through GET /customers with Partner Center's continuation
// tokens: one upstream call per page, no gap and no overlap, the filter on the
// first page and MS-ContinuationToken on the next ones.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { DEFAULT_ROSTER, defaultHandler, json } from './support/upstream';

interface Page {
  customerList: {
    edges: Array<{ cursor: string; node: { id: string; companyName: string | null } }>;
    nodes: Array<{ id: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const PAGE = /* GraphQL */ `
  query ($first: Int, $after: String, $prefix: String) {
    customerList(first: $first, after: $after, companyNameStartsWith: $prefix) {
      edges { cursor node { id companyName } }
      nodes { id }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

describe('customerList paging', () => {
  const { upstream, gw } = useGateway();

  async function page(variables: Record<string, unknown>): Promise<Page['customerList']> {
    const response = await gw.query<Page>(PAGE, variables);
    expect(response.body.errors).toBeUndefined();
    return (response.body.data as Page).customerList;
  }

  it('walks a roster of 250 customers in pages of 40 with no gap or overlap, one upstream call per page', async () => {
    const seen: string[] = [];
    const pages: Array<Page['customerList']> = [];
    let after: string | null = null;
    do {
      const before = upstream.calls.length;
      const current = await page({ first: 40, after });
      expect(upstream.calls.length - before).toBe(1);
      pages.push(current);
      seen.push(...current.nodes.map((node) => node.id));
      after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
    } while (after !== null);

    expect(pages.map((p) => p.edges.length)).toEqual([40, 40, 40, 40, 40, 40, 10]);
    expect(seen).toEqual(DEFAULT_ROSTER.map((item) => item.id));
    expect(pages.slice(0, -1).every((p) => p.pageInfo.hasNextPage)).toBe(true);
    expect(pages.at(-1)?.pageInfo.hasNextPage).toBe(false);
    expect(upstream.calls).toHaveLength(7);
  });

  it('asks the first page with size only, and each next page with seekOperation=Next and the previous token', async () => {
    const first = await page({ first: 100 });
    await page({ first: 100, after: first.pageInfo.endCursor });

    const [firstCall, secondCall] = upstream.calls;
    expect(firstCall?.path).toBe('/v1/customers');
    expect(Object.fromEntries(firstCall?.query ?? [])).toEqual({ size: '100' });
    expect(firstCall?.headers['ms-continuationtoken']).toBeUndefined();
    expect(Object.fromEntries(secondCall?.query ?? [])).toEqual({ size: '100', seekOperation: 'Next' });
    expect(secondCall?.headers['ms-continuationtoken']).toBe('page-100-');
  });

  it('sends companyNameStartsWith as the URL-encoded JSON starts_with filter on CompanyName', async () => {
    const result = await page({ first: 5, prefix: 'Company 1' });

    expect(upstream.calls).toHaveLength(1);
    const call = upstream.calls[0];
    expect(JSON.parse(call?.query.get('filter') ?? 'null')).toEqual({
      Field: 'CompanyName',
      Value: 'Company 1',
      Operator: 'starts_with',
    });
    expect(result.nodes.map((node) => node.id)).toEqual([100, 101, 102, 103, 104].map(customerId));
  });

  it('continues a filtered list with its token alone: Partner Center keeps the filter in the token', async () => {
    const first = await page({ first: 60, prefix: 'company 1' });
    const second = await page({ first: 60, prefix: 'company 1', after: first.pageInfo.endCursor });

    // "Company 100" to "Company 199", matched without regard to case.
    expect([...first.nodes, ...second.nodes].map((node) => node.id)).toEqual(
      Array.from({ length: 100 }, (_, n) => customerId(100 + n)),
    );
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(upstream.calls[1]?.query.get('filter')).toBeNull();
    expect(upstream.calls[1]?.headers['ms-continuationtoken']).toBe('page-60-company 1');
  });

  it('gives every edge a cursor that resumes right after it, re-reading its page', async () => {
    const whole = await page({ first: 10 });
    const fromThird = await page({ first: 10, after: whole.edges[2]?.cursor });

    // Seven customers remain on that upstream page; the cursor after them goes on to the next page.
    expect(fromThird.nodes.map((node) => node.id)).toEqual([4, 5, 6, 7, 8, 9, 10].map(customerId));
    expect(fromThird.pageInfo.hasNextPage).toBe(true);
    expect(fromThird.pageInfo.endCursor).toBe(whole.pageInfo.endCursor);
    expect(upstream.calls.map((call) => Object.fromEntries(call.query))).toEqual([{ size: '10' }, { size: '10' }]);
  });

  it('returns fewer than the page it re-reads when first is smaller, and resumes mid-page', async () => {
    const whole = await page({ first: 10 });
    const two = await page({ first: 2, after: whole.edges[0]?.cursor });
    const rest = await page({ first: 10, after: two.pageInfo.endCursor });

    expect(two.nodes.map((node) => node.id)).toEqual([2, 3].map(customerId));
    expect(two.pageInfo.hasNextPage).toBe(true);
    expect(rest.nodes.map((node) => node.id)).toEqual([4, 5, 6, 7, 8, 9, 10].map(customerId));
  });

  it('ends with hasNextPage false and an end cursor that reads an empty page without calling Partner Center', async () => {
    const last = await page({ first: 5, prefix: 'Company 24' });
    expect(last.nodes.map((node) => node.id)).toEqual([240, 241, 242, 243, 244].map(customerId));
    const lastPage = await page({ first: 5, prefix: 'Company 24', after: last.pageInfo.endCursor });
    expect(lastPage.nodes.map((node) => node.id)).toEqual([245, 246, 247, 248, 249].map(customerId));
    expect(lastPage.pageInfo).toEqual({ hasNextPage: false, endCursor: lastPage.edges[4]?.cursor });

    const beyond = await page({ first: 5, prefix: 'Company 24', after: lastPage.pageInfo.endCursor });
    expect(beyond).toEqual({ edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect(upstream.calls).toHaveLength(2);
  });

  it("has a next page when customers of the page it re-reads are left, even on Partner Center's last page", async () => {
    const whole = await page({ first: 10, prefix: 'Company 24' });
    expect(whole.pageInfo.hasNextPage).toBe(false);
    const two = await page({ first: 2, prefix: 'Company 24', after: whole.edges[0]?.cursor });
    expect(two.nodes.map((node) => node.id)).toEqual([241, 242].map(customerId));
    expect(two.pageInfo.hasNextPage).toBe(true);
    const rest = await page({ first: 10, prefix: 'Company 24', after: two.pageInfo.endCursor });
    expect(rest.nodes.map((node) => node.id)).toEqual([243, 244, 245, 246, 247, 248, 249].map(customerId));
  });

  it('gives an empty upstream page that has a next one an endCursor that reads it, at the size asked', async () => {
    upstream.setHandler((call, res, attempt) => {
      if (call.resource !== 'customers') return defaultHandler(call, res, attempt);
      if (call.query.get('seekOperation') === 'Next') return json(res, 200, { items: [{ id: customerId(7) }] });
      return json(res, 200, {
        items: [],
        links: { next: { headers: [{ key: 'MS-ContinuationToken', value: 't1' }] } },
      });
    });
    const empty = await page({ first: 3 });
    expect(empty.edges).toEqual([]);
    expect(empty.pageInfo.hasNextPage).toBe(true);
    const next = await page({ first: 4, after: empty.pageInfo.endCursor });
    expect(next.nodes).toEqual([{ id: customerId(7) }]);
    expect(upstream.calls.map((call) => [call.query.get('size'), call.headers['ms-continuationtoken']])).toEqual([
      ['3', undefined],
      ['4', 't1'],
    ]);
  });

  it('answers an empty list with no edges, hasNextPage false and a null endCursor', async () => {
    const empty = await page({ first: 5, prefix: 'Nobody' });
    expect(empty).toEqual({ edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('asks 50 customers when first is not given', async () => {
    const result = await page({});
    expect(result.edges).toHaveLength(50);
    expect(upstream.calls[0]?.query.get('size')).toBe('50');
  });
});
