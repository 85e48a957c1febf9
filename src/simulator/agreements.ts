// Owns the simulator's customer agreements: the MCA's metadata (the current
// template and the previous one), a customer's attestations (403 without a
// reseller relationship, as Partner Center answers), and the POST that
// confirms a customer's acceptance, checked as Partner Center checks it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, methodNotAllowed, send } from './answers';

export const CURRENT_TEMPLATE_ID = '117a77b0-9360-443b-8795-c6dedc750cf9';
export const PREVIOUS_TEMPLATE_ID = 'a8d3c5e1-2f40-4b7a-9c61-0e5d4b3a2f19';
const MCA_TYPE = 'MicrosoftCustomerAgreement';
const LINK = 'https://aka.ms/customeragreement';

export interface SimulatedAgreement {
  primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string };
  templateId: string;
  dateAgreed: string;
  type: string;
  agreementLink?: string;
  userId?: string;
}

const noRelationship = (res: ServerResponse) =>
  send(res, 403, {
    code: 20002,
    description: 'No relationship between caller and account.',
    data: [],
    source: 'PartnerFD',
  });

/** Without agreementType Partner Center answers the older Microsoft Cloud Agreement: the simulator has none of it. */
const mcaAsked = (url: URL) => url.searchParams.get('agreementType') === MCA_TYPE;

const collection = (items: unknown[]) => ({
  totalCount: items.length,
  items,
  attributes: { objectType: 'Collection' },
});

/** GET /agreements?agreementType=MicrosoftCustomerAgreement: the templates, the current one at rank 0. */
export function answerAgreementMetadata(req: IncomingMessage, res: ServerResponse, url: URL) {
  if (req.method !== 'GET') return methodNotAllowed(res);
  if (!mcaAsked(url)) return send(res, 200, collection([]));
  send(
    res,
    200,
    collection([
      { templateId: PREVIOUS_TEMPLATE_ID, agreementType: MCA_TYPE, agreementLink: LINK, versionRank: 1 },
      { templateId: CURRENT_TEMPLATE_ID, agreementType: MCA_TYPE, agreementLink: LINK, versionRank: 0 },
    ]),
  );
}

/** GET or POST /customers/{id}/agreements. */
export function answerAgreements(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
  customer: {
    readonly related: boolean;
    readonly attestations: readonly SimulatedAgreement[];
    confirm(agreement: SimulatedAgreement): void;
  },
) {
  if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(res);
  if (!customer.related) return noRelationship(res);
  if (req.method === 'GET') return send(res, 200, collection(mcaAsked(url) ? [...customer.attestations] : []));
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return badRequest(res, 'The body is not JSON.');
  }
  const contact = input.primaryContact as Record<string, unknown> | undefined;
  const filled = (value: unknown) => typeof value === 'string' && value.trim() !== '';
  if (!contact || !filled(contact.firstName) || !filled(contact.lastName) || !filled(contact.email)) {
    return badRequest(res, 'primaryContact needs firstName, lastName and email.');
  }
  if (input.type !== MCA_TYPE) return badRequest(res, `type must be ${MCA_TYPE}.`);
  if (input.templateId !== CURRENT_TEMPLATE_ID) return badRequest(res, 'templateId is not the current template.');
  if (typeof input.dateAgreed !== 'string' || Number.isNaN(Date.parse(input.dateAgreed))) {
    return badRequest(res, 'dateAgreed is not a date.');
  }
  const created: SimulatedAgreement = {
    primaryContact: {
      firstName: String(contact.firstName),
      lastName: String(contact.lastName),
      email: String(contact.email),
      ...(filled(contact.phoneNumber) ? { phoneNumber: String(contact.phoneNumber) } : {}),
    },
    templateId: CURRENT_TEMPLATE_ID,
    dateAgreed: input.dateAgreed,
    type: MCA_TYPE,
    agreementLink: LINK,
    userId: 'simulated-partner-user',
  };
  customer.confirm(created);
  send(res, 201, created);
}
