// No bearer token, no upstream call: fields that need Partner Center fail with
// UNAUTHENTICATED. Only the simulator serves tokenless requests, as a development user.

import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_AUTHORIZATION } from '../src/request/context';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { useGateway, useSimulatorGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const BOTH_FIELDS = `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind } } }`;

interface CustomersData {
  customers: Array<{ id: string; mcaDirectlySigned: boolean | null; qualifications: unknown[] } | null>;
}

describe('authentication against a configured Partner Center', () => {
  const { upstream, gw } = useGateway();

  function expectUnauthenticatedFields(response: {
    body: { errors?: Array<{ path?: unknown; extensions?: object }> };
  }) {
    const errors = response.body.errors ?? [];
    expect(errors.map((error) => error.path)).toEqual(
      expect.arrayContaining([
        ['customers', 0, 'mcaDirectlySigned'],
        ['customers', 0, 'qualifications'],
      ]),
    );
    for (const error of errors) expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
  }

  it('fails the fields with UNAUTHENTICATED and calls nothing when no Authorization header is sent', async () => {
    const response = await gw.query<CustomersData>(BOTH_FIELDS, { ids: [customerId(1)] }, { authorization: null });

    expect(response.body.data?.customers).toEqual([null]);
    expectUnauthenticatedFields(response);
    // The message tells the caller what to send.
    expect(response.body.errors?.[0]?.message).toBe(
      'A bearer token is required: send "Authorization: Bearer <Partner Center token>".',
    );
    expect(upstream.calls).toHaveLength(0);
  });

  it('treats a Basic Authorization header as no token', async () => {
    const response = await gw.query<CustomersData>(
      BOTH_FIELDS,
      { ids: [customerId(1)] },
      { authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
    );

    expect(response.body.data?.customers).toEqual([null]);
    expectUnauthenticatedFields(response);
    expect(upstream.calls).toHaveLength(0);
  });

  it('treats "Bearer" with no token after it as no token', async () => {
    const response = await gw.query<CustomersData>(BOTH_FIELDS, { ids: [customerId(1)] }, { authorization: 'Bearer ' });

    expectUnauthenticatedFields(response);
    expect(upstream.calls).toHaveLength(0);
  });

  it('still answers fields that need no upstream call without a token', async () => {
    const response = await gw.query(`query { customer(id: "${customerId(2)}") { id } }`, {}, { authorization: null });

    expect(response.body).toEqual({ data: { customer: { id: customerId(2) } } });
    expect(upstream.calls).toHaveLength(0);
  });

  it('maps an upstream 401 to UNAUTHENTICATED without retrying', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 401, { code: 900401, description: 'The token has expired.', data: [], source: 'PartnerFD' }),
    );
    try {
      const response = await gw.query<CustomersData>(
        `query ($id: ID!) { customer(id: $id) { qualifications { kind } } }`,
        { id: customerId(3) },
        { authorization: 'Bearer expired-token' },
      );

      expect(response.body.data).toEqual({ customer: null });
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors?.[0]?.path).toEqual(['customer', 'qualifications']);
      expect(response.body.errors?.[0]?.extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        upstream: { status: 401, code: 900401 },
      });
      expect(JSON.stringify(response.body)).not.toContain('expired-token');
      expect(upstream.calls).toHaveLength(1);
    } finally {
      upstream.setHandler(defaultHandler);
    }
  });
});

describe('authentication in simulator mode', () => {
  const { simulator, gw } = useSimulatorGateway();

  it('serves a tokenless request with the development token', async () => {
    const response = await gw.query<CustomersData>(
      BOTH_FIELDS,
      { ids: [SAMPLE_CUSTOMERS.approvedEducation] },
      { authorization: null },
    );

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers[0]).toMatchObject({
      id: SAMPLE_CUSTOMERS.approvedEducation,
      mcaDirectlySigned: true,
      qualifications: [{ kind: 'EDUCATION' }],
    });
    expect(simulator.requests).toHaveLength(2);
    for (const request of simulator.requests) expect(request.headers.authorization).toBe(DEVELOPMENT_AUTHORIZATION);
  });

  it("forwards the caller's own token when one is sent", async () => {
    simulator.requests.length = 0;
    await gw.query(BOTH_FIELDS, { ids: [SAMPLE_CUSTOMERS.noQualifications] }, { authorization: 'Bearer my-own' });

    expect(simulator.requests).toHaveLength(2);
    for (const request of simulator.requests) expect(request.headers.authorization).toBe('Bearer my-own');
  });
});
