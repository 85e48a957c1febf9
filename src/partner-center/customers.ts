// Owns the Customer resource of Partner Center: the paths and query strings of
// GET /customers (paged, filtered) and GET /customers/{id}, and the defensive
// parsing of their bodies into customer profiles and pages.

import { badResponse, type UpstreamInfo } from '../domain/errors';
import { canonicalCustomerId } from '../domain/guid';

/** A customer as Partner Center lists it; every field but the id may be missing (null). */
export interface WireCustomer {
  /** Canonical customer tenant id (lower case, no braces). */
  readonly id: string;
  readonly companyName: string | null;
  readonly domain: string | null;
  /** The wire value as sent (`reseller`, `advisor`, ...), an open set. */
  readonly relationshipToPartner: string | null;
}

/** One page of GET /customers. */
export interface WireCustomerPage {
  readonly items: WireCustomer[];
  /** MS-ContinuationToken for the next page; null on the last page. */
  readonly continuationToken: string | null;
}

export interface ListCustomersRequest {
  /** Page size, 1..500 upstream (the gateway asks 1..100). */
  readonly size: number;
  /** The starts_with filter on the company name; sent on the first page only (the token carries it on). */
  readonly companyNameStartsWith?: string | null;
  /** The previous page's continuation token; asks for the next page. */
  readonly continuationToken?: string | null;
}

/** Header name Partner Center uses for continuation tokens, as the client sends it. */
export const CONTINUATION_HEADER = 'ms-continuationtoken';

/**
 * The path (with query string) of one page. The first page carries the filter
 * as URL-encoded JSON; a next page is `seekOperation=Next`, and the token
 * itself travels in the MS-ContinuationToken header.
 */
export function customerListPath(request: ListCustomersRequest): string {
  const query = new URLSearchParams({ size: String(request.size) });
  if (request.continuationToken) {
    query.set('seekOperation', 'Next');
  } else if (request.companyNameStartsWith) {
    query.set(
      'filter',
      JSON.stringify({ Field: 'CompanyName', Value: request.companyNameStartsWith, Operator: 'starts_with' }),
    );
  }
  return `/customers?${query.toString()}`;
}

/** A continuation token must be sendable as a header value: visible ASCII and spaces, bounded. */
export function isSendableToken(token: string): boolean {
  return token.length > 0 && token.length <= 8_192 && /^[\x21-\x7e][\x20-\x7e]*$/.test(token);
}

/**
 * A page body: an object whose `items` is an array. An item without a GUID id
 * (in `id` or `companyProfile.tenantId`) makes the page UPSTREAM_BAD_RESPONSE
 * rather than being dropped silently; `totalCount` is ignored (deployments
 * disagree on what it counts).
 */
export function parseCustomerPage(body: unknown, upstream: UpstreamInfo): WireCustomerPage {
  const record = asRecord(body);
  if (!record || !Array.isArray(record.items)) {
    throw badResponse(upstream, 'expected {"items": [...]} from GET /customers');
  }
  const items = record.items.map((item, index) => {
    const customer = parseCustomer(item);
    if (!customer) throw badResponse(upstream, `item ${index} of GET /customers has no customer id (a GUID)`);
    return customer;
  });
  return { items, continuationToken: continuationTokenOf(record, upstream) };
}

/** A GET /customers/{id} body; fields missing from it are null, the id is the one asked for. */
export function parseCustomerBody(body: unknown, customerId: string, upstream: UpstreamInfo): WireCustomer {
  const record = asRecord(body);
  if (!record) throw badResponse(upstream, `expected a customer object from GET /customers/${customerId}`);
  return { ...profileOf(record), id: customerId };
}

function parseCustomer(item: unknown): WireCustomer | undefined {
  const record = asRecord(item);
  if (!record) return undefined;
  const raw = text(record.id) ?? text(asRecord(record.companyProfile)?.tenantId);
  const id = raw === null ? undefined : canonicalCustomerId(raw);
  return id === undefined ? undefined : { ...profileOf(record), id };
}

function profileOf(record: Record<string, unknown>): Omit<WireCustomer, 'id'> {
  const profile = asRecord(record.companyProfile);
  return {
    companyName: text(profile?.companyName),
    domain: text(profile?.domain),
    relationshipToPartner: text(record.relationshipToPartner),
  };
}

/**
 * The next page's token from `links.next.headers` (key matched without regard
 * to case). No `links.next` means the last page; a `links.next` without a
 * usable token is a bad response, since the rest of the list could not be read.
 */
function continuationTokenOf(record: Record<string, unknown>, upstream: UpstreamInfo): string | null {
  const next = asRecord(asRecord(record.links)?.next);
  if (!next) return null;
  const headers = Array.isArray(next.headers) ? next.headers : [];
  const header = headers
    .map((entry) => asRecord(entry))
    .find((entry) => typeof entry?.key === 'string' && entry.key.toLowerCase() === CONTINUATION_HEADER);
  const token = text(header?.value);
  if (token === null || !isSendableToken(token)) {
    throw badResponse(upstream, 'links.next of GET /customers carries no usable MS-ContinuationToken header');
  }
  return token;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
