// Within one GraphQL request each distinct (resource, customer) pair costs at
// most one upstream call; fields not selected cost nothing; requests share nothing.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';

const QUALIFICATIONS = 'qualifications';
const MCA = 'directSignedMicrosoftCustomerAgreementStatus';

describe('batching and deduplication', () => {
  const { upstream, gw } = useGateway();

  /** How many calls each customer received for one resource, as a sorted list of [customerId, count]. */
  function callsPerCustomer(resource: string): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const call of upstream.callsTo(resource)) {
      const id = call.customerId ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return [...counts].sort(([a], [b]) => a.localeCompare(b));
  }

  it('makes exactly 50 calls per resource for 50 customers asked twice in a list and again through aliases', async () => {
    const ids = Array.from({ length: 50 }, (_, n) => customerId(n + 1));
    const aliases = ids
      .map((id, n) => `c${n}: customer(id: "${id}") { id mcaDirectlySigned qualifications { kind } }`)
      .join('\n');
    const document = `query ($ids: [ID!]!) {
      customers(ids: $ids) { id mcaDirectlySigned qualifications { kind vettingStatus } }
      ${aliases}
    }`;

    const response = await gw.query<Record<string, unknown>>(document, { ids: [...ids, ...ids] });

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers).toHaveLength(100);
    const expected = ids.map((id): [string, number] => [id, 1]).sort(([a], [b]) => a.localeCompare(b));
    expect(callsPerCustomer(QUALIFICATIONS)).toEqual(expected);
    expect(callsPerCustomer(MCA)).toEqual(expected);
    expect(upstream.calls).toHaveLength(100);
  });

  it('dedupes ids that differ only by case and braces to one call per resource', async () => {
    const id = 'abcdef01-2345-4678-9abc-def012345678';
    const upper = id.toUpperCase();
    const response = await gw.query<{
      customers: Array<{ id: string }>;
      braced: { id: string };
    }>(
      `query {
        customers(ids: ["${id}", "${upper}", "{${id}}", "{${upper}}"]) { id mcaDirectlySigned qualifications { kind } }
        braced: customer(id: "{${upper}}") { id mcaDirectlySigned qualifications { kind } }
      }`,
    );

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers.map((c) => c.id)).toEqual([id, id, id, id]);
    expect(response.body.data?.braced.id).toBe(id);
    expect(callsPerCustomer(QUALIFICATIONS)).toEqual([[id, 1]]);
    expect(callsPerCustomer(MCA)).toEqual([[id, 1]]);
  });

  it('makes no MCA call when only qualifications are selected', async () => {
    const response = await gw.query(`query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`, {
      ids: [customerId(1), customerId(2), customerId(3)],
    });

    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(3);
    expect(upstream.callsTo(MCA)).toHaveLength(0);
  });

  it('makes no qualifications call when only mcaDirectlySigned is selected', async () => {
    const response = await gw.query(`query ($ids: [ID!]!) { customers(ids: $ids) { mcaDirectlySigned } }`, {
      ids: [customerId(1), customerId(2)],
    });

    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo(MCA)).toHaveLength(2);
    expect(upstream.callsTo(QUALIFICATIONS)).toHaveLength(0);
  });

  it('makes no call at all when only id is selected in customers(ids)', async () => {
    const ids = [customerId(1), customerId(2), customerId(3)];
    const response = await gw.query<{ customers: Array<{ id: string }> }>(
      `query ($ids: [ID!]!) { customers(ids: $ids) { id } }`,
      { ids },
    );

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers.map((c) => c.id)).toEqual(ids);
    expect(upstream.calls).toHaveLength(0);
  });

  it('makes no call for customer(id) selecting only id', async () => {
    const response = await gw.query(`query { customer(id: "${customerId(7)}") { id } }`);

    expect(response.body).toEqual({ data: { customer: { id: customerId(7) } } });
    expect(upstream.calls).toHaveLength(0);
  });

  it('does not share the cache between two GraphQL requests: the second calls again', async () => {
    const document = `query ($id: ID!) { customer(id: $id) { qualifications { kind } mcaDirectlySigned } }`;

    const first = await gw.query(document, { id: customerId(9) });
    const second = await gw.query(document, { id: customerId(9) });

    expect(first.body.errors).toBeUndefined();
    expect(second.body.errors).toBeUndefined();
    expect(upstream.callsTo(QUALIFICATIONS, customerId(9))).toHaveLength(2);
    expect(upstream.callsTo(MCA, customerId(9))).toHaveLength(2);
  });

  it('keeps the order and the duplicates of customers(ids), one call per distinct customer', async () => {
    const ids = [customerId(3), customerId(1), customerId(3), customerId(2), customerId(1)];
    const response = await gw.query<{ customers: Array<{ id: string; qualifications: unknown[] }> }>(
      `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`,
      { ids },
    );

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers.map((c) => c.id)).toEqual(ids);
    expect(response.body.data?.customers.every((c) => c.qualifications.length === 1)).toBe(true);
    expect(callsPerCustomer(QUALIFICATIONS)).toEqual([
      [customerId(1), 1],
      [customerId(2), 1],
      [customerId(3), 1],
    ]);
  });
});
