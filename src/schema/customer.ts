// Owns the Customer type (a federation entity keyed by id) and the root fields
// that return it. Customer fields load lazily through the per-request loaders,
// so a field that is not selected costs no upstream call.

import { orStale } from '../customer-base/stale';
import { type StoredCustomer, syncedAtOf } from '../customer-base/store';
import { BadUserInputError, ForbiddenError, NotSupportedInCloudError } from '../domain/errors';
import { canonicalCustomerId } from '../domain/guid';
import { relationshipOf } from '../domain/relationship-to-partner';
import type { WireQualification } from '../partner-center/qualifications';
import type { Context } from '../request/context';
import { builder } from './builder';
import { DateTimeScalar, isoOf, QualificationRef } from './qualification';
import { RelationshipToPartner } from './relationship-to-partner';

export interface CustomerParent {
  /** Canonical customer tenant id: lower case, no braces. */
  readonly id: string;
  /** A customer of customerBase: every field comes from the snapshot, with no upstream call. */
  readonly snapshot?: StoredCustomer;
}

/** A snapshot customer's qualifications when it holds none: the stored list itself is answered, never copied. */
const NONE: readonly WireQualification[] = [];

const syncedAtIsoOf = isoOf((stored: StoredCustomer) => {
  const at = syncedAtOf(stored);
  return at === undefined ? null : new Date(at);
});

export const CustomerRef = builder.objectRef<CustomerParent>('Customer').implement({
  description:
    'A customer tenant of the calling partner in Partner Center. Fields are fetched from Partner Center only when selected; each one fails on its own (see errors[].extensions.code).',
  fields: (t) => ({
    id: t.exposeID('id', {
      description: 'The customer tenant id (Microsoft ID), a GUID in canonical form: lower case, no braces.',
    }),
    qualifications: t.field({
      type: [QualificationRef],
      description:
        'Qualifications the customer holds or has applied for (Education, Nonprofit, Government Community Cloud, State Owned Entity, and any new ones), with their vetting. Empty when it has none. A customer that does not exist fails here with NOT_FOUND.',
      resolve: (customer, _args, ctx, info) =>
        customer.snapshot
          ? (customer.snapshot.qualifications ?? NONE)
          : orStale(() => ctx.loaders.qualifications.load(customer.id), {
              store: ctx.customerBase?.store,
              maxAgeSeconds: ctx.config.staleIfErrorSeconds,
              id: customer.id,
              pick: (stored) =>
                stored.qualifications && stored.qualificationsAt !== undefined
                  ? { value: [...stored.qualifications], at: stored.qualificationsAt }
                  : undefined,
              cached: () => ctx.lastGood('qualifications', customer.id),
              context: ctx,
              info,
            }),
    }),
    mcaDirectlySigned: t.boolean({
      nullable: true,
      description:
        'Whether the customer directly signed (accepted) the Microsoft Customer Agreement. Null, with an error, when it cannot be known: FORBIDDEN without an active reseller relationship or with an app-only token (Partner Center needs App+User), NOT_SUPPORTED_IN_CLOUD in the 21Vianet and US Government clouds.',
      resolve: async (customer, _args, ctx, info) => {
        // From the snapshot: null, with no error, while unknown.
        if (customer.snapshot) return customer.snapshot.mca ?? null;
        const refused = refusalWithoutCall(ctx, 'mcaDirectlySigned');
        if (refused) return refused;
        return orStale(() => ctx.loaders.mcaDirectlySigned.load(customer.id), {
          store: ctx.customerBase?.store,
          maxAgeSeconds: ctx.config.staleIfErrorSeconds,
          id: customer.id,
          pick: (stored) =>
            typeof stored.mca === 'boolean' && stored.mcaAt !== undefined
              ? { value: stored.mca, at: stored.mcaAt }
              : undefined,
          cached: () => ctx.lastGood('mca_status', customer.id),
          context: ctx,
          info,
        });
      },
    }),
    companyName: t.string({
      nullable: true,
      description:
        "The customer's company name (companyProfile.companyName); null when Partner Center sends none. Free for customers read from customerList; otherwise one GET /customers/{id} per customer per request, shared with domain and relationshipToPartner.",
      resolve: async (customer, _args, ctx) =>
        (customer.snapshot ?? (await ctx.loaders.customer.load(customer.id))).companyName,
    }),
    domain: t.string({
      nullable: true,
      description:
        "The customer's domain (companyProfile.domain), e.g. contoso.onmicrosoft.com; null when Partner Center sends none. Costs like companyName.",
      resolve: async (customer, _args, ctx) =>
        (customer.snapshot ?? (await ctx.loaders.customer.load(customer.id))).domain,
    }),
    relationshipToPartner: t.field({
      type: RelationshipToPartner,
      nullable: true,
      description:
        'How the customer is related to the calling partner; UNKNOWN for a value this gateway does not know yet, null when Partner Center sends none. Costs like companyName.',
      resolve: async (customer, _args, ctx) =>
        relationshipOf((customer.snapshot ?? (await ctx.loaders.customer.load(customer.id))).relationshipToPartner),
    }),
    syncedAt: t.field({
      type: DateTimeScalar,
      nullable: true,
      description:
        'When its data was read by the background sync: the oldest of its qualifications, MCA status and MCA agreements reads. Null outside customerBase, and for a customer not synced yet.',
      resolve: (customer) => (customer.snapshot ? syncedAtIsoOf(customer.snapshot) : null),
    }),
  }),
});

