// Owns customerList and its Relay types (CustomerConnection, CustomerEdge,
// PageInfo): paging through GET /customers with Partner Center's continuation
// tokens, the opaque cursors that carry them, and priming the customer loader
// so listed customers cost no further call for their profile.

import { createHash } from 'node:crypto';
import { BadUserInputError } from '../domain/errors';
import { isSendableToken } from '../partner-center/customers';
import { builder } from './builder';
import { type CustomerParent, CustomerRef } from './customer';

/** `first` when the caller gives none (also counted as such by the operation limits). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/** Longest companyNameStartsWith accepted; Partner Center's company names are far shorter. */
const MAX_FILTER_LENGTH = 256;
/** Longest cursor accepted; a continuation token of Partner Center is a few hundred characters. */
const MAX_CURSOR_LENGTH = 12_000;

/**
 * Where a cursor resumes. `page` re-reads the upstream page fetched with
 * `token` (null: the first page) and skips `skip` items of it; with skip 0 the
 * page is read at the caller's `first`, otherwise at the `size` it was read
 * with, so the skipped items line up. `end` is after the last customer.
 */
type Position = { kind: 'page'; token: string | null; skip: number; size: number } | { kind: 'end' };

interface CursorState {
  /** The companyNameStartsWith the list was read with (null: none); a cursor only continues the same list. */
  readonly filter: string | null;
  readonly position: Position;
}

export interface CustomerPage {
  readonly edges: ReadonlyArray<{ readonly cursor: string; readonly node: CustomerParent }>;
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

const CURSOR_VERSION = 1;

/**
 * A cursor is `base64url(JSON).check`: the JSON is versioned, and the check (a
 * digest of the JSON) refuses a cursor that was cut, edited or made up before
 * any upstream call. It is not a secret: it only carries what the caller could
 * send Partner Center anyway, and Partner Center checks its own token.
 */
export function encodeCursor(state: CursorState): string {
  const p = state.position;
  const json = JSON.stringify({
    v: CURSOR_VERSION,
    f: state.filter,
    ...(p.kind === 'end' ? { end: true } : { t: p.token, o: p.skip, n: p.size }),
  });
  return `${Buffer.from(json, 'utf8').toString('base64url')}.${cursorCheck(json)}`;
}

function cursorCheck(json: string): string {
  return createHash('sha256').update(`customerList cursor:${json}`).digest('base64url').slice(0, 16);
}

/** The state a cursor holds, or BAD_USER_INPUT saying it cannot be read (no upstream call is made). */
export function decodeCursor(cursor: string): CursorState {
  const refuse = (why: string) =>
    new BadUserInputError(`after: not a cursor from customerList (${why}); pass a cursor this field returned.`);
  if (cursor.length > MAX_CURSOR_LENGTH) throw refuse('too long');
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{16})$/.exec(cursor);
  if (!match) throw refuse('unreadable');
  const json = Buffer.from(match[1] as string, 'base64url').toString('utf8');
  if (cursorCheck(json) !== match[2]) throw refuse('it was altered or made up');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json);
  } catch {
    throw refuse('unreadable');
  }
  if (typeof raw !== 'object' || raw === null || raw.v !== CURSOR_VERSION) throw refuse('unknown version');
  const filter = raw.f;
  if (filter !== null && typeof filter !== 'string') throw refuse('bad filter');
  if (raw.end === true) return { filter, position: { kind: 'end' } };
  const { t: token, o: skip, n: size } = raw;
  const validToken = token === null || (typeof token === 'string' && isSendableToken(token));
  const validSize = Number.isInteger(size) && (size as number) >= 1 && (size as number) <= MAX_PAGE_SIZE;
  const validSkip = Number.isInteger(skip) && (skip as number) >= 0 && (skip as number) < (size as number);
  if (!validToken || !validSize || !validSkip) throw refuse('bad position');
  return { filter, position: { kind: 'page', token, skip: skip as number, size: size as number } };
}

export const PageInfoRef = builder.objectRef<Pick<CustomerPage, 'hasNextPage' | 'endCursor'>>('PageInfo').implement({
  description: 'Where a page of a Relay connection ends, and whether more follows.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      description: 'True when more customers follow: pass endCursor as `after` to read them.',
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description:
        "The last edge's cursor, to pass as `after` for the next page. Null only when the page has no edges and nothing follows. On the last page it is an end cursor: passing it returns an empty page without calling Partner Center.",
    }),
  }),
});

