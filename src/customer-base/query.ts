// Owns the questions asked of the snapshot: the filter (MCA status and acceptance,
// qualification kind and vetting status, company-name prefix, relationship),
// the order (lower-cased company name in code-point order, then id; no name
// last), the summary counts, and the opaque cursors tied to their filter.

import { createHash } from 'node:crypto';
import { BadUserInputError } from '../domain/errors';
import { KINDS, type Kind, kindOf, STATUSES, type Status, vettingStatusOf } from '../domain/qualification';
import { type Relationship, relationshipOf } from '../domain/relationship-to-partner';
import { type CustomerStore, mcaAcceptedOf, type StoredCustomer } from './store';

export interface CustomerFilter {
  readonly mcaDirectlySigned?: boolean | null;
  readonly mcaAccepted?: boolean | null;
  readonly qualification?: Kind | null;
  readonly vettingStatus?: Status | null;
  readonly companyNameStartsWith?: string | null;
  readonly relationshipToPartner?: Relationship | null;
}

export function matches(customer: StoredCustomer, filter: CustomerFilter): boolean {
  if (filter.mcaDirectlySigned !== undefined && filter.mcaDirectlySigned !== null) {
    // Unknown (not read yet, refused, not supported) matches neither true nor false.
    if (customer.mca !== filter.mcaDirectlySigned) return false;
  }
  if (filter.mcaAccepted !== undefined && filter.mcaAccepted !== null) {
    // Unknown matches neither, as above.
    if (mcaAcceptedOf(customer) !== filter.mcaAccepted) return false;
  }
  const { qualification, vettingStatus } = filter;
  if ((qualification ?? null) !== null || (vettingStatus ?? null) !== null) {
    const held = (customer.qualifications ?? []).some(
      (item) =>
        (qualification == null || kindOf(item.qualification) === qualification) &&
        (vettingStatus == null || vettingStatusOf(item.vettingStatus) === vettingStatus),
    );
    if (!held) return false;
  }
  const prefix = filter.companyNameStartsWith;
  if (prefix) {
    if (customer.companyName === null || !customer.companyName.toLowerCase().startsWith(prefix.toLowerCase())) {
      return false;
    }
  }
  if (
    filter.relationshipToPartner != null &&
    relationshipOf(customer.relationshipToPartner) !== filter.relationshipToPartner
  ) {
    return false;
  }
  return true;
}

/** Where a customer stands in the order: named customers by lower-cased name then id, then the unnamed by id. */
export type OrderKey = readonly [named: 0 | 1, name: string, id: string];

export const orderKeyOf = (customer: StoredCustomer): OrderKey =>
  customer.companyName === null ? [1, '', customer.id] : [0, customer.companyName.toLowerCase(), customer.id];

/**
 * Code-point order (not locale order), so every replica and every run sorts alike. JavaScript's `<` compares UTF-16
 * code units, which puts characters above U+FFFF (surrogate pairs) before U+E000-U+FFFF; the units are shifted so
 * that surrogates sort last, which is code-point order.
 */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return inCodePointOrder(x) - inCodePointOrder(y);
  }
  return a.length - b.length;
}

const inCodePointOrder = (unit: number) => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800);

/** The longest companyNameStartsWith taken, in GraphQL and in the export: a company name is far shorter. */
export const MAX_PREFIX_LENGTH = 256;

/** Why `filter` cannot be used, or undefined when it can. */
export function filterProblem(filter: CustomerFilter): string | undefined {
  const prefix = filter.companyNameStartsWith;
  if (prefix != null && prefix.length > MAX_PREFIX_LENGTH) {
    return `companyNameStartsWith must be at most ${MAX_PREFIX_LENGTH} characters.`;
  }
  return undefined;
}

export function compareKeys(a: OrderKey, b: OrderKey): number {
  return a[0] - b[0] || compareText(a[1], b[1]) || compareText(a[2], b[2]);
}

export interface QualificationCount {
  readonly kind: Kind;
  readonly vettingStatus: Status | null;
  readonly count: number;
}

