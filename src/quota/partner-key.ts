// Owns how a caller's token is named outside its own request: a SHA-256 digest
// of the Authorization header (the only form caches, coalescing, slots and
// Redis ever hold) and the partner key that groups a token's calls for the
// quota (the JWT's unverified `tid`, else the token's digest).

import { hash } from 'node:crypto';
import { canonicalCustomerId } from '../domain/guid';
import { unverifiedClaims } from '../domain/token-claims';
import type { TokenIdentity } from '../domain/upstream';

/** SHA-256 of the whole Authorization header, base64url: never reversible to the token, stable across replicas. */
export function tokenDigest(authorization: string): string {
  // The one-shot hash: about half the cost of a createHash object per digest.
  return hash('sha256', authorization, 'base64url');
}

export function identifyToken(authorization: string): TokenIdentity {
  const digest = tokenDigest(authorization);
  return { digest, partner: partnerKey(authorization, digest) };
}

/**
 * The partner tenant a token acts for: `tid:<guid>` from the JWT's `tid` claim, read without verifying it, else
 * `token:<digest>`. Safe unverified because it only ever groups or slows calls (windows, pacing): answers stay
 * keyed by the token's digest, and calls answered 401 give their pacing point back and open no window. A `tid`
 * that is not a GUID is ignored, so a claim can never shape a Redis key.
 */
export function partnerKey(authorization: string, digest = tokenDigest(authorization)): string {
  const tid = tidClaim(authorization);
  return tid === undefined ? `token:${digest}` : `tid:${tid}`;
}

function tidClaim(authorization: string): string | undefined {
  const tid = unverifiedClaims(authorization)?.tid;
  return typeof tid === 'string' ? canonicalCustomerId(tid) : undefined;
}
