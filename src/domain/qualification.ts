// Owns the qualification kinds and vetting statuses as the gateway names them
// (the values of the GraphQL enums in src/schema/qualification.ts) and the
// mapping from Partner Center's wire values to them. Unknown values never fail a request.

export const KINDS = ['EDUCATION', 'NONPROFIT', 'GOVERNMENT_COMMUNITY_CLOUD', 'STATE_OWNED_ENTITY', 'OTHER'] as const;
export const STATUSES = ['APPROVED', 'IN_REVIEW', 'DENIED', 'UNKNOWN'] as const;
export type Kind = (typeof KINDS)[number];
export type Status = (typeof STATUSES)[number];

const KIND_BY_WIRE_NAME = {
  education: 'EDUCATION',
  nonprofit: 'NONPROFIT',
  governmentcommunitycloud: 'GOVERNMENT_COMMUNITY_CLOUD',
  stateownedentity: 'STATE_OWNED_ENTITY',
} as const;

const STATUS_BY_WIRE_NAME = {
  approved: 'APPROVED',
  inreview: 'IN_REVIEW',
  denied: 'DENIED',
} as const;

/** Education -> EDUCATION, ...; case-insensitive; anything else -> OTHER. */
export function kindOf(wireName: string): Kind {
  const key = wireName.toLowerCase() as keyof typeof KIND_BY_WIRE_NAME;
  return Object.hasOwn(KIND_BY_WIRE_NAME, key) ? KIND_BY_WIRE_NAME[key] : 'OTHER';
}

/** Approved/InReview/Denied -> APPROVED/IN_REVIEW/DENIED; none -> null; anything else -> UNKNOWN. */
export function vettingStatusOf(wireStatus: string | null) {
  if (wireStatus === null) return null;
  const key = wireStatus.toLowerCase() as keyof typeof STATUS_BY_WIRE_NAME;
  return Object.hasOwn(STATUS_BY_WIRE_NAME, key) ? STATUS_BY_WIRE_NAME[key] : 'UNKNOWN';
}
