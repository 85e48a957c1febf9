// Owns who is asking a gateway that signs in itself: the caller's bearer
// token verified as a JWT (jose: keys from AUTH_JWKS_URL, fetched again for
// an unknown kid at most once a minute; issuer, audience, exp and nbf with
// 60 s of leeway; asymmetric algorithms only), and the caller's roles from
// `roles` or `scp` against AUTH_READ_ROLES and AUTH_WRITE_ROLES.

import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { CallerSettings } from '../config/sign-in-settings';

/** Asymmetric algorithms only: `none` and the HMAC family (whose secret could be a published public key) never verify. */
export const CALLER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** What the audit line and the roles check know of a verified caller; never the token. */
export interface Caller {
  readonly oid?: string;
  readonly sub?: string;
  readonly tid?: string;
  /** preferred_username, upn or name: the first present, under its claim's name. */
  readonly name?: { readonly claim: 'preferred_username' | 'upn' | 'name'; readonly value: string };
  readonly roles: ReadonlySet<string>;
  /** True for the development user of simulator mode. */
  readonly development?: boolean;
  /** Epoch ms when the token expires (its exp): a subscription of this caller ends then. */
  readonly expiresAt?: number;
}

export type CallerCheck =
  | { readonly result: 'ok'; readonly caller: Caller }
  | { readonly result: 'missing' | 'invalid' | 'expired'; readonly message: string };

export interface CallerVerifier {
  /** Verifies `Authorization: Bearer <jwt>`; a missing header is 'missing'. */
  verify(authorization: string | null): Promise<CallerCheck>;
}

/** The development user of simulator mode: every role. */
export const DEVELOPMENT_CALLER: Caller = Object.freeze<Caller>({
  oid: 'development-user',
  name: { claim: 'name', value: 'development user (simulator)' },
  roles: new Set(['*']),
  development: true,
});

export function callerFromClaims(claims: JWTPayload): Caller {
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const roles = new Set<string>();
  if (Array.isArray(claims.roles)) for (const role of claims.roles) if (typeof role === 'string') roles.add(role);
  const scp = text('scp');
  if (scp) for (const scope of scp.split(' ')) if (scope) roles.add(scope);
  const claim = (['preferred_username', 'upn', 'name'] as const).find((key) => text(key) !== undefined);
  const name = claim && { claim, value: text(claim) as string };
  return {
    ...(text('oid') ? { oid: text('oid') } : {}),
    ...(claims.sub ? { sub: claims.sub } : {}),
    ...(text('tid') ? { tid: text('tid') } : {}),
    ...(name ? { name } : {}),
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1_000 } : {}),
    roles,
  };
}

/** Whether the caller holds one of `wanted` (the development user holds every role). */
export function holdsRole(caller: Caller, wanted: readonly string[]): boolean {
  return caller.roles.has('*') || wanted.some((role) => caller.roles.has(role));
}

/** A verifier that refuses every token: no AUTH_* settings (simulator mode), so none can verify. */
const NOTHING_VERIFIES: CallerVerifier = {
  async verify(authorization) {
    if (authorization === null) return { result: 'missing', message: 'A bearer token is required.' };
    return {
      result: 'invalid',
      message: 'The bearer token cannot be verified: the gateway has no AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE.',
    };
  },
};

export interface CallerVerifierOptions {
  /** Shortest time between two fetches of the keys (default 60 s); tests shorten it. */
  readonly keysCooldownMs?: number;
}

export function createCallerVerifier(settings: CallerSettings, options: CallerVerifierOptions = {}): CallerVerifier {
  const { jwksUrl, issuer, audiences } = settings;
  if (jwksUrl === undefined || issuer === undefined || audiences.length === 0) return NOTHING_VERIFIES;
  // Keys are cached; a token naming a kid the set lacks (a key rotation) fetches it again, at most once a minute.
  const keys = createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: options.keysCooldownMs ?? 60_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return {
    async verify(authorization) {
      if (authorization === null) {
        return { result: 'missing', message: 'A bearer token is required: send "Authorization: Bearer <token>".' };
      }
      const match = /^bearer\s+(\S+)\s*$/i.exec(authorization.trim());
      const token = match?.[1];
      // A JWT is three base64url parts; anything else (or anything huge) is refused before any key is fetched.
      if (!token || token.length > 16_384 || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
        return { result: 'invalid', message: 'The bearer token is not a JWT.' };
      }
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer,
          audience: [...audiences],
          algorithms: CALLER_ALGORITHMS,
          clockTolerance: 60,
          requiredClaims: ['exp'],
        });
        return { result: 'ok', caller: callerFromClaims(payload) };
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { result: 'expired', message: 'The bearer token has expired.' };
        return { result: 'invalid', message: `The bearer token did not verify (${reasonOf(error)}).` };
      }
    },
  };
}

/** What went wrong, in words a caller can act on; never the token or a key. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim}: ${error.reason}`;
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches it';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature is wrong';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) return (error as errors.JOSEError).code;
  return 'malformed';
}
