// Owns the port through which the client lets each attempt go: what it asks
// (the admission request), what it is given back, the cancellation it throws,
// and the shortest window a 429 holds calls. src/quota/admission.ts
// implements it, so the client never imports the quota machinery.

import { GatewayError, type UpstreamInfo } from '../domain/errors';
import type { TokenIdentity } from '../domain/upstream';

/** A Retry-After of 0, or a date in the past, still holds calls this long: Partner Center asks not to retry at once. */
export const MIN_WINDOW_MS = 100;

export interface AdmissionRequest {
  readonly authorization: string;
  /** The token's digest and partner key when the request has worked them out already. */
  readonly token?: TokenIdentity;
  /** What a 429 holds besides the whole partner: the customer id, or the resource for calls without one. */
  readonly scope: string;
  readonly deadline: number;
  /** Aborted when every caller waiting for this call went away: the call leaves any queue at once. */
  readonly signal: AbortSignal | undefined;
  readonly upstream: UpstreamInfo;
  /** The background sync: it takes a pacing turn only when one is free now, and never waits out a window. */
  readonly background?: boolean;
}

export interface Admitted {
  /**
   * The attempt was written to its socket: its pacing turn counts from now when that is later than the turn. Only with
   * a turn, so that without pacing no attempt is watched for its write.
   */
  readonly written?: () => void;
  /** Tells how the attempt ended, then frees the slot. */
  done(outcome: { status?: number; retryAfterMs?: number }): void;
}

export interface Admission {
  /** Resolves when the attempt may be sent; rejects with UPSTREAM_THROTTLED, UPSTREAM_TIMEOUT or a cancellation. */
  enter(request: AdmissionRequest): Promise<Admitted>;
}

/** The call was dropped because no caller waits for it any more; nobody sees this error. */
export class CallCancelledError extends GatewayError {
  constructor() {
    super('UPSTREAM_UNAVAILABLE', 'The call was dropped: the GraphQL request that needed it went away.');
  }
}
