// Owns customerBase: questions about every customer of the partner answered
// from the background sync's snapshot with no upstream call: how far the sync
// is, summary counts, and a filtered, ordered page of customers.

import {
  baseCursorsFor,
  type CustomerFilter,
  decodeBaseCursor,
  filterProblem,
  type OrderKey,
  orderKeyOf,
  pageIn,
  type Summary,
  summarise,
} from '../customer-base/query';
import type { StoredCustomer } from '../customer-base/store';
import { BadUserInputError, GatewayError } from '../domain/errors';
import type { Context } from '../request/context';
import { builder } from './builder';
import type { CustomerParent } from './customer';
import { CustomerConnectionRef, type CustomerPage } from './customer-list';
import { DateTimeScalar, QualificationKind, VettingStatus } from './qualification';
import { RelationshipToPartner } from './relationship-to-partner';

const MAX_FIRST = 100;

export class SyncNotEnabledError extends GatewayError {
  constructor(what = 'customerBase') {
    super(
      'SYNC_NOT_ENABLED',
      `${what} needs the background sync: set SYNC_RATE_PER_MINUTE (with PARTNER_CENTER_AUTH=app-user or app).`,
    );
  }
}

const CustomerFilterInput = builder.inputType('CustomerFilter', {
  description: 'Which customers of the snapshot to count or list; every field given must hold.',
  fields: (t) => ({
    mcaDirectlySigned: t.boolean({
      required: false,
      description: 'Signed (true) or not signed (false) the MCA directly; an unknown status matches neither.',
    }),
    mcaAccepted: t.boolean({
      required: false,
      description:
        'Accepted the MCA (true: signed directly or attested by the partner) or not (false: orders for it fail); an unknown acceptance matches neither.',
    }),
    qualification: t.field({
      type: QualificationKind,
      required: false,
      description: 'Holds a qualification of this kind.',
    }),
    vettingStatus: t.field({
      type: VettingStatus,
      required: false,
      description: "With qualification: that qualification's vetting status; alone: any qualification's.",
    }),
    companyNameStartsWith: t.string({
      required: false,
      description: 'The company name starts with this, case-insensitive.',
    }),
    relationshipToPartner: t.field({ type: RelationshipToPartner, required: false, description: 'The relationship.' }),
  }),
});

/** The filter `where` asks for, or BAD_USER_INPUT naming what it cannot take. */
function filterOf(where: unknown): CustomerFilter {
  const filter = (where ?? {}) as CustomerFilter;
  const problem = filterProblem(filter);
  if (problem) throw new BadUserInputError(`where: ${problem}`);
  return filter;
}

interface SyncStatusShape {
  readonly enabled: boolean;
  readonly customersKnown: number;
  readonly customersSynced: number;
  readonly lastPassCompletedAt: Date | null;
  readonly oldestSyncedAt: Date | null;
}

const SyncStatusRef = builder.objectRef<SyncStatusShape>('SyncStatus').implement({
  description: 'How far the background sync is.',
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled', {
      description: 'Whether the background sync runs (SYNC_RATE_PER_MINUTE > 0).',
    }),
    customersKnown: t.exposeInt('customersKnown', { description: 'Customers in the latest list read.' }),
    customersSynced: t.exposeInt('customersSynced', {
      description:
        'Of those, customers with every fact within its age: SYNC_MAX_AGE_MINUTES, or SYNC_SETTLED_MAX_AGE_HOURS for an accepted MCA.',
    }),
    lastPassCompletedAt: t.field({
      type: DateTimeScalar,
      nullable: true,
      description: 'When the last whole pass ended; null before the first.',
      resolve: (status) => status.lastPassCompletedAt,
    }),
    oldestSyncedAt: t.field({
      type: DateTimeScalar,
      nullable: true,
      description: 'The syncedAt of the synced customer read longest ago.',
      resolve: (status) => status.oldestSyncedAt,
    }),
  }),
});

