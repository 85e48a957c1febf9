// Customer ids: any case, braces allowed, returned canonical; a malformed id
// fails only its own place with BAD_USER_INPUT and no call; too many ids fail
// customers(ids) before any upstream call.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';

const CUSTOMER = `query ($id: ID!) { customer(id: $id) { id qualifications { kind } } }`;
const CUSTOMERS = `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`;

describe('customer ids', () => {
  const { upstream, gw } = useGateway();

  it('fails customer(id) with BAD_USER_INPUT naming a malformed id, with no upstream call', async () => {
    const response = await gw.query(CUSTOMER, { id: 'not-a-guid' });

    expect(response.body.data).toEqual({ customer: null });
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    expect(error?.path).toEqual(['customer']);
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', invalidId: 'not-a-guid' });
    expect(error?.message).toContain('"not-a-guid"');
    expect(upstream.calls).toHaveLength(0);
  });

  it.each([
    ['a GUID one character short', '00000000-0000-4000-8000-00000000001'],
    ['a GUID with a non-hex digit', '00000000-0000-4000-8000-00000000000g'],
    ['a GUID without dashes', '00000000000040008000000000000001'],
    ['an unbalanced brace', '{00000000-0000-4000-8000-000000000001'],
    ['a path traversal', '../../partners/00000000-0000-4000-8000-000000000001'],
    ['an empty string', ''],
  ])('refuses %s as BAD_USER_INPUT with no call', async (_name, id) => {
    const response = await gw.query(CUSTOMER, { id });

    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.data).toEqual({ customer: null });
    expect(upstream.calls).toHaveLength(0);
  });

  it('quotes at most 80 characters of a long malformed id in the message and keeps 100 in invalidId', async () => {
    const id = `${'x'.repeat(90)}${'y'.repeat(60)}`;
    const response = await gw.query(CUSTOMER, { id });

    const [error] = response.body.errors ?? [];
    expect(error?.message).toBe(
      `id: expected a customer tenant id as a GUID (e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6), got "${'x'.repeat(80)}".`,
    );
    expect(error?.extensions?.invalidId).toBe(`${'x'.repeat(90)}${'y'.repeat(10)}`);
    expect(upstream.calls).toHaveLength(0);
  });

  it('fails only the malformed item of customers(ids), at its index, while the others resolve', async () => {
    const response = await gw.query(CUSTOMERS, { ids: [customerId(1), 'bogus-id', customerId(2)] });

    expect(response.body.data).toEqual({
      customers: [
        { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }] },
        null,
        { id: customerId(2), qualifications: [{ kind: 'EDUCATION' }] },
      ],
    });
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    expect(error?.path).toEqual(['customers', 1]);
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', invalidId: 'bogus-id' });
    expect(error?.message).toContain('ids[1]');
    expect(error?.message).toContain('"bogus-id"');
    expect(upstream.calls.map((call) => call.customerId).sort()).toEqual([customerId(1), customerId(2)]);
  });

  it('reports each malformed id of customers(ids) at its own index', async () => {
    const response = await gw.query(CUSTOMERS, { ids: ['first-bad', customerId(1), 'second-bad'] });

    expect(response.body.data?.customers).toEqual([
      null,
      { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }] },
      null,
    ]);
    expect(response.body.errors?.map((error) => [error.path, error.extensions?.invalidId])).toEqual([
      [['customers', 0], 'first-bad'],
      [['customers', 2], 'second-bad'],
    ]);
    expect(upstream.calls).toHaveLength(1);
  });

  it('leaves other root fields untouched by a malformed id in customers(ids)', async () => {
    const response = await gw.query(
      `query ($ids: [ID!]!, $id: ID!) { customers(ids: $ids) { id } one: customer(id: $id) { id qualifications { kind } } }`,
      { ids: ['bogus-id'], id: customerId(3) },
    );

    expect(response.body.data).toEqual({
      customers: [null],
      one: { id: customerId(3), qualifications: [{ kind: 'EDUCATION' }] },
    });
    expect(response.body.errors?.map((error) => error.path)).toEqual([['customers', 0]]);
    expect(upstream.calls.map((call) => call.customerId)).toEqual([customerId(3)]);
  });

  it('refuses 101 ids with BAD_USER_INPUT and no call', async () => {
    const ids = Array.from({ length: 101 }, (_, n) => customerId(n + 1));
    const response = await gw.query(CUSTOMERS, { ids });

    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['customers']);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxIds: 100 });
    expect(response.body.errors?.[0]?.message).toBe('ids: at most 100 ids are accepted, got 101.');
    expect(upstream.calls).toHaveLength(0);
  });

  it('counts duplicates towards the 100-id limit', async () => {
    const ids = Array.from({ length: 101 }, () => customerId(1));
    const response = await gw.query(CUSTOMERS, { ids });

    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(upstream.calls).toHaveLength(0);
  });

  it('accepts exactly 100 ids, one call each', async () => {
    const ids = Array.from({ length: 100 }, (_, n) => customerId(n + 1));
    const response = await gw.query<{ customers: Array<{ id: string }> }>(CUSTOMERS, { ids });

    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customers.map((customer) => customer.id)).toEqual(ids);
    expect(upstream.callsTo('qualifications')).toHaveLength(100);
  });

  it('honours a configured maxIds', async () => {
    const small = await startGateway(upstream.url, { maxIds: 2 });
    try {
      const refused = await small.query(CUSTOMERS, { ids: [customerId(1), customerId(2), customerId(3)] });
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxIds: 2 });
      expect(upstream.calls).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('returns ids in canonical form: upper case and braces in, lower case out', async () => {
    const raw = 'ABCDEF01-2345-4678-9ABC-DEF012345678';
    const canonical = raw.toLowerCase();

    const one = await gw.query<{ customer: { id: string } }>(`query ($id: ID!) { customer(id: $id) { id } }`, {
      id: `{${raw}}`,
    });
    const many = await gw.query<{ customers: Array<{ id: string }> }>(
      `query ($ids: [ID!]!) { customers(ids: $ids) { id } }`,
      { ids: [raw, `{${raw}}`, `{${canonical}}`, ` ${raw} `] },
    );

    expect(one.body.data?.customer.id).toBe(canonical);
    expect(many.body.errors).toBeUndefined();
    expect(many.body.data?.customers.map((customer) => customer.id)).toEqual([
      canonical,
      canonical,
      canonical,
      canonical,
    ]);
  });
});
