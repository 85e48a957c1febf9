// Partner Center's wire values become the GraphQL contract's enums and DateTime,
// whatever shape or spelling the upstream answer takes; nothing unknown fails.

import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { useGateway, useSimulatorGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { json } from './support/upstream';

const QUALIFICATIONS = /* GraphQL */ `
  query ($id: ID!) {
    customer(id: $id) {
      id
      qualifications { qualification kind vettingStatus vettingReason vettingCreatedDate }
    }
  }
`;

interface Qualification {
  qualification: string;
  kind: string;
  vettingStatus: string | null;
  vettingReason: string | null;
  vettingCreatedDate: string | null;
}
interface CustomerData {
  customer: { id: string; qualifications: Qualification[] } | null;
}

describe('qualification mapping', () => {
  /** The qualifications body the upstream answers for the next request, whatever the customer. */
  let body: unknown = [];
  const { gw } = useGateway({}, { handler: (_call, res) => json(res, 200, body) });

  async function qualificationsFor(answer: unknown): Promise<Qualification[]> {
    body = answer;
    const id = customerId(1);
    const response = await gw.query<CustomerData>(QUALIFICATIONS, { id });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.customer?.id).toBe(id);
    return response.body.data?.customer?.qualifications ?? [];
  }

  it.each([
    ['Approved', 'APPROVED'],
    ['InReview', 'IN_REVIEW'],
    ['Denied', 'DENIED'],
  ])('maps vettingStatus %s to %s', async (wire, status) => {
    const [item] = await qualificationsFor([{ qualification: 'Education', vettingStatus: wire }]);
    expect(item).toEqual({
      qualification: 'Education',
      kind: 'EDUCATION',
      vettingStatus: status,
      vettingReason: null,
      vettingCreatedDate: null,
    });
  });

  it.each([
    ['Education', 'EDUCATION'],
    ['Nonprofit', 'NONPROFIT'],
    ['GovernmentCommunityCloud', 'GOVERNMENT_COMMUNITY_CLOUD'],
    ['StateOwnedEntity', 'STATE_OWNED_ENTITY'],
  ])('maps qualification %s to kind %s and keeps the raw name', async (wire, kind) => {
    const [item] = await qualificationsFor([{ qualification: wire, vettingStatus: 'Approved' }]);
    expect(item?.qualification).toBe(wire);
    expect(item?.kind).toBe(kind);
  });

  it('maps an unknown vettingStatus to UNKNOWN and keeps the raw qualification name', async () => {
    const [item] = await qualificationsFor([{ qualification: 'Education', vettingStatus: 'PendingDocuments' }]);
    expect(item).toMatchObject({ qualification: 'Education', kind: 'EDUCATION', vettingStatus: 'UNKNOWN' });
  });

  it('maps an unknown qualification to kind OTHER with the raw name in qualification', async () => {
    const [item] = await qualificationsFor([{ qualification: 'SovereignCloud', vettingStatus: 'Approved' }]);
    expect(item).toMatchObject({ qualification: 'SovereignCloud', kind: 'OTHER', vettingStatus: 'APPROVED' });
  });

  it('gives a StateOwnedEntity without vetting status a null vettingStatus', async () => {
    const [item] = await qualificationsFor([{ qualification: 'StateOwnedEntity' }]);
    expect(item).toEqual({
      qualification: 'StateOwnedEntity',
      kind: 'STATE_OWNED_ENTITY',
      vettingStatus: null,
      vettingReason: null,
      vettingCreatedDate: null,
    });
  });

  it('reads the date from the vettingCreatedDate spelling', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2020-12-04T20:54:24Z' },
    ]);
    expect(item?.vettingCreatedDate).toBe('2020-12-04T20:54:24.000Z');
  });

  it('reads the date from the vettingCreateDate spelling', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'InReview', vettingCreateDate: '2020-12-04T20:54:24Z' },
    ]);
    expect(item?.vettingCreatedDate).toBe('2020-12-04T20:54:24.000Z');
  });

  it('cuts 7 fractional digits to milliseconds and writes UTC', async () => {
    const [item] = await qualificationsFor([
      {
        qualification: 'Education',
        vettingStatus: 'Approved',
        vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00',
      },
    ]);
    expect(item?.vettingCreatedDate).toBe('2021-05-06T19:59:56.683Z');
  });

  it('converts a +02:00 offset to UTC', async () => {
    const [item] = await qualificationsFor([
      {
        qualification: 'Education',
        vettingStatus: 'Denied',
        vettingCreatedDate: '2021-01-15T08:30:00.1234567+02:00',
      },
    ]);
    expect(item?.vettingCreatedDate).toBe('2021-01-15T06:30:00.123Z');
  });

  it('converts a negative offset that crosses midnight to UTC', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'Approved', vettingCreateDate: '2022-03-01T22:00:00.5-05:00' },
    ]);
    expect(item?.vettingCreatedDate).toBe('2022-03-02T03:00:00.500Z');
  });

  it('gives an unreadable date null without failing the request', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: 'last Tuesday' },
    ]);
    expect(item).toMatchObject({ kind: 'EDUCATION', vettingCreatedDate: null });
  });

  it('accepts a body wrapped as {"qualifications": [...]}', async () => {
    const items = await qualificationsFor({
      qualifications: [
        { qualification: 'GovernmentCommunityCloud', vettingStatus: 'Approved' },
        { qualification: 'StateOwnedEntity' },
      ],
    });
    expect(items.map((item) => [item.kind, item.vettingStatus])).toEqual([
      ['GOVERNMENT_COMMUNITY_CLOUD', 'APPROVED'],
      ['STATE_OWNED_ENTITY', null],
    ]);
  });

  it('accepts a bare array holding several qualifications, in upstream order', async () => {
    const items = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'Approved' },
      { qualification: 'StateOwnedEntity' },
    ]);
    expect(items.map((item) => item.qualification)).toEqual(['Education', 'StateOwnedEntity']);
  });

  it('returns an empty list for a customer with no qualifications', async () => {
    expect(await qualificationsFor([])).toEqual([]);
    expect(await qualificationsFor({ qualifications: [] })).toEqual([]);
  });

  it('passes vettingReason through as Partner Center words it', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingStatus: 'Denied', vettingReason: 'No longer an Education Customer' },
    ]);
    expect(item).toMatchObject({ vettingStatus: 'DENIED', vettingReason: 'No longer an Education Customer' });
  });

  it.each([
    ['EDUCATION', 'INREVIEW', 'EDUCATION', 'IN_REVIEW'],
    ['stateownedentity', 'approved', 'STATE_OWNED_ENTITY', 'APPROVED'],
    ['governmentCommunityCloud', 'DENIED', 'GOVERNMENT_COMMUNITY_CLOUD', 'DENIED'],
  ])('reads qualification %s and vettingStatus %s in any case as %s and %s', async (wire, status, kind, vetting) => {
    const [item] = await qualificationsFor([{ qualification: wire, vettingStatus: status }]);
    expect(item).toMatchObject({ qualification: wire, kind, vettingStatus: vetting });
  });

  it.each([
    ['without seconds', '2021-05-06T19:59Z', '2021-05-06T19:59:00.000Z'],
    ['without a zone, as UTC', '2021-05-06T19:59:56.5', '2021-05-06T19:59:56.500Z'],
    ['with a one-digit fraction, as tenths', '2021-05-06T19:59:56.7Z', '2021-05-06T19:59:56.700Z'],
    ['with an offset written without a colon', '2021-05-06T21:59:56+0200', '2021-05-06T19:59:56.000Z'],
    ['in lower case', '2021-05-06t19:59:56z', '2021-05-06T19:59:56.000Z'],
    ['between spaces', ' 2021-05-06T19:59:56Z\n', '2021-05-06T19:59:56.000Z'],
  ])('reads a date %s', async (_name, wire, utc) => {
    const [item] = await qualificationsFor([{ qualification: 'Education', vettingCreatedDate: wire }]);
    expect(item?.vettingCreatedDate).toBe(utc);
  });

  it.each([
    ['a month 13', '2021-13-06T19:59:56Z'],
    ['text after the date', '2021-05-06T19:59:56Z and later'],
    ['text before the date', 'on 2021-05-06T19:59:56Z'],
    ['a date without a time', '2021-05-06'],
  ])('gives a date with %s null', async (_name, wire) => {
    const [item] = await qualificationsFor([{ qualification: 'Education', vettingCreatedDate: wire }]);
    expect(item?.vettingCreatedDate).toBeNull();
  });

  it("reads a date without a zone as UTC whatever the server's time zone", async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Pacific/Auckland';
    try {
      const [item] = await qualificationsFor([
        { qualification: 'Education', vettingCreatedDate: '2021-05-06T19:59:56' },
      ]);
      expect(item?.vettingCreatedDate).toBe('2021-05-06T19:59:56.000Z');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('reads an empty vettingCreatedDate as absent and takes the vettingCreateDate spelling', async () => {
    const [item] = await qualificationsFor([
      { qualification: 'Education', vettingCreatedDate: '', vettingCreateDate: '2020-12-04T20:54:24Z' },
    ]);
    expect(item?.vettingCreatedDate).toBe('2020-12-04T20:54:24.000Z');
  });
});

