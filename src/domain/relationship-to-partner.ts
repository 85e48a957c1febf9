// Owns the customer's relationship to the partner as the gateway names it (the
// values of the GraphQL enum in src/schema/relationship-to-partner.ts) and the
// mapping from Partner Center's wire values to it. Unknown values become UNKNOWN; they never fail a request.

import { remembered } from './qualification';

export const RELATIONSHIPS = ['NONE', 'RESELLER', 'ADVISOR', 'SYNDICATION', 'MICROSOFT_SUPPORT', 'UNKNOWN'] as const;
export type Relationship = (typeof RELATIONSHIPS)[number];

const RELATIONSHIP_BY_WIRE_NAME = {
  none: 'NONE',
  reseller: 'RESELLER',
  advisor: 'ADVISOR',
  syndication: 'SYNDICATION',
  microsoftsupport: 'MICROSOFT_SUPPORT',
} as const;

/** reseller -> RESELLER, microsoft_support (or MicrosoftSupport) -> MICROSOFT_SUPPORT; none sent -> null; anything else -> UNKNOWN. */
export function relationshipOf(wire: string | null): Relationship | null {
  return wire === null ? null : relationshipOfWire(wire);
}

const relationshipOfWire = remembered((wire: string): Relationship => {
  // Case, underscores and hyphens are ignored: deployments write both "microsoft_support" and "MicrosoftSupport".
  const key = wire.toLowerCase().replace(/[_-]/g, '') as keyof typeof RELATIONSHIP_BY_WIRE_NAME;
  return Object.hasOwn(RELATIONSHIP_BY_WIRE_NAME, key) ? RELATIONSHIP_BY_WIRE_NAME[key] : 'UNKNOWN';
});
