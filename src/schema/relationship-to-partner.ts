// Owns the RelationshipToPartner enum: one described GraphQL value for each of
// src/domain/relationship-to-partner.ts's values, which maps the wire's.

import type { Relationship } from '../domain/relationship-to-partner';
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
  } as const satisfies Record<Relationship, { description: string }>,
});
