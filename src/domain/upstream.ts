// Owns the shapes every floor shares about the calls made upstream: the
// Partner Center resources' names, what a request spent there and how a
// caller's token is named outside its request. Types only.

/** The Partner Center resources, named as in metrics labels (docs/operations.md, "Metrics"). */
export type Resource =
  | 'qualifications'
  | 'mca_status'
  | 'customer'
  | 'customer_list'
  | 'agreements'
  | 'agreement_metadata';

/** Per-request counters, written by the client and the loaders, read once when the request ends. */
export interface RequestStats {
  upstreamCalls: number;
  /** When the last attempt was let through to be sent (ms); the background sync spaces its calls from it. */
  sentAt?: number;
  cacheHits: number;
  retries: number;
}

/** A token as the quota machinery names it: its digest and its partner key, worked out once per request. */
export interface TokenIdentity {
  readonly digest: string;
  readonly partner: string;
}
