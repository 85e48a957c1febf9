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
export const kindOf = remembered((wireName: string): Kind => {
  const key = wireName.toLowerCase() as keyof typeof KIND_BY_WIRE_NAME;
  return Object.hasOwn(KIND_BY_WIRE_NAME, key) ? KIND_BY_WIRE_NAME[key] : 'OTHER';
});

/** Approved/InReview/Denied -> APPROVED/IN_REVIEW/DENIED; none -> null; anything else -> UNKNOWN. */
const statusOf = remembered((wireStatus: string): Status => {
  const key = wireStatus.toLowerCase() as keyof typeof STATUS_BY_WIRE_NAME;
  return Object.hasOwn(STATUS_BY_WIRE_NAME, key) ? STATUS_BY_WIRE_NAME[key] : 'UNKNOWN';
});

export function vettingStatusOf(wireStatus: string | null): Status | null {
  return wireStatus === null ? null : statusOf(wireStatus);
}

/**
 * `map` with its answers kept for the first 256 distinct wire values: Partner Center sends a handful, read for every
 * qualification of every node of a page and every customer of a summary, each read lower-casing a string. Past 256
 * (made-up values) it maps without keeping.
 */
export function remembered<T>(map: (wire: string) => T): (wire: string) => T {
  const known = new Map<string, T>();
  return (wire) => {
    let value = known.get(wire);
    if (value === undefined) {
      value = map(wire);
      if (known.size < 256) known.set(wire, value);
    }
    return value;
  };
}
