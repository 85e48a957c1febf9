// Owns reading a bearer token's JWT claims without verifying them, the one
// reader for every unverified use: the token kind (App-only or App+User) and
// the partner key that groups a forwarded token's calls. Such claims only
// ever deny or group a caller's own calls; Partner Center verifies every
// token it receives. Callers of a gateway that signs in itself are verified
// for real (src/sign-in/).

/** Largest payload segment read: a claim set larger than this is not a token Partner Center issues. */
const MAX_PAYLOAD_CHARS = 16_384;

/**
 * The claims of `Bearer <header>.<payload>.<signature>`, or undefined when the token is opaque, oversized or its
 * payload is not a JSON object.
 */
export function unverifiedClaims(authorization: string | undefined): Readonly<Record<string, unknown>> | undefined {
  const payload = authorization?.trim().split(/\s+/)[1]?.split('.')[1];
  if (!payload || payload.length > MAX_PAYLOAD_CHARS) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
