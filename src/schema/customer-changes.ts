// Owns the customer base's changes in GraphQL: the CustomerChange type and
// its enums, customerBase.changes (a page of the change log, oldest first)
// and Subscription.customerChanges (the kept changes after a cursor, then
// each new one; over GraphQL over SSE and graphql-ws), with their cursors,
// filter, refusals and the end of a stream when its caller's token expires.

import { createHash } from 'node:crypto';
import type { CHANGE_KINDS, ChangeFilter, RecordedChange } from '../customer-base/change';
import { type ChangeLog, isChangeId } from '../customer-base/change-log';
import { BadUserInputError, GatewayError, UnauthenticatedError } from '../domain/errors';
import type { Context } from '../request/context';
import { builder } from './builder';
import { parseCustomerId } from './customer';
import { baseOf, CustomerBaseRef } from './customer-base';
import { PageInfoRef } from './customer-list';
import { DateTimeScalar, QualificationKind, VettingStatus } from './qualification';

const MAX_FIRST = 100;

const CustomerChangeKind = builder.enumType('CustomerChangeKind', {
  description: 'What changed of a customer.',
  values: {
    CUSTOMER_LISTED: { description: 'It appeared in the customer list (after the first completed pass).' },
    CUSTOMER_DROPPED: { description: 'It is no longer listed.' },
    QUALIFICATION_ADDED: { description: 'It holds a qualification it did not hold.' },
    QUALIFICATION_REMOVED: { description: 'It no longer holds a qualification.' },
    VETTING_STATUS_CHANGED: { description: "A qualification's vetting status changed, e.g. IN_REVIEW -> APPROVED." },
    MCA_ACCEPTED: { description: 'mcaAcceptance.accepted went from false to true: orders for it can be placed.' },
    MCA_NOT_ACCEPTED: { description: 'mcaAcceptance.accepted went from true to false: orders for it fail.' },
  } satisfies Record<(typeof CHANGE_KINDS)[number], unknown>,
});

const CustomerChangeSource = builder.enumType('CustomerChangeSource', {
  description: 'Who found the change.',
  values: {
    SYNC: { description: "The background sync's read found it." },
    GATEWAY: { description: 'A mutation through this gateway made it.' },
  } as const,
});

interface ChangeEdge {
  readonly cursor: string;
  readonly node: RecordedChange;
}

const CustomerChangeRef = builder.objectRef<RecordedChange>('CustomerChange').implement({
  description:
    'One change of the customer base, recorded by the gateway: Partner Center sends no event for these, so the gateway finds them by reading every customer in the background (and records its own mutations at once).',
  fields: (t) => ({
    cursor: t.string({
      description: 'Opaque; feeds `after` of customerBase.changes and of the customerChanges subscription.',
      resolve: (change) => encodeChangeCursor(change.id),
    }),
    at: t.field({
      type: DateTimeScalar,
      description: 'When the gateway recorded it.',
      resolve: (change) => new Date(change.at),
    }),
    kind: t.field({ type: CustomerChangeKind, description: 'What changed.', resolve: (change) => change.kind }),
    source: t.field({ type: CustomerChangeSource, description: 'Who found it.', resolve: (change) => change.source }),
    customerId: t.id({ description: 'The customer tenant id.', resolve: (change) => change.customerId }),
    companyName: t.string({
      nullable: true,
      description: "The customer's company name as stored when the change was recorded.",
      resolve: (change) => change.companyName,
    }),
    qualification: t.string({
      nullable: true,
      description: 'The upstream name, for QUALIFICATION_* and VETTING_STATUS_CHANGED.',
      resolve: (change) => change.qualification ?? null,
    }),
    qualificationKind: t.field({
      type: QualificationKind,
      nullable: true,
      description: 'The qualification as an enum, for QUALIFICATION_* and VETTING_STATUS_CHANGED.',
      resolve: (change) => change.qualificationKind ?? null,
    }),
    vettingStatusBefore: t.field({
      type: VettingStatus,
      nullable: true,
      description: 'The status before, for VETTING_STATUS_CHANGED and QUALIFICATION_REMOVED.',
      resolve: (change) => change.vettingStatusBefore ?? null,
    }),
    vettingStatus: t.field({
      type: VettingStatus,
      nullable: true,
      description: 'The status now, for VETTING_STATUS_CHANGED and QUALIFICATION_ADDED.',
      resolve: (change) => change.vettingStatus ?? null,
    }),
  }),
});