const CustomerEdgeRef = builder.objectRef<CustomerPage['edges'][number]>('CustomerEdge').implement({
  description: 'One customer in a page of customerList, with the cursor just after it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      description:
        'An opaque cursor: pass it as `after` (with the same companyNameStartsWith) to continue with the customers after this one.',
    }),
    node: t.field({
      type: CustomerRef,
      description: 'The customer. Its companyName, domain and relationshipToPartner come with the page at no cost.',
      resolve: (edge) => edge.node,
    }),
  }),
});

export const CustomerConnectionRef = builder.objectRef<CustomerPage>('CustomerConnection').implement({
  description:
    "A page of the partner's customers, in Partner Center's order (Relay connection). Each page costs one Partner Center call.",
  fields: (t) => ({
    edges: t.field({
      type: [CustomerEdgeRef],
      description: 'The customers of this page, each with its cursor.',
      resolve: (page) => page.edges,
    }),
    nodes: t.field({
      type: [CustomerRef],
      description: 'The customers of this page, without cursors (the same as edges { node }).',
      resolve: (page) => page.edges.map((edge) => edge.node),
    }),
    pageInfo: t.field({
      type: PageInfoRef,
      description: 'Whether more customers follow, and the cursor to read them.',
      resolve: (page) => page,
    }),
  }),
});

builder.queryField('customerList', (t) =>
  t.field({
    type: CustomerConnectionRef,
    description:
      "Pages through the partner's customers (Partner Center's GET /customers), optionally only those whose company name starts with a prefix. One Partner Center call per page; companyName, domain and relationshipToPartner of the listed customers cost nothing more, while qualifications and mcaDirectlySigned cost one call per customer each. Counts as `first` customers towards the operation's customer limit.",
    args: {
      first: t.arg.int({
        defaultValue: DEFAULT_PAGE_SIZE,
        description: `How many customers to return, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); anything else is BAD_USER_INPUT.`,
      }),
      after: t.arg.string({
        description:
          "Continue after this cursor (an edge's cursor or pageInfo.endCursor). A cursor that cannot be read, or that came from a list with another companyNameStartsWith, is BAD_USER_INPUT.",
      }),
      companyNameStartsWith: t.arg.string({
        description:
          "Only customers whose company name starts with this text (Partner Center's starts_with filter on CompanyName). Empty counts as none.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
        throw new BadUserInputError(`first: expected 1 to ${MAX_PAGE_SIZE} customers per page, got ${first}.`, {
          min: 1,
          max: MAX_PAGE_SIZE,
        });
      }
      const filter = args.companyNameStartsWith || null;
      if (filter !== null && filter.length > MAX_FILTER_LENGTH) {
        throw new BadUserInputError(
          `companyNameStartsWith: at most ${MAX_FILTER_LENGTH} characters, got ${filter.length}.`,
        );
      }
      const state: CursorState =
        args.after === null || args.after === undefined
          ? { filter, position: { kind: 'page', token: null, skip: 0, size: first } }
          : decodeCursor(args.after);
      if (state.filter !== filter) {
        throw new BadUserInputError(
          `after: this cursor continues the list with companyNameStartsWith ${JSON.stringify(state.filter)}, not ${JSON.stringify(filter)}; pass the same filter, or start again without after.`,
        );
      }
      const position = state.position;
      if (position.kind === 'end') return { edges: [], hasNextPage: false, endCursor: null };

      const size = position.skip > 0 ? position.size : first;
      const page = await ctx.client.listCustomers(
        { size, companyNameStartsWith: filter, continuationToken: position.token },
        ctx.call,
      );
      const items = page.items;
      const next = page.continuationToken;
      /** The cursor just after item `index` of this upstream page. */
      const cursorAfter = (index: number): string => {
        if (index + 1 < items.length) {
          return encodeCursor({ filter, position: { kind: 'page', token: position.token, skip: index + 1, size } });
        }
        return encodeCursor({
          filter,
          position: next === null ? { kind: 'end' } : { kind: 'page', token: next, skip: 0, size },
        });
      };
      const start = position.skip;
      const taken = items.slice(start, start + first);
      // The profile came with the page: companyName, domain and relationshipToPartner need no GET /customers/{id}.
      for (const item of taken) ctx.loaders.customer.prime(item.id, item);
      const edges = taken.map((item, offset) => ({ cursor: cursorAfter(start + offset), node: { id: item.id } }));
      const hasNextPage = start + first < items.length || next !== null;
      const lastEdge = edges.at(-1);
      // An empty page that still has a next one (an empty upstream page, or a cursor past a page that shrank) must
      // still say where to go on.
      const endCursor = lastEdge
        ? lastEdge.cursor
        : next === null
          ? null
          : encodeCursor({ filter, position: { kind: 'page', token: next, skip: 0, size } });
      return { edges, hasNextPage, endCursor };
    },
  }),
);
