// Owns the qualifications resource's bodies: a qualification as Partner
// Center sends it (a bare or wrapped list, two spellings of the date), and the
// POST body in Partner Center's spelling.

import { badResponse, type UpstreamInfo } from '../domain/errors';

/** A qualification as Partner Center sent it, with the two date spellings folded into one. */
export interface WireQualification {
  readonly qualification: string;
  readonly vettingStatus: string | null;
  readonly vettingReason: string | null;
  readonly vettingCreatedDate: string | null;
}

/** The POST body in Partner Center's spelling. */
export type NewQualificationBody =
  | { qualification: 'StateOwnedEntity' }
  | { qualification: 'Education'; educationSegment: 'K12' | 'HigherEducation'; website?: string }
  | { qualification: 'GovernmentCommunityCloud'; validationCode: string };

/** Accepts a bare array or `{"qualifications": [...]}`; anything else is a bad response. */
export function parseQualificationList(body: unknown, upstream: UpstreamInfo, customerId: string): WireQualification[] {
  const list = Array.isArray(body) ? body : (body as { qualifications?: unknown } | null)?.qualifications;
  if (!Array.isArray(list)) {
    throw badResponse(upstream, `expected an array of qualifications for customer ${customerId}`);
  }
  return list.map((item, index) => {
    const parsed = parseQualification(item);
    if (!parsed) throw badResponse(upstream, `item ${index} has no string "qualification"`);
    return parsed;
  });
}

export function parseQualification(item: unknown): WireQualification | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const record = item as Record<string, unknown>;
  if (typeof record.qualification !== 'string') return undefined;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  return {
    qualification: record.qualification,
    vettingStatus: text(record.vettingStatus),
    vettingReason: text(record.vettingReason),
    // Partner Center spells this key both ways depending on the deployment.
    vettingCreatedDate: text(record.vettingCreatedDate) ?? text(record.vettingCreateDate),
  };
}