const CustomerChangeEdgeRef = builder.objectRef<ChangeEdge>('CustomerChangeEdge').implement({
  description: 'A change and its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Feeds `after`.' }),
    node: t.field({ type: CustomerChangeRef, description: 'The change.', resolve: (edge) => edge.node }),
  }),
});

interface ChangePage {
  readonly edges: readonly ChangeEdge[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

const CustomerChangeConnectionRef = builder.objectRef<ChangePage>('CustomerChangeConnection').implement({
  description: 'A page of the change log, oldest first.',
  fields: (t) => ({
    edges: t.field({
      type: [CustomerChangeEdgeRef],
      description: 'The changes with their cursors.',
      resolve: (page) => page.edges,
    }),
    nodes: t.field({
      type: [CustomerChangeRef],
      description: 'The changes.',
      resolve: (page) => page.edges.map((edge) => edge.node),
    }),
    pageInfo: t.field({ type: PageInfoRef, description: 'Whether more follow.', resolve: (page) => page }),
  }),
});

const CustomerChangeFilterInput = builder.inputType('CustomerChangeFilter', {
  description: 'Which changes; every field given must hold.',
  fields: (t) => ({
    kinds: t.field({ type: [CustomerChangeKind], required: false, description: 'Any of these kinds.' }),
    customerId: t.id({ required: false, description: "This customer's changes." }),
    qualification: t.field({
      type: QualificationKind,
      required: false,
      description: 'Changes of a qualification of this kind.',
    }),
  }),
});

function filterOf(
  where:
    | { kinds?: readonly string[] | null; customerId?: string | number | null; qualification?: string | null }
    | null
    | undefined,
): ChangeFilter {
  if (!where) return {};
  return {
    kinds: (where.kinds ?? null) as ChangeFilter['kinds'],
    customerId: where.customerId == null ? null : parseCustomerId(String(where.customerId), 'where.customerId'),
    qualification: (where.qualification ?? null) as ChangeFilter['qualification'],
  };
}

const check = (id: string) =>
  createHash('sha256').update(`customerChanges cursor:${id}`).digest('base64url').slice(0, 12);

export function encodeChangeCursor(id: string): string {
  return `${Buffer.from(id, 'utf8').toString('base64url')}.${check(id)}`;
}

/** How long after it was issued by another replica a cursor may be unknown here: that replica's Stream read lags. */
const MIRROR_LAG_MS = 5_000;

/** The change id of a cursor this log issued and still keeps; BAD_USER_INPUT (CURSOR_EXPIRED when dropped) otherwise. */
export function decodeChangeCursor(cursor: string, log: ChangeLog): string {
  const refuse = (why: string) =>
    new BadUserInputError(`after: not a cursor of customer changes (${why}); pass a cursor a change carried.`);
  const match = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{12})$/.exec(cursor);
  if (!match?.[1]) throw refuse('malformed');
  const id = Buffer.from(match[1], 'base64url').toString('utf8');
  if (!isChangeId(id) || check(id) !== match[2]) throw refuse('it was altered or made up');
  const standing = log.standing(id);
  if (standing === 'expired') {
    throw new BadUserInputError(
      'after: this cursor is older than the changes kept (CHANGES_RETENTION_DAYS, CHANGES_MAX): read customerBase afresh, then follow from a new cursor.',
      { reason: 'CURSOR_EXPIRED' },
    );
  }
  if (standing === 'unknown') {
    const newest = log.newestId();
    const issuedAt = Number(id.split('-')[0]);
    const newer = newest === undefined || Number(newest.split('-')[0]) <= issuedAt;
    if (!(newer && issuedAt <= Date.now() && Date.now() - issuedAt < MIRROR_LAG_MS)) throw refuse('never issued');
  }
  return id;
}

builder.objectField(CustomerBaseRef, 'changes', (t) =>
  t.field({
    type: CustomerChangeConnectionRef,
    description:
      'The changes recorded, oldest first: after the first pass (a baseline, no change), what each read found different, and each mutation through this gateway. Kept CHANGES_RETENTION_DAYS and at most CHANGES_MAX; a cursor older than that is BAD_USER_INPUT with reason CURSOR_EXPIRED.',
    args: {
      first: t.arg.int({ defaultValue: 50, description: `How many, 1 to ${MAX_FIRST} (default 50).` }),
      after: t.arg.string({ required: false, description: 'A cursor of a change.' }),
      where: t.arg({ type: CustomerChangeFilterInput, required: false, description: 'Which changes.' }),
    },
    resolve: (_parent, args, ctx): ChangePage => {
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
        throw new BadUserInputError(`first must be 1 to ${MAX_FIRST}, got ${first}.`, { min: 1, max: MAX_FIRST });
      }
      const log = baseOf(ctx).changes;
      const filter = filterOf(args.where);
      const afterId = args.after ? decodeChangeCursor(args.after, log) : undefined;
      const page = log.after(afterId, first, filter);
      const edges = page.changes.map((node) => ({ cursor: encodeChangeCursor(node.id), node }));
      return {
        edges,
        hasNextPage: page.more,
        // With nothing new, the cursor given: a client that polls keeps its place.
        endCursor: edges.at(-1)?.cursor ?? args.after ?? null,
      };
    },
  }),
);