export interface Summary {
  readonly customers: number;
  readonly mcaSigned: number;
  readonly mcaNotSigned: number;
  readonly mcaUnknown: number;
  readonly mcaAccepted: number;
  readonly mcaNotAccepted: number;
  readonly mcaAcceptanceUnknown: number;
  readonly qualifications: readonly QualificationCount[];
}

export function summarise(customers: Iterable<StoredCustomer>, filter: CustomerFilter): Summary {
  let count = 0;
  let signed = 0;
  let notSigned = 0;
  let accepted = 0;
  let notAccepted = 0;
  const tally = new Map<string, number>();
  for (const customer of customers) {
    if (!matches(customer, filter)) continue;
    count++;
    if (customer.mca === true) signed++;
    else if (customer.mca === false) notSigned++;
    const acceptance = mcaAcceptedOf(customer);
    if (acceptance === true) accepted++;
    else if (acceptance === false) notAccepted++;
    for (const item of customer.qualifications ?? []) {
      const key = `${kindOf(item.qualification)}|${vettingStatusOf(item.vettingStatus) ?? ''}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
  }
  const qualifications: QualificationCount[] = [];
  // The enums' order, a null status first.
  for (const kind of KINDS) {
    for (const vettingStatus of [null, ...STATUSES]) {
      const value = tally.get(`${kind}|${vettingStatus ?? ''}`);
      if (value) qualifications.push({ kind, vettingStatus, count: value });
    }
  }
  return {
    customers: count,
    mcaSigned: signed,
    mcaNotSigned: notSigned,
    mcaUnknown: count - signed - notSigned,
    mcaAccepted: accepted,
    mcaNotAccepted: notAccepted,
    mcaAcceptanceUnknown: count - accepted - notAccepted,
    qualifications,
  };
}

/** The customers matching `filter`, in order; each order key is made once, not once per comparison. */
export function ordered(customers: Iterable<StoredCustomer>, filter: CustomerFilter): StoredCustomer[] {
  const keyed: Array<{ key: OrderKey; customer: StoredCustomer }> = [];
  for (const customer of customers) if (matches(customer, filter)) keyed.push({ key: orderKeyOf(customer), customer });
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  return keyed.map((entry) => entry.customer);
}

/**
 * The store's order, kept until a customer is listed, dropped or renamed (its data changing never moves it), and each
 * filter's matches in it, kept until the store changes: paging through one filter pays the sort once per list read,
 * also while the sync writes several changes a second.
 */
interface Memo {
  readonly orderVersion: number;
  /** Every customer's id and order key, in order. */
  readonly ids: readonly string[];
  readonly keys: readonly OrderKey[];
  version: number;
  readonly byFilter: Map<string, StoredCustomer[]>;
}
const memoByStore = new WeakMap<CustomerStore, Memo>();
/** Filters remembered per version of the store, the oldest forgotten first. */
const MAX_FILTERS = 64;

function memoOf(store: CustomerStore): Memo {
  let memo = memoByStore.get(store);
  if (memo?.orderVersion !== store.orderVersion()) {
    const sorted = ordered(store.all(), {});
    memo = {
      orderVersion: store.orderVersion(),
      ids: sorted.map((customer) => customer.id),
      keys: sorted.map(orderKeyOf),
      version: store.version(),
      byFilter: new Map(),
    };
    memoByStore.set(store, memo);
  } else if (memo.version !== store.version()) {
    memo.version = store.version();
    memo.byFilter.clear();
  }
  return memo;
}

/** The store's customers matching `filter`, in order (the export). */
export function orderedIn(store: CustomerStore, filter: CustomerFilter): StoredCustomer[] {
  const memo = memoOf(store);
  const key = filterDigest(filter);
  let matching = memo.byFilter.get(key);
  if (matching === undefined) {
    matching = [];
    for (const id of memo.ids) {
      const customer = store.get(id);
      if (customer !== undefined && matches(customer, filter)) matching.push(customer);
    }
    if (memo.byFilter.size >= MAX_FILTERS) memo.byFilter.delete(memo.byFilter.keys().next().value as string);
    memo.byFilter.set(key, matching);
  }
  return matching;
}

/**
 * Up to `first` customers matching `filter` after `after`, in order, and whether more follow. It walks the order
 * from the cursor and stops at the first match past the page, so a page costs about `first` / (the filter's share)
 * lookups, not a pass over the whole base: the base's data changes several times a second while the sync runs.
 */
export function pageIn(
  store: CustomerStore,
  filter: CustomerFilter,
  after: OrderKey | undefined,
  first: number,
): { customers: StoredCustomer[]; hasNextPage: boolean } {
  const memo = memoOf(store);
  let start = 0;
  if (after) {
    // The first key past the cursor: a binary search, as the cursor's customer may be gone since.
    let high = memo.keys.length;
    while (start < high) {
      const middle = (start + high) >>> 1;
      if (compareKeys(memo.keys[middle] as OrderKey, after) > 0) high = middle;
      else start = middle + 1;
    }
  }
  const customers: StoredCustomer[] = [];
  for (let index = start; index < memo.ids.length; index++) {
    const customer = store.get(memo.ids[index] as string);
    if (customer === undefined || !matches(customer, filter)) continue;
    if (customers.length === first) return { customers, hasNextPage: true };
    customers.push(customer);
  }
  return { customers, hasNextPage: false };
}

const filterDigest = (filter: CustomerFilter) =>
  createHash('sha256')
    .update(
      JSON.stringify([
        filter.mcaDirectlySigned ?? null,
        filter.qualification ?? null,
        filter.vettingStatus ?? null,
        // An empty prefix is no prefix: both match every customer, and their cursors are one.
        filter.companyNameStartsWith ? filter.companyNameStartsWith.toLowerCase() : null,
        filter.relationshipToPartner ?? null,
        // Appended only when given, so the cursors of filters without it stay what they were.
        ...(filter.mcaAccepted == null ? [] : [filter.mcaAccepted]),
      ]),
    )
    .digest('base64url')
    .slice(0, 16);

const check = (json: string) =>
  createHash('sha256').update(`customerBase cursor:${json}`).digest('base64url').slice(0, 16);

/** `base64url(JSON).check`: the order key of the customer it follows, and the filter it belongs to. */
export function encodeBaseCursor(key: OrderKey, filter: CustomerFilter): string {
  return baseCursorsFor(filter)(key);
}

/** encodeBaseCursor for one filter, its digest worked out once: a page makes a cursor per edge. */
export function baseCursorsFor(filter: CustomerFilter): (key: OrderKey) => string {
  const digest = filterDigest(filter);
  return (key) => {
    const json = JSON.stringify({ v: 1, f: digest, k: key });
    return `${Buffer.from(json, 'utf8').toString('base64url')}.${check(json)}`;
  };
}

export function decodeBaseCursor(cursor: string, filter: CustomerFilter): OrderKey {
  const refuse = (why: string) =>
    new BadUserInputError(
      `after: not a cursor from customerBase.customers (${why}); pass a cursor this field returned.`,
    );
  if (cursor.length > 2_000) throw refuse('too long');
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{16})$/.exec(cursor);
  if (!match?.[1]) throw refuse('malformed');
  const json = Buffer.from(match[1], 'base64url').toString('utf8');
  if (check(json) !== match[2]) throw refuse('it was altered or made up');
  let state: { v?: unknown; f?: unknown; k?: unknown } | null;
  try {
    state = JSON.parse(json) as typeof state;
  } catch {
    throw refuse('malformed');
  }
  if (typeof state !== 'object' || state === null || state.v !== 1 || !isOrderKey(state.k)) {
    throw refuse('unknown version');
  }
  if (state.f !== filterDigest(filter)) {
    throw new BadUserInputError(
      'after: this cursor belongs to another filter; page with the `where` it was made with.',
    );
  }
  return state.k;
}

const isOrderKey = (key: unknown): key is OrderKey =>
  Array.isArray(key) &&
  key.length === 3 &&
  (key[0] === 0 || key[0] === 1) &&
  typeof key[1] === 'string' &&
  typeof key[2] === 'string';
