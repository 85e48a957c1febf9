// Owns the Qualification type, its enums (one described GraphQL value for each
// of src/domain/qualification.ts's values, which maps the wire's), the DateTime
// scalar and the reading of Partner Center's dates. Unknown values never fail a request.

import { parseWireDate } from '../domain/dates';
import { type Kind, kindOf, type Status, vettingStatusOf } from '../domain/qualification';
import type { WireQualification } from '../partner-center/qualifications';
import { builder } from './builder';

export const DateTimeScalar = builder.scalarType('DateTime', {
  description:
    'A point in time, written as ISO 8601 in UTC with milliseconds (2021-05-06T19:59:56.683Z). Partner Center sends up to 7 fractional digits and an offset; they are normalised.',
  serialize: (value) => (typeof value === 'string' ? value : value.toISOString()),
  parseValue: (value) => {
    const date = typeof value === 'string' ? parseWireDate(value) : null;
    if (!date) throw new TypeError(`DateTime expects an ISO 8601 string, got ${JSON.stringify(value)}`);
    return date;
  },
});

export const QualificationKind = builder.enumType('QualificationKind', {
  description:
    'What a customer qualifies as, in Partner Center terms. Partner Center adds new qualifications without notice: those arrive as OTHER, with the name in Qualification.qualification.',
  values: {
    EDUCATION: {
      description:
        'An academic institution (K-12 or higher education). Partner Center vets it; it can be added with addCustomerQualification and an educationSegment.',
    },
    NONPROFIT: {
      description:
        "A nonprofit organisation. Granted by Microsoft's nonprofit programme; it cannot be added through this API.",
    },
    GOVERNMENT_COMMUNITY_CLOUD: {
      description:
        'Eligible for Government Community Cloud (US public sector). It can be added with a validationCode from the GCC validation.',
    },
    STATE_OWNED_ENTITY: {
      description: 'A state-owned entity. It carries no vetting status; it can be added with no further data.',
    },
    OTHER: {
      description: 'A qualification this gateway does not know yet; the raw name is in Qualification.qualification.',
    },
  } as const satisfies Record<Kind, { description: string }>,
});

export const VettingStatus = builder.enumType('VettingStatus', {
  description: "Where Partner Center's vetting of a qualification stands.",
  values: {
    APPROVED: { description: 'Vetting is done and the customer holds the qualification.' },
    IN_REVIEW: {
      description:
        'Partner Center is still verifying the customer (for example its academic domain); the qualification is not yet granted.',
    },
    DENIED: {
      description:
        'Partner Center refused the qualification; vettingReason says why (for example "Not an Academic Domain").',
    },
    UNKNOWN: { description: 'A status this gateway does not know yet; Partner Center adds new ones without notice.' },
  } as const satisfies Record<Status, { description: string }>,
});

export const EducationSegment = builder.enumType('EducationSegment', {
  description: 'Which kind of academic institution an Education qualification is for.',
  values: {
    K12: { description: 'Primary and secondary schools (Partner Center: "K12").' },
    HIGHER_EDUCATION: { description: 'Colleges and universities (Partner Center: "HigherEducation").' },
  } as const,
});

/**
 * A date the resolvers write again for every request (a snapshot's syncedAt, vettingCreatedDate, dateAgreed), as
 * DateTime writes it, worked out once per object that holds it: the snapshot's objects live until the sync replaces
 * them, and each page asked for them read, parsed and wrote the same dates again (new Date, toISOString).
 */
export function isoOf<T extends object>(read: (holder: T) => Date | null): (holder: T) => string | null {
  const written = new WeakMap<T, string | null>();
  return (holder) => {
    let iso = written.get(holder);
    if (iso === undefined) {
      iso = read(holder)?.toISOString() ?? null;
      written.set(holder, iso);
    }
    return iso;
  };
}

const vettingCreatedOf = isoOf((q: WireQualification) =>
  q.vettingCreatedDate === null ? null : parseWireDate(q.vettingCreatedDate),
);

export const QualificationRef = builder.objectRef<WireQualification>('Qualification').implement({
  description: "One qualification a customer holds or has applied for, with Partner Center's vetting of it.",
  fields: (t) => ({
    qualification: t.exposeString('qualification', {
      description:
        'The qualification\'s name exactly as Partner Center sent it, e.g. "Education" or "GovernmentCommunityCloud"; also for names the gateway does not know (kind OTHER).',
    }),
    kind: t.field({
      type: QualificationKind,
      description: 'The qualification as an enum; OTHER for a name this gateway does not know yet.',
      resolve: (q) => kindOf(q.qualification),
    }),
    vettingStatus: t.field({
      type: VettingStatus,
      nullable: true,
      description:
        'Where vetting stands; null when Partner Center sends none (StateOwnedEntity is never vetted). UNKNOWN for a status this gateway does not know yet.',
      resolve: (q) => vettingStatusOf(q.vettingStatus),
    }),
    vettingReason: t.exposeString('vettingReason', {
      nullable: true,
      description:
        'Why vetting ended as it did, as Partner Center words it (e.g. "Not an Education Customer"); usually set with DENIED.',
    }),
    vettingCreatedDate: t.field({
      type: DateTimeScalar,
      nullable: true,
      description:
        'When vetting started, in UTC. Partner Center spells the key vettingCreatedDate or vettingCreateDate; both are read. Null when absent or unreadable.',
      resolve: vettingCreatedOf,
    }),
  }),
});