builder.asEntity(CustomerRef, {
  key: builder.selection<{ id: string }>('id'),
  // Async so that a bad representation rejects only its own entity, not the whole _entities list.
  // A representation is any JSON (_Any): an id that is not a string is malformed, not a crash.
  resolveReference: async (reference) => {
    const raw: unknown = reference.id;
    return { id: parseCustomerId(typeof raw === 'string' ? raw : String(JSON.stringify(raw)), 'id') };
  },
});

/**
 * The refusals of the MCA's reads that cost no call: another cloud (NOT_SUPPORTED_IN_CLOUD) and an app-only token
 * (FORBIDDEN, once the caller is known to be allowed to read at all). Undefined, at once, when the read may go: the
 * resolver then starts its load in the same tick as the other fields', as DataLoader's batching and the request's
 * one answer expect.
 */
export function refusalWithoutCall(ctx: Context, field: string): Promise<never> | undefined {
  if (ctx.config.cloud !== 'public') {
    return Promise.reject(
      new NotSupportedInCloudError(
        `${field} is available in the public cloud only; this gateway serves the ${ctx.config.cloud} cloud.`,
      ),
    );
  }
  if (ctx.tokenKind !== 'app-only') return undefined;
  // Who asks comes first: an unverified caller of a gateway signed in app-only is UNAUTHENTICATED.
  return ctx.access.read().then(() => {
    throw new ForbiddenError(
      ctx.config.signIn.mode === 'app'
        ? `${field} needs an App+User token; this gateway signs in app-only (PARTNER_CENTER_AUTH=app).`
        : `${field} needs an App+User token; the token sent is app-only.`,
    );
  });
}

/** The canonical id (lower case, no braces), or BAD_USER_INPUT naming what arrived (before any upstream call). */
export function parseCustomerId(raw: string, argument: string): string {
  const id = canonicalCustomerId(raw);
  if (id !== undefined) return id;
  throw new BadUserInputError(
    `${argument}: expected a customer tenant id as a GUID (e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6), got ${JSON.stringify(raw.slice(0, 80))}.`,
    { invalidId: raw.slice(0, 100) },
  );
}

builder.queryType({
  description: 'Reads customers of the calling partner from Partner Center.',
});

builder.queryField('customer', (t) =>
  t.field({
    type: CustomerRef,
    nullable: true,
    description:
      'One customer by tenant id (any case, with or without braces). Makes no upstream call by itself: a customer that does not exist shows up as NOT_FOUND on the first field that needs Partner Center.',
    args: {
      id: t.arg.id({ required: true, description: 'The customer tenant id, a GUID.' }),
    },
    resolve: (_root, args) => ({ id: parseCustomerId(args.id, 'id') }),
  }),
);

builder.queryField('customers', (t) =>
  t.field({
    type: [CustomerRef],
    nullable: { list: false, items: true },
    description:
      'Many customers at once, in the order of ids; duplicates are allowed and cost nothing extra (each customer is fetched once per request). An item is null when its id is malformed (BAD_USER_INPUT at ["customers", i], no upstream call) or when one of its non-null fields failed; the error names its path, and the other items resolve. The batch entry point for schema stitching.',
    args: {
      ids: t.arg.idList({
        required: true,
        description:
          'Customer tenant ids (GUIDs, any case, braces allowed). At most 100 by default, duplicates counted.',
      }),
    },
    resolve: (_root, args, ctx) => {
      if (args.ids.length > ctx.config.maxIds) {
        throw new BadUserInputError(`ids: at most ${ctx.config.maxIds} ids are accepted, got ${args.ids.length}.`, {
          maxIds: ctx.config.maxIds,
        });
      }
      // A malformed id fails only its own item: a rejected item is null with its error at ["customers", i], and
      // the other items resolve as usual.
      return args.ids.map((raw, index) => {
        try {
          return { id: parseCustomerId(raw, `ids[${index}]`) };
        } catch (error) {
          return Promise.reject(error);
        }
      });
    },
  }),
);
