// Owns the events that the Partner Center client and the quota machinery
// report as they work: one per upstream attempt, cache lookup and call held
// back. Metrics (and anything else that wants them) subscribe by passing a
// GatewayEvents to createGateway; the default ignores them.

import type { Resource } from '../domain/upstream';

/** How an upstream attempt ended: its HTTP status, or no status at all. */
export type AttemptStatus = number | 'timeout' | 'network';

export interface UpstreamAttempt {
  readonly resource: Resource;
  readonly method: 'GET' | 'POST';
  readonly status: AttemptStatus;
  readonly durationSeconds: number;
}

export interface GatewayEvents {
  /** One per HTTP attempt sent to Partner Center, retries included. */
  upstreamAttempt(attempt: UpstreamAttempt): void;
  /** One per lookup in the cross-request cache or the coalescing map. */
  cacheLookup(resource: Resource, result: 'hit' | 'miss' | 'coalesced'): void;
  /** One per call held back without reaching Partner Center. */
  throttled(reason: 'window' | 'pacing'): void;
  /** One per request to Entra's token endpoint (the gateway-held modes). */
  tokenRequest(grant: 'refresh_token' | 'client_credentials', result: 'ok' | 'refused' | 'error'): void;
  /** One per caller's token checked (once per request), and one more when a verified caller lacks the role. */
  callerAuth(result: 'ok' | 'missing' | 'invalid' | 'expired' | 'forbidden'): void;
  /** One per upstream attempt of the customer-base sync, by resource and HTTP status (or timeout, network). */
  syncCall(resource: Resource, status: string): void;
  /** One per change of the customer base recorded here, by kind (CUSTOMER_LISTED, MCA_ACCEPTED, ...). */
  customerChange(kind: string): void;
}

export const ignoredEvents: GatewayEvents = Object.freeze({
  upstreamAttempt() {},
  cacheLookup() {},
  throttled() {},
  tokenRequest() {},
  callerAuth() {},
  syncCall() {},
  customerChange() {},
});

/** One GatewayEvents that tells each of `all` in turn (metrics and a caller's own listener). */
export function combineEvents(...all: GatewayEvents[]): GatewayEvents {
  if (all.length === 1 && all[0]) return all[0];
  return {
    upstreamAttempt: (attempt) => {
      for (const events of all) events.upstreamAttempt(attempt);
    },
    cacheLookup: (resource, result) => {
      for (const events of all) events.cacheLookup(resource, result);
    },
    throttled: (reason) => {
      for (const events of all) events.throttled(reason);
    },
    tokenRequest: (grant, result) => {
      for (const events of all) events.tokenRequest(grant, result);
    },
    callerAuth: (result) => {
      for (const events of all) events.callerAuth(result);
    },
    syncCall: (resource, status) => {
      for (const events of all) events.syncCall(resource, status);
    },
    customerChange: (kind) => {
      for (const events of all) events.customerChange(kind);
    },
  };
}
