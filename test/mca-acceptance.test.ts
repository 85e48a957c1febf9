// Customer.mcaAcceptance: signed directly or attested by the partner, with the
// attestations newest first, against the simulator's sample customers and a
// stand-in that counts calls: two calls per customer however the fields are
// aliased or combined with mcaDirectlySigned, the current template read once
// for many requests (per partner, per token in forward mode), the refusals
// that cost no call, and each customer failing alone.

import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CustomerMcaAcceptanceDocument } from '../schema/generated/graphql';
import { CURRENT_TEMPLATE_ID, PREVIOUS_TEMPLATE_ID, SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { useGateway, useSimulatorGateway, useUpstream } from './support/fixtures';
import { customerIds } from './support/gateway';
import { unsignedJwt } from './support/tokens';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  defaultHandler,
  json,
  TEMPLATE_ID,
  type UpstreamHandler,
} from './support/upstream';

const QUERY = print(CustomerMcaAcceptanceDocument);
const LINK = 'https://aka.ms/customeragreement';

describe('mcaAcceptance of the simulator sample customers', () => {
  const { gw } = useSimulatorGateway();

  it('answers each sample exactly: attested only, signed directly only, both, neither, and no relationship', async () => {
    const ids = [
      SAMPLE_CUSTOMERS.inReviewEducation,
      SAMPLE_CUSTOMERS.approvedEducation,
      SAMPLE_CUSTOMERS.governmentAndStateOwned,
      SAMPLE_CUSTOMERS.noQualifications,
      SAMPLE_CUSTOMERS.stateOwnedEntity,
      SAMPLE_CUSTOMERS.noResellerRelationship,
    ];
    const { body } = await gw.query<{ customers: Array<{ id: string; mcaAcceptance: unknown }> }>(QUERY, { ids });
    expect(body.data?.customers.map((customer) => customer.mcaAcceptance)).toEqual([
      {
        accepted: true,
        directlySigned: false,
        attestations: [
          {
            // Sent without a zone: read as UTC.
            dateAgreed: '2019-08-26T00:00:00.000Z',
            templateId: CURRENT_TEMPLATE_ID,
            currentTemplate: true,
            agreementLink: LINK,
            primaryContact: {
              firstName: 'Tania',
              lastName: 'Carr',
              email: 'tania.carr@contosohigh.example.com',
              phoneNumber: '+1 425 555 0100',
            },
          },
        ],
      },
      { accepted: true, directlySigned: true, attestations: [] },
      {
        accepted: true,
        directlySigned: true,
        attestations: [
          {
            dateAgreed: '2022-03-02T14:15:00.500Z',
            templateId: CURRENT_TEMPLATE_ID,
            currentTemplate: true,
            agreementLink: LINK,
            primaryContact: {
              firstName: 'Avery',
              lastName: 'Howard',
              email: 'avery.howard@adatum.example.com',
              phoneNumber: '+1 202 555 0147',
            },
          },
        ],
      },
      { accepted: false, directlySigned: false, attestations: [] },
      {
        accepted: true,
        directlySigned: false,
        // Newest first; the older one is on the previous template and has no phone number or link.
        attestations: [
          {
            dateAgreed: '2024-11-05T16:30:00.000Z',
            templateId: CURRENT_TEMPLATE_ID,
            currentTemplate: true,
            agreementLink: LINK,
            primaryContact: {
              firstName: 'Ray',
              lastName: 'Tanaka',
              email: 'ray.tanaka@woodgrove.example.com',
              phoneNumber: '(206) 555-0199',
            },
          },
          {
            dateAgreed: '2020-02-03T03:05:06.123Z',
            templateId: PREVIOUS_TEMPLATE_ID,
            currentTemplate: false,
            agreementLink: null,
            primaryContact: {
              firstName: 'Ray',
              lastName: 'Tanaka',
              email: 'ray.tanaka@woodgrove.example.com',
              phoneNumber: null,
            },
          },
        ],
      },
      null,
    ]);
    expect(body.errors).toEqual([
      expect.objectContaining({
        path: ['customers', 5, 'mcaAcceptance'],
        extensions: expect.objectContaining({ code: 'FORBIDDEN' }),
      }),
    ]);
  });
});

