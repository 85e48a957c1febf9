// Owns the RelationshipToPartner enum and the mapping from Partner Center's
// wire values to it. Unknown values become UNKNOWN; they never fail a request.

import { builder } from './builder';

export const RelationshipToPartner = builder.enumType('RelationshipToPartner', {
  description:
    "How the customer is related to the calling partner in Partner Center (the customer's relationshipToPartner). Partner Center adds values without notice: those arrive as UNKNOWN.",
  values: {
    NONE: { description: 'No relationship (Partner Center: "none").' },
    RESELLER: {
      description:
        'The partner resells to the customer (Partner Center: "reseller"); needed for mcaDirectlySigned and most customer operations.',
    },
    ADVISOR: { description: 'The partner advises the customer without reselling (Partner Center: "advisor").' },
    SYNDICATION: { description: 'A syndication relationship (Partner Center: "syndication").' },
    MICROSOFT_SUPPORT: {
      description: 'The relationship is held for Microsoft support (Partner Center: "microsoft_support").',
    },
    UNKNOWN: {
      description: 'A relationship this gateway does not know yet; Partner Center adds new ones without notice.',
    },
  } as const,
});

const RELATIONSHIP_BY_WIRE_NAME = {
  none: 'NONE',
  reseller: 'RESELLER',
  advisor: 'ADVISOR',
  syndication: 'SYNDICATION',
  microsoftsupport: 'MICROSOFT_SUPPORT',
} as const;

/** reseller -> RESELLER, microsoft_support (or MicrosoftSupport) -> MICROSOFT_SUPPORT; none sent -> null; anything else -> UNKNOWN. */
export function relationshipOf(wire: string | null) {
  if (wire === null) return null;
  // Case, underscores and hyphens are ignored: deployments write both "microsoft_support" and "MicrosoftSupport".
  const key = wire.toLowerCase().replace(/[_-]/g, '') as keyof typeof RELATIONSHIP_BY_WIRE_NAME;
  return Object.hasOwn(RELATIONSHIP_BY_WIRE_NAME, key) ? RELATIONSHIP_BY_WIRE_NAME[key] : 'UNKNOWN';
}