describe('the simulator sample customers', () => {
  const { gw } = useSimulatorGateway();

  const SAMPLES = /* GraphQL */ `
    query ($ids: [ID!]!) {
      customers(ids: $ids) {
        id
        mcaDirectlySigned
        qualifications { qualification kind vettingStatus vettingReason vettingCreatedDate }
      }
    }
  `;

  async function sample(id: string) {
    const response = await gw.query<{
      customers: Array<{ id: string; mcaDirectlySigned: boolean | null; qualifications: Qualification[] } | null>;
    }>(SAMPLES, { ids: [id] }, { authorization: null });
    return { customer: response.body.data?.customers[0], errors: response.body.errors ?? [] };
  }

  it('shows an approved Education customer with a 7-digit date cut to milliseconds', async () => {
    const { customer, errors } = await sample(SAMPLE_CUSTOMERS.approvedEducation);
    expect(errors).toEqual([]);
    expect(customer).toEqual({
      id: SAMPLE_CUSTOMERS.approvedEducation,
      mcaDirectlySigned: true,
      qualifications: [
        {
          qualification: 'Education',
          kind: 'EDUCATION',
          vettingStatus: 'APPROVED',
          vettingReason: null,
          vettingCreatedDate: '2021-05-06T19:59:56.683Z',
        },
      ],
    });
  });

  it('shows an Education customer in review', async () => {
    const { customer } = await sample(SAMPLE_CUSTOMERS.inReviewEducation);
    expect(customer?.qualifications.map((q) => q.vettingStatus)).toEqual(['IN_REVIEW']);
    expect(customer?.mcaDirectlySigned).toBe(false);
  });

  it('shows a denied Education customer with its reason and the +02:00 date in UTC', async () => {
    const { customer } = await sample(SAMPLE_CUSTOMERS.deniedEducation);
    expect(customer?.qualifications).toEqual([
      {
        qualification: 'Education',
        kind: 'EDUCATION',
        vettingStatus: 'DENIED',
        vettingReason: 'Not an Academic Domain',
        vettingCreatedDate: '2021-01-15T06:30:00.123Z',
      },
    ]);
  });

  it('shows a state-owned entity with no vetting status', async () => {
    const { customer } = await sample(SAMPLE_CUSTOMERS.stateOwnedEntity);
    expect(customer?.qualifications).toEqual([
      {
        qualification: 'StateOwnedEntity',
        kind: 'STATE_OWNED_ENTITY',
        vettingStatus: null,
        vettingReason: null,
        vettingCreatedDate: null,
      },
    ]);
  });

  it('shows two qualifications from a wrapped body with the vettingCreateDate spelling', async () => {
    const { customer } = await sample(SAMPLE_CUSTOMERS.governmentAndStateOwned);
    expect(customer?.qualifications.map((q) => [q.kind, q.vettingStatus, q.vettingCreatedDate])).toEqual([
      ['GOVERNMENT_COMMUNITY_CLOUD', 'APPROVED', '2022-03-01T15:00:00.500Z'],
      ['STATE_OWNED_ENTITY', null, null],
    ]);
  });

  it('shows a customer with no qualifications', async () => {
    const { customer, errors } = await sample(SAMPLE_CUSTOMERS.noQualifications);
    expect(errors).toEqual([]);
    expect(customer?.qualifications).toEqual([]);
  });

  it('shows an unknown qualification as OTHER with an UNKNOWN status', async () => {
    const { customer } = await sample(SAMPLE_CUSTOMERS.unknownQualification);
    expect(customer?.qualifications).toEqual([
      {
        qualification: 'SovereignCloud',
        kind: 'OTHER',
        vettingStatus: 'UNKNOWN',
        vettingReason: null,
        vettingCreatedDate: '2026-02-02T02:02:02.000Z',
      },
    ]);
  });

  it('shows FORBIDDEN on mcaDirectlySigned without a reseller relationship, qualifications still resolved', async () => {
    const { customer, errors } = await sample(SAMPLE_CUSTOMERS.noResellerRelationship);
    expect(customer?.mcaDirectlySigned).toBeNull();
    expect(customer?.qualifications.map((q) => q.vettingStatus)).toEqual(['APPROVED']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toEqual(['customers', 0, 'mcaDirectlySigned']);
    expect(errors[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', upstream: { status: 403, code: 20002 } });
  });

  it('shows NOT_FOUND for a customer that does not exist', async () => {
    const { customer, errors } = await sample(SAMPLE_CUSTOMERS.doesNotExist);
    expect(customer).toBeNull();
    expect(errors.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });
});
