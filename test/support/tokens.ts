// Bearer tokens as tests send them: unsigned JWT-shaped tokens, read by the
// gateway without verification in forward mode (token kind, partner key).

/** `Bearer <header>.<payload>.<signature>`, base64url JSON parts; the signature is a placeholder no one checks. */
export function unsignedJwt(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'none' },
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `Bearer ${part(header)}.${part(claims)}.c2lnbmF0dXJl`;
}
