import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { recordEvents } from './support/quota';
import { defaultHandler, json } from './support/upstream';

const BOTH_FIELDS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id qualifications { kind } mcaDirectlySigned } }`;
const QUALIFICATIONS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { qualifications { kind } } }`;
const ADD = /* GraphQL */ `mutation ($id: ID!) {
  addCustomerQualification(input: { customerId: $id, qualification: STATE_OWNED_ENTITY }) {
    qualification { kind }
    customer { qualifications { kind } }
  }
}`;
const A = { authorization: 'Bearer caching-token-a' };
const B = { authorization: 'Bearer caching-token-b' };

describe('caching', () => {
  const { upstream, gatewayWith } = useUpstream();

  it('answers a repeated request of the same token from the cache within CACHE_TTL_SECONDS', async () => {
    const events = recordEvents();
    const gw = await gatewayWith({ cacheTtlSeconds: 60 }, { events });
    const id = customerId(1);
    const first = await gw.query(BOTH_FIELDS, { id }, A);
    const second = await gw.query(BOTH_FIELDS, { id }, A);
    expect(second.body).toEqual(first.body);
    expect(first.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    expect(events.lookups.map((lookup) => lookup.result)).toEqual(['miss', 'miss', 'hit', 'hit']);
  });

  it('caches nothing by default', async () => {
    const gw = await gatewayWith({});
    const id = customerId(2);
    await gw.query(BOTH_FIELDS, { id }, A);
    await gw.query(BOTH_FIELDS, { id }, A);
    expect(upstream.calls).toHaveLength(4);
  });

  it('never serves a cached answer to another token', async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60 });
    const id = customerId(3);
    await gw.query(BOTH_FIELDS, { id }, A);
    await gw.query(BOTH_FIELDS, { id }, B);
    expect(upstream.calls.map((call) => call.headers.authorization)).toEqual([
      A.authorization,
      A.authorization,
      B.authorization,
      B.authorization,
    ]);
  });

  it('never caches an error', async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60, maxAttempts: 1 });
    const id = customerId(4);
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'qualifications' ? json(res, 503, {}) : defaultHandler(call, res, attempt),
    );
    const failed = await gw.query(QUALIFICATIONS, { id }, A);
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    upstream.setHandler(defaultHandler);
    const answered = await gw.query(QUALIFICATIONS, { id }, A);
    expect(answered.body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it("drops a customer's cached qualifications for every token after addCustomerQualification, and nothing else", async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60 });
    const [id, other] = [customerId(5), customerId(6)];
    for (const token of [A, B]) {
      await gw.query(BOTH_FIELDS, { id }, token);
      await gw.query(QUALIFICATIONS, { id: other }, token);
    }
    expect(upstream.calls).toHaveLength(6);

    const added = await gw.query(ADD, { id }, A);
    expect(added.body.errors).toBeUndefined();
    // The payload's customer is read afresh: one POST, one GET.
    expect(upstream.calls.slice(6).map((call) => [call.method, call.resource])).toEqual([
      ['POST', 'qualifications'],
      ['GET', 'qualifications'],
    ]);

    const afterB = await gw.query(BOTH_FIELDS, { id }, B);
    expect(afterB.body.errors).toBeUndefined();
    await gw.query(QUALIFICATIONS, { id: other }, B);
    await gw.query(BOTH_FIELDS, { id }, A);
    // B's qualifications of that customer are read again; its MCA status, and the other customer, stay cached.
    expect(upstream.calls.slice(8).map((call) => [call.headers.authorization, call.resource, call.customerId])).toEqual(
      [[B.authorization, 'qualifications', id]],
    );
  });

  it('keeps at most CACHE_MAX_ENTRIES answers, forgetting the least recently used', async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60, cacheMaxEntries: 2 });
    const [one, two, three] = [customerId(7), customerId(8), customerId(9)];
    for (const id of [one, two, three, three, one]) await gw.query(QUALIFICATIONS, { id }, A);
    expect(upstream.calls.map((call) => call.customerId)).toEqual([one, two, three, one]);
  });
});