const QualificationCountRef = builder.objectRef<Summary['qualifications'][number]>('QualificationCount').implement({
  description: 'How many qualifications of one kind and vetting status the matching customers hold.',
  fields: (t) => ({
    kind: t.field({ type: QualificationKind, resolve: (count) => count.kind, description: 'The kind.' }),
    vettingStatus: t.field({
      type: VettingStatus,
      nullable: true,
      resolve: (count) => count.vettingStatus,
      description: 'The vetting status; null for qualifications without one (StateOwnedEntity).',
    }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

const SummaryRef = builder.objectRef<Summary>('CustomerBaseSummary').implement({
  description: 'Counts over the matching customers of the snapshot.',
  fields: (t) => ({
    customers: t.exposeInt('customers', { description: 'Matching customers.' }),
    mcaSigned: t.exposeInt('mcaSigned', { description: 'Of those, customers that directly signed the MCA.' }),
    mcaNotSigned: t.exposeInt('mcaNotSigned', { description: 'Of those, customers that did not.' }),
    mcaUnknown: t.exposeInt('mcaUnknown', { description: 'Not read yet, refused (403) or not supported.' }),
    mcaAccepted: t.exposeInt('mcaAccepted', {
      description: 'Of those, customers that accepted the MCA: signed it directly, or attested by the partner.',
    }),
    mcaNotAccepted: t.exposeInt('mcaNotAccepted', {
      description: 'Of those, customers that did neither: orders for these customers fail.',
    }),
    mcaAcceptanceUnknown: t.exposeInt('mcaAcceptanceUnknown', {
      description: 'Acceptance not read yet, refused (403) or not supported.',
    }),
    qualifications: t.field({
      type: [QualificationCountRef],
      description: "One per (kind, vettingStatus) present, in the enums' order, a null status first.",
      resolve: (summary) => summary.qualifications,
    }),
  }),
});

type CustomerBaseParent = Record<string, never>;

export const CustomerBaseRef = builder.objectRef<CustomerBaseParent>('CustomerBase').implement({
  description:
    "The whole customer base, from the background sync's snapshot: reading it makes no upstream call. Before the first pass ends it answers what is known, and sync says how much that is.",
  fields: (t) => ({
    sync: t.field({
      type: SyncStatusRef,
      description: 'How far the background sync is.',
      resolve: (_parent, _args, ctx) => {
        const status = baseOf(ctx).sync.status();
        return {
          enabled: true,
          customersKnown: status.known,
          customersSynced: status.synced,
          lastPassCompletedAt: status.lastPassCompletedAt === undefined ? null : new Date(status.lastPassCompletedAt),
          oldestSyncedAt: status.oldestSyncedAt === undefined ? null : new Date(status.oldestSyncedAt),
        };
      },
    }),
    summary: t.field({
      type: SummaryRef,
      description: 'Counts over the customers matching `where` (all of them without it).',
      args: { where: t.arg({ type: CustomerFilterInput, required: false, description: 'Which customers.' }) },
      resolve: (_parent, args, ctx) => summarise(baseOf(ctx).store.all(), filterOf(args.where)),
    }),
    customers: t.field({
      type: CustomerConnectionRef,
      description:
        'The customers matching `where`, by company name (case-insensitive, code-point order), then id; customers without a name last. Every field of a node comes from the snapshot.',
      args: {
        first: t.arg.int({ defaultValue: 50, description: `How many, 1 to ${MAX_FIRST} (default 50).` }),
        after: t.arg.string({ required: false, description: 'A cursor of this field, made with the same `where`.' }),
        where: t.arg({ type: CustomerFilterInput, required: false, description: 'Which customers.' }),
      },
      resolve: (_parent, args, ctx): CustomerPage => {
        const first = args.first ?? 50;
        if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
          throw new BadUserInputError(`first must be 1 to ${MAX_FIRST}, got ${first}.`, { min: 1, max: MAX_FIRST });
        }
        const filter = filterOf(args.where);
        const after = args.after ? decodeBaseCursor(args.after, filter) : undefined;
        const page = pageIn(baseOf(ctx).store, filter, after, first);
        // Cursors (two SHA-256 digests each) are made only when asked for: a dashboard reads the nodes and one
        // endCursor, not 50 cursors.
        const cursorOf = baseCursorsFor(filter);
        const edges = page.customers.map((customer) => new SnapshotEdge(customer, cursorOf));
        return {
          edges,
          hasNextPage: page.hasNextPage,
          get endCursor() {
            return edges.at(-1)?.cursor ?? null;
          },
        };
      },
    }),
  }),
});

/** An edge of customerBase.customers: its node from the snapshot, its cursor made on first read. */
class SnapshotEdge {
  readonly node: CustomerParent;
  readonly #customer: StoredCustomer;
  readonly #cursorOf: (key: OrderKey) => string;
  #cursor: string | undefined;
  constructor(customer: StoredCustomer, cursorOf: (key: OrderKey) => string) {
    this.node = { id: customer.id, snapshot: customer };
    this.#customer = customer;
    this.#cursorOf = cursorOf;
  }
  get cursor(): string {
    this.#cursor ??= this.#cursorOf(orderKeyOf(this.#customer));
    return this.#cursor;
  }
}

export function baseOf(ctx: Context, what?: string) {
  if (!ctx.customerBase) throw new SyncNotEnabledError(what);
  return ctx.customerBase;
}

builder.queryField('customerBase', (t) =>
  t.field({
    type: CustomerBaseRef,
    description:
      "Questions about every customer at once (who has not signed the MCA, which Education vettings are in review), answered from the background sync's snapshot. SYNC_NOT_ENABLED while the sync is off.",
    resolve: async (_root, _args, ctx) => {
      baseOf(ctx);
      await ctx.access.readSnapshot();
      return {};
    },
  }),
);