class TooManySubscriptionsError extends GatewayError {
  constructor(max: number) {
    super(
      'TOO_MANY_SUBSCRIPTIONS',
      `This replica serves at most ${max} subscriptions (SUBSCRIPTIONS_MAX) and all are open: try again later or another replica.`,
      { max },
    );
  }
}

/** What a stream carries to the field's resolve: a change, or the word that the caller's token expired. */
type StreamItem = { change: RecordedChange } | { expired: true };

builder.subscriptionType({
  description: 'Changes of the customer base as the gateway records them, over GraphQL over SSE and WebSocket.',
});

builder.subscriptionField('customerChanges', (t) =>
  t.field({
    type: CustomerChangeRef,
    description:
      "Each change of the customer base as it is recorded, whichever replica records it. With `after`, every kept change after that cursor first, then the new ones, in cursor order with no gap and no duplicate. Needs a caller with a read role; ends with UNAUTHENTICATED when the caller's token expires; completed when the gateway drains (resume on another replica with the last cursor).",
    args: {
      after: t.arg.string({
        required: false,
        description: 'A cursor of a change: replay what was kept after it first.',
      }),
      where: t.arg({ type: CustomerChangeFilterInput, required: false, description: 'Which changes.' }),
    },
    subscribe: async (_root, args, ctx: Context) => {
      const base = baseOf(ctx, 'customerChanges');
      // Checked before anything is sent: who asks, then what.
      await ctx.access.readSnapshot();
      const filter = filterOf(args.where);
      const afterId = args.after ? decodeChangeCursor(args.after, base.changes) : undefined;
      const caller = await ctx.access.caller();
      const stream = base.feed.follow({
        afterId,
        filter,
        transport: ctx.transport,
        // The caller's connection: GraphQL over SSE ends its stream when the caller goes, without a return().
        signal: ctx.call.signal,
        ...(caller?.expiresAt === undefined ? {} : { expiresAt: caller.expiresAt }),
      });
      if (!stream) throw new TooManySubscriptionsError(ctx.config.subscriptionsMax);
      return stream as AsyncIterable<StreamItem>;
    },
    resolve: (item: StreamItem) => {
      if ('expired' in item) {
        throw new UnauthenticatedError('The token expired: subscribe again with a fresh token and the last cursor.');
      }
      return item.change;
    },
  }),
);
