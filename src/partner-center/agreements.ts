// Owns the customer agreements' bodies: a customer's Microsoft Customer
// Agreement attestations as Partner Center sends them (items of another type
// ignored, dates as src/domain/dates.ts reads them, optional fields
// missing), the agreement metadata's current template (the lowest
// versionRank), and the POST body that confirms a customer's acceptance.

import { parseWireDate } from '../domain/dates';
import { badResponse, type UpstreamInfo } from '../domain/errors';

/** The agreement type every agreements call names: without it Partner Center answers the older Cloud Agreement. */
export const MCA_TYPE = 'MicrosoftCustomerAgreement';

export interface WireAgreementContact {
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  readonly phoneNumber: string | null;
}

/** One attestation: the partner confirmed that the customer accepted the MCA. */
export interface WireAgreement {
  /** ISO 8601 in UTC with milliseconds. */
  readonly dateAgreed: string;
  readonly templateId: string;
  readonly agreementLink: string | null;
  readonly primaryContact: WireAgreementContact;
}

/** The POST body in Partner Center's spelling. */
export interface NewAgreementBody {
  readonly primaryContact: { firstName: string; lastName: string; email: string; phoneNumber?: string };
  readonly templateId: string;
  readonly dateAgreed: string;
  readonly type: typeof MCA_TYPE;
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : null);

/**
 * dateAgreed as ISO 8601 UTC: a date is the customer's, so a day alone (midnight UTC) and a space before the time are
 * read too, beyond what src/domain/dates.ts takes; undefined when it is not a date.
 */
function dateAgreedOf(raw: string): string | undefined {
  const text = raw.trim();
  const date = parseWireDate(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text.replace(' ', 'T'));
  return date?.toISOString();
}

/** An attestation item, or a string saying what it lacks; undefined for an item of another agreement type. */
function parseAgreement(item: unknown): WireAgreement | string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return 'is not an object';
  const record = item as Record<string, unknown>;
  // Asked for with agreementType, so an item without a type is taken as the MCA; another type is ignored.
  if (record.type !== undefined && record.type !== MCA_TYPE) return undefined;
  const templateId = text(record.templateId);
  if (templateId === null) return 'has no "templateId"';
  const dateAgreed = typeof record.dateAgreed === 'string' ? dateAgreedOf(record.dateAgreed) : undefined;
  if (dateAgreed === undefined) return 'has no "dateAgreed" date';
  const contact = record.primaryContact as Record<string, unknown> | null | undefined;
  const firstName = text(contact?.firstName);
  const lastName = text(contact?.lastName);
  const email = text(contact?.email);
  if (firstName === null || lastName === null || email === null) {
    return 'has no "primaryContact" with firstName, lastName and email';
  }
  return {
    dateAgreed,
    templateId,
    agreementLink: text(record.agreementLink),
    primaryContact: { firstName, lastName, email, phoneNumber: text(contact?.phoneNumber) },
  };
}

/** Newest dateAgreed first; the same date keeps Partner Center's order. */
const newestFirst = (a: WireAgreement, b: WireAgreement) => Date.parse(b.dateAgreed) - Date.parse(a.dateAgreed);

/** `{"items": [...]}` (a bare array taken too), the MCA's attestations newest first; anything else is a bad response. */
export function parseAgreementList(body: unknown, upstream: UpstreamInfo, customerId: string): WireAgreement[] {
  const list = Array.isArray(body) ? body : (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(list)) {
    throw badResponse(upstream, `expected {"items": [...]} of agreements for customer ${customerId}`);
  }
  const agreements: WireAgreement[] = [];
  list.forEach((item, index) => {
    const parsed = parseAgreement(item);
    if (typeof parsed === 'string') throw badResponse(upstream, `agreement item ${index} ${parsed}`);
    if (parsed) agreements.push(parsed);
  });
  return agreements.sort(newestFirst);
}

/** The created agreement of a POST (201); a body that is not one is a bad response. */
export function parseCreatedAgreement(body: unknown, upstream: UpstreamInfo): WireAgreement {
  const parsed = parseAgreement(body);
  if (parsed === undefined || typeof parsed === 'string') {
    throw badResponse(
      upstream,
      `expected the created agreement from POST agreements (it ${parsed ?? 'is of another type'})`,
    );
  }
  return parsed;
}

/** The current MCA template of `GET /agreements`: the item with the lowest versionRank. */
export function parseCurrentTemplate(body: unknown, upstream: UpstreamInfo): string {
  const list = Array.isArray(body) ? body : (body as { items?: unknown } | null)?.items;
  let best: { templateId: string; rank: number } | undefined;
  for (const item of Array.isArray(list) ? list : []) {
    const record = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const templateId = text(record.templateId);
    if (templateId === null) continue;
    if (record.agreementType !== undefined && record.agreementType !== MCA_TYPE) continue;
    const rank = typeof record.versionRank === 'number' ? record.versionRank : Number.POSITIVE_INFINITY;
    if (best === undefined || rank < best.rank) best = { templateId, rank };
  }
  if (!best)
    throw badResponse(upstream, 'expected {"items": [{"templateId": ..., "versionRank": ...}]} from GET agreements');
  return best.templateId;
}

/** Whether the customer accepted the MCA: signed it directly, or its partner attested it. */
export const acceptedOf = (directlySigned: boolean, attestations: readonly WireAgreement[]) =>
  directlySigned || attestations.length > 0;
