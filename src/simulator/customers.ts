// Owns the simulator's customers as they start: the sample customers that
// show every case (qualifications, vetting, MCA signed directly, attested,
// both or neither, no reseller relationship), and deterministic generated
// data for any other GUID. simulator.ts serves them and keeps what changes.

import { createHash } from 'node:crypto';
import { CURRENT_TEMPLATE_ID, PREVIOUS_TEMPLATE_ID, type SimulatedAgreement } from './agreements';
import { SAMPLE_CUSTOMERS } from './roster';

export type Item = Record<string, string>;

export interface SimulatedCustomer {
  qualifications: Item[];
  /** Serve `{"qualifications": [...]}` instead of a bare array, as some deployments do. */
  wrapped?: boolean;
  /** true/false, or 'no-relationship' for the 403 Partner Center sends without a reseller relationship. */
  mca: boolean | 'no-relationship';
  /** The partner's attestations of the customer's MCA acceptance (GET /customers/{id}/agreements). */
  attestations?: SimulatedAgreement[];
}

const samples: Record<string, SimulatedCustomer | undefined> = {
  [SAMPLE_CUSTOMERS.approvedEducation]: {
    qualifications: [
      {
        qualification: 'Education',
        vettingStatus: 'Approved',
        vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.inReviewEducation]: {
    qualifications: [
      { qualification: 'Education', vettingStatus: 'InReview', vettingCreatedDate: '2020-12-04T20:54:24Z' },
    ],
    // Attested only: never signed directly, and can transact all the same.
    mca: false,
    attestations: [
      {
        primaryContact: {
          firstName: 'Tania',
          lastName: 'Carr',
          email: 'tania.carr@contosohigh.example.com',
          phoneNumber: '+1 425 555 0100',
        },
        templateId: CURRENT_TEMPLATE_ID,
        dateAgreed: '2019-08-26T00:00:00',
        type: 'MicrosoftCustomerAgreement',
        agreementLink: 'https://aka.ms/customeragreement',
      },
    ],
  },
  [SAMPLE_CUSTOMERS.deniedEducation]: {
    qualifications: [
      {
        qualification: 'Education',
        vettingStatus: 'Denied',
        vettingReason: 'Not an Academic Domain',
        vettingCreatedDate: '2021-01-15T08:30:00.1234567+02:00',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.stateOwnedEntity]: {
    qualifications: [{ qualification: 'StateOwnedEntity' }],
    // Attested twice: on the previous template, then on the current one; the older has no phone number or link.
    mca: false,
    attestations: [
      {
        primaryContact: { firstName: 'Ray', lastName: 'Tanaka', email: 'ray.tanaka@woodgrove.example.com' },
        templateId: PREVIOUS_TEMPLATE_ID,
        dateAgreed: '2020-02-03T04:05:06.1234567+01:00',
        type: 'MicrosoftCustomerAgreement',
      },
      {
        primaryContact: {
          firstName: 'Ray',
          lastName: 'Tanaka',
          email: 'ray.tanaka@woodgrove.example.com',
          phoneNumber: '(206) 555-0199',
        },
        templateId: CURRENT_TEMPLATE_ID,
        dateAgreed: '2024-11-05T16:30:00Z',
        type: 'MicrosoftCustomerAgreement',
        agreementLink: 'https://aka.ms/customeragreement',
      },
    ],
  },
  [SAMPLE_CUSTOMERS.governmentAndStateOwned]: {
    qualifications: [
      {
        qualification: 'GovernmentCommunityCloud',
        vettingStatus: 'Approved',
        vettingCreateDate: '2022-03-01T10:00:00.5000000-05:00',
      },
      { qualification: 'StateOwnedEntity' },
    ],
    wrapped: true,
    // Both: signed directly and attested.
    mca: true,
    attestations: [
      {
        primaryContact: {
          firstName: 'Avery',
          lastName: 'Howard',
          email: 'avery.howard@adatum.example.com',
          phoneNumber: '+1 202 555 0147',
        },
        templateId: CURRENT_TEMPLATE_ID,
        dateAgreed: '2022-03-02T09:15:00.5000000-05:00',
        type: 'MicrosoftCustomerAgreement',
        agreementLink: 'https://aka.ms/customeragreement',
      },
    ],
  },
  // Neither signed directly nor attested: orders for it fail.
  [SAMPLE_CUSTOMERS.noQualifications]: { qualifications: [], mca: false },
  [SAMPLE_CUSTOMERS.unknownQualification]: {
    qualifications: [
      {
        qualification: 'SovereignCloud',
        vettingStatus: 'PendingDocuments',
        vettingCreatedDate: '2026-02-02T02:02:02Z',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.noResellerRelationship]: {
    qualifications: [
      { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2021-09-09T09:09:09Z' },
    ],
    mca: 'no-relationship',
  },
};

/** Deterministic data for any GUID that is not a sample: the same id always answers the same. */
function generated(id: string): SimulatedCustomer {
  const byte = createHash('sha256').update(id).digest()[0] as number;
  const statuses = ['Approved', 'InReview', 'Denied'];
  const qualifications: Item[] = [];
  if (byte % 4 !== 0) {
    const status = statuses[byte % 3] as string;
    qualifications.push({
      qualification: byte % 2 ? 'Education' : 'GovernmentCommunityCloud',
      vettingStatus: status,
      vettingCreatedDate: `2023-0${(byte % 9) + 1}-1${byte % 10}T12:00:00.${String(byte).padStart(7, '0')}+00:00`,
      ...(status === 'Denied' ? { vettingReason: 'Not an Education Customer' } : {}),
    });
  }
  if (byte % 5 === 0) qualifications.push({ qualification: 'StateOwnedEntity' });
  // Most customers are attested by their partner and never sign directly, as in Partner Center; a few are neither.
  const attested = byte % 7 !== 0;
  const attestations: SimulatedAgreement[] = attested
    ? [
        {
          primaryContact: { firstName: 'Alex', lastName: `Buyer ${byte}`, email: `buyer${byte}@customer.example.com` },
          templateId: byte % 3 === 0 ? PREVIOUS_TEMPLATE_ID : CURRENT_TEMPLATE_ID,
          dateAgreed: `2024-0${(byte % 9) + 1}-0${(byte % 9) + 1}T10:00:00Z`,
          type: 'MicrosoftCustomerAgreement',
          agreementLink: 'https://aka.ms/customeragreement',
        },
      ]
    : [];
  return { qualifications, mca: byte % 2 === 0, attestations };
}

/** What the simulator holds of a customer before anything is changed through it: a sample's, or generated data. */
export function simulatedCustomer(id: string): SimulatedCustomer {
  return samples[id] ?? generated(id);
}
