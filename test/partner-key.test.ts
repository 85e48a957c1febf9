import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { jwt, TENANT_A } from './support/quota';
import { defaultHandler, json, type UpstreamHandler } from './support/upstream';

const BOTH_FIELDS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id qualifications { kind } mcaDirectlySigned } }`;
const QUALIFICATIONS_OF = /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`;

const GENUINE = jwt({ tid: TENANT_A, oid: 'genuine-user' });
/** Claims the same tenant, but Partner Center does not accept it. */
const FORGED = jwt({ tid: TENANT_A, oid: 'forger' });

/** Partner Center's view: only the genuine token is valid; anything else is 401. */
const verifying: UpstreamHandler = (call, res, attempt) =>
  call.headers.authorization === GENUINE
    ? defaultHandler(call, res, attempt)
    : json(res, 401, { code: 401, description: 'Unauthorized', data: [], source: 'PartnerFD' });

describe('partner key', () => {
  const { upstream, gatewayWith } = useUpstream(verifying);

  it("never serves a tenant's cached or in-flight answers to a token that claims its tid", async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60 });
    const id = customerId(1);
    const genuine = await gw.query(BOTH_FIELDS, { id }, { authorization: GENUINE });
    expect(genuine.body.errors).toBeUndefined();
    const [forged, again] = await Promise.all([
      gw.query(BOTH_FIELDS, { id }, { authorization: FORGED }),
      gw.query(BOTH_FIELDS, { id }, { authorization: GENUINE }),
    ]);
    expect(forged.body.data).toEqual({ customer: null });
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(again.body).toEqual(genuine.body);
    // The forger's calls went to Partner Center with its own token; the genuine token's second request cost nothing.
    expect(upstream.calls.map((call) => call.headers.authorization)).toEqual([GENUINE, GENUINE, FORGED, FORGED]);
  });

  it('spends none of the claimed tenant’s pacing budget and opens no window on calls answered 401', async () => {
    const gw = await gatewayWith({ ratePerMinute: 2, requestBudgetMs: 3_000 });
    const forged = await gw.query(
      QUALIFICATIONS_OF,
      { ids: [customerId(2), customerId(3)] },
      { authorization: FORGED },
    );
    expect(forged.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    const genuine = await gw.query(
      QUALIFICATIONS_OF,
      { ids: [customerId(2), customerId(3)] },
      { authorization: GENUINE },
    );
    expect(genuine.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(4);
  });
});