describe('mcaAcceptance calls', () => {
  const { upstream, gw } = useGateway();
  const byResource = (resource: string) => upstream.callsTo(resource);

  it('costs two calls per customer for 100 customers, however aliased and with mcaDirectlySigned asked too', async () => {
    const ids = customerIds(100);
    const { body } = await gw.query<{ customers: Array<Record<string, unknown>> }>(
      `query ($ids: [ID!]!) {
        customers(ids: $ids) {
          mcaDirectlySigned
          a: mcaAcceptance { accepted }
          b: mcaAcceptance { directlySigned attestations { dateAgreed } }
        }
        again: customers(ids: $ids) { mcaAcceptance { accepted } signed: mcaDirectlySigned }
      }`,
      { ids },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.customers[0]).toEqual({
      mcaDirectlySigned: true,
      a: { accepted: true },
      b: { directlySigned: true, attestations: [{ dateAgreed: '2019-08-26T00:00:00.000Z' }] },
    });
    expect(byResource('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(100);
    expect(byResource('agreements')).toHaveLength(100);
    expect(new Set(byResource('agreements').map((call) => call.customerId)).size).toBe(100);
    // Always with agreementType: without it Partner Center answers the older Cloud Agreement.
    expect(byResource('agreements').map((call) => call.query.get('agreementType'))).toEqual(
      Array(100).fill('MicrosoftCustomerAgreement'),
    );
    // Not asked for currentTemplate: no metadata read.
    expect(byResource('agreement_metadata')).toHaveLength(0);
    expect(upstream.calls).toHaveLength(200);
  });

  it('reads the current template once for many requests, and never when currentTemplate is not asked', async () => {
    for (let round = 0; round < 5; round++) {
      const { body } = await gw.query<{ customers: Array<{ mcaAcceptance: unknown }> }>(QUERY, {
        ids: customerIds(3, round * 3 + 1),
      });
      expect(body.errors).toBeUndefined();
      expect(body.data?.customers[2]?.mcaAcceptance).toMatchObject({ attestations: [{ currentTemplate: true }] });
    }
    const metadata = byResource('agreement_metadata');
    expect(metadata).toHaveLength(1);
    expect(metadata[0]?.query.get('agreementType')).toBe('MicrosoftCustomerAgreement');
    expect(metadata[0]?.path).toBe('/v1/agreements');
  });

  it('reads the template per token in forward mode: no answer is shared between tokens', async () => {
    const other = { authorization: 'Bearer another-token' };
    await gw.query(QUERY, { ids: customerIds(1, 900) }, other);
    await gw.query(QUERY, { ids: customerIds(1, 901) }, other);
    expect(byResource('agreement_metadata')).toHaveLength(1);
    // The first test's token read it already: this one did not read it again.
    await gw.query(QUERY, { ids: customerIds(1, 902) });
    expect(byResource('agreement_metadata')).toHaveLength(1);
  });

  it('refuses an app-only token with FORBIDDEN and no upstream call', async () => {
    const { body } = await gw.query(
      QUERY,
      { ids: customerIds(2) },
      { authorization: unsignedJwt({ idtyp: 'app', appid: 'some-app' }) },
    );
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customers', 0, 'mcaAcceptance'], 'FORBIDDEN'],
      [['customers', 1, 'mcaAcceptance'], 'FORBIDDEN'],
    ]);
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('mcaAcceptance outside the public cloud', () => {
  const { upstream, gw } = useGateway({ cloud: 'usgov' });

  it('is NOT_SUPPORTED_IN_CLOUD with no upstream call', async () => {
    const { body } = await gw.query(QUERY, { ids: customerIds(1) });
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_SUPPORTED_IN_CLOUD');
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('mcaAcceptance as Partner Center answers it', () => {
  const [plain, offset, other, broken, refused, failing] = customerIds(6);
  const handler: UpstreamHandler = (call, res, attempt) => {
    if (call.resource === 'agreements') {
      if (call.customerId === offset) {
        // Fractions and an offset, an item of another type, missing optional fields, a bare list.
        return json(res, 200, [
          { ...ATTESTATION, dateAgreed: '2021-05-06T19:59:56.6832021+02:00', agreementLink: undefined },
          { ...ATTESTATION, type: 'MicrosoftCloudAgreement', dateAgreed: '2025-01-01T00:00:00Z' },
          {
            ...ATTESTATION,
            templateId: 'old-template',
            dateAgreed: '2023-01-01T00:00:00Z',
            primaryContact: { firstName: 'A', lastName: 'B', email: 'a@b.example' },
          },
        ]);
      }
      if (call.customerId === other) return json(res, 200, agreementsBody([]));
      if (call.customerId === broken) return json(res, 200, { items: [{ templateId: 'x' }] });
      if (call.customerId === refused) {
        return json(res, 403, { code: 20002, description: 'No relationship between caller and account.' });
      }
      if (call.customerId === failing) return json(res, 503, { code: 503, description: 'Busy' });
      return json(res, 200, agreementsBody([ATTESTATION]));
    }
    if (call.resource === 'agreement_metadata') {
      // The current template is the lowest versionRank, wherever it stands.
      return json(
        res,
        200,
        agreementsBody([{ ...CURRENT_TEMPLATE, templateId: 'old-template', versionRank: 3 }, CURRENT_TEMPLATE]),
      );
    }
    if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus' && call.customerId === other) {
      return json(res, 200, { isSigned: false });
    }
    return defaultHandler(call, res, attempt);
  };
  const { upstream, gatewayWith } = useUpstream(handler);

  it('normalises dates, orders newest first, ignores other types, and fails only the customer whose body is bad', async () => {
    const gw = await gatewayWith({ maxAttempts: 1 });
    const { body } = await gw.query<{ customers: Array<{ mcaAcceptance: Record<string, unknown> | null }> }>(
      `query ($ids: [ID!]!) { customers(ids: $ids) { mcaDirectlySigned mcaAcceptance { accepted directlySigned attestations { dateAgreed templateId currentTemplate agreementLink primaryContact { phoneNumber } } } } }`,
      { ids: [plain, offset, other, broken, refused, failing] },
    );
    const answers = body.data?.customers.map((customer) => customer.mcaAcceptance);
    expect(answers?.[0]).toEqual({
      accepted: true,
      directlySigned: true,
      attestations: [
        {
          dateAgreed: '2019-08-26T00:00:00.000Z',
          templateId: TEMPLATE_ID,
          currentTemplate: true,
          agreementLink: LINK,
          primaryContact: { phoneNumber: '1234567890' },
        },
      ],
    });
    expect(answers?.[1]).toEqual({
      accepted: true,
      directlySigned: true,
      attestations: [
        {
          dateAgreed: '2023-01-01T00:00:00.000Z',
          templateId: 'old-template',
          currentTemplate: false,
          agreementLink: LINK,
          primaryContact: { phoneNumber: null },
        },
        {
          dateAgreed: '2021-05-06T17:59:56.683Z',
          templateId: TEMPLATE_ID,
          currentTemplate: true,
          agreementLink: null,
          primaryContact: { phoneNumber: '1234567890' },
        },
      ],
    });
    expect(answers?.[2]).toEqual({ accepted: false, directlySigned: false, attestations: [] });
    expect(answers?.slice(3)).toEqual([null, null, null]);
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customers', 3, 'mcaAcceptance'], 'UPSTREAM_BAD_RESPONSE'],
      [['customers', 4, 'mcaAcceptance'], 'FORBIDDEN'],
      [['customers', 5, 'mcaAcceptance'], 'UPSTREAM_UNAVAILABLE'],
    ]);
    // mcaDirectlySigned of the failing customers still resolves: the direct status was read fine.
    expect(
      body.data?.customers.slice(3).map((customer) => (customer as Record<string, unknown>).mcaDirectlySigned),
    ).toEqual([true, true, true]);
    expect(upstream.callsTo('agreements')).toHaveLength(6);
  });

  it('keeps answers per token with CACHE_TTL_SECONDS and reads again after it, with resource agreements in the metrics', async () => {
    const gw = await gatewayWith({ cacheTtlSeconds: 60 });
    const ask = () => gw.query(QUERY, { ids: [plain] });
    await ask();
    await ask();
    expect(upstream.callsTo('agreements')).toHaveLength(1);
    await gw.query(QUERY, { ids: [plain] }, { authorization: 'Bearer another-token' });
    expect(upstream.callsTo('agreements')).toHaveLength(2);
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('partner_center_requests_total{resource="agreements",method="GET",status="200"} 2');
    expect(metrics).toContain(
      'partner_center_requests_total{resource="agreement_metadata",method="GET",status="200"} 2',
    );
    expect(metrics).toContain('gateway_cache_lookups_total{resource="agreements",result="hit"} 1');
  });
});
