// Owns one request to Entra's token endpoint: the form body of the
// refresh-token or client-credentials grant, the timeout, and what the answer
// came to: a token, a refusal for the operator to fix (with its AADSTS code),
// or a transient failure worth retrying. Never a secret in what it returns.

import type { Dispatcher } from 'undici';
import { readText } from '../partner-center/transport';

export type Grant = 'refresh_token' | 'client_credentials';

export interface TokenGrant {
  readonly grant: Grant;
  readonly tenant: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The refresh token redeemed (refresh_token grant only). */
  readonly refreshToken?: string;
  readonly scope: string;
}

export interface IssuedToken {
  readonly accessToken: string;
  /** Epoch ms when Entra says the access token expires. */
  readonly expiresAt: number;
  /** Its whole lifetime in ms, from expires_in. */
  readonly lifetimeMs: number;
  /** The rotated refresh token, when Entra sent one. */
  readonly refreshToken?: string;
}

/** Entra refused the credentials: the operator must act (consent again, rotate the secret). */
export interface Refusal {
  readonly error: string;
  /** e.g. AADSTS700082; undefined when Entra gave none. */
  readonly aadsts: string | undefined;
  readonly status: number;
}

export type TokenOutcome =
  | { readonly kind: 'issued'; readonly token: IssuedToken }
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  /** 5xx, 429, a timeout, a lost connection or an answer that is not Entra's JSON: tried again with backoff. */
  | { readonly kind: 'failed'; readonly why: string };

/** The OAuth errors that mean the credentials themselves are wrong, expired or not consented. */
const REFUSALS = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'invalid_scope',
  'consent_required',
  'interaction_required',
]);

export interface TokenEndpointDeps {
  readonly dispatcher: Dispatcher;
  /** `https://login.microsoftonline.com` or a stand-in; the tenant and path are appended. */
  readonly authorityHost: string;
  readonly timeoutMs: number;
}

export function createTokenEndpoint({ dispatcher, authorityHost, timeoutMs }: TokenEndpointDeps) {
  return async function requestToken(grant: TokenGrant): Promise<TokenOutcome> {
    const url = new URL(`${authorityHost}/${encodeURIComponent(grant.tenant)}/oauth2/v2.0/token`);
    const form = new URLSearchParams({
      grant_type: grant.grant,
      client_id: grant.clientId,
      client_secret: grant.clientSecret,
      scope: grant.scope,
    });
    if (grant.refreshToken !== undefined) form.set('refresh_token', grant.refreshToken);
    const started = Date.now();
    let status: number;
    let text: string;
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      status = response.statusCode;
      text = await readText(response.body);
    } catch (error) {
      // The cause's code or name only: undici's messages may quote the URL, never a secret, but say no more than needed.
      const name = (error as { name?: string }).name;
      const why =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${timeoutMs} ms`
          : `${(error as { code?: string }).code ?? name ?? 'error'}`;
      return { kind: 'failed', why };
    }
    const body = parseJson(text);
    if (status >= 200 && status < 300) {
      const accessToken = body?.access_token;
      const expiresIn = Number(body?.expires_in);
      if (typeof accessToken !== 'string' || accessToken === '' || !(expiresIn > 0)) {
        return { kind: 'failed', why: `an answer ${status} without access_token and expires_in` };
      }
      const refreshToken =
        typeof body?.refresh_token === 'string' && body.refresh_token ? body.refresh_token : undefined;
      return {
        kind: 'issued',
        token: {
          accessToken,
          expiresAt: started + expiresIn * 1000,
          lifetimeMs: expiresIn * 1000,
          ...(refreshToken ? { refreshToken } : {}),
        },
      };
    }
    const error = typeof body?.error === 'string' ? body.error : undefined;
    if (
      status >= 400 &&
      status < 500 &&
      status !== 408 &&
      status !== 429 &&
      error !== undefined &&
      REFUSALS.has(error)
    ) {
      return { kind: 'refused', refusal: { error, aadsts: aadstsOf(body), status } };
    }
    return { kind: 'failed', why: `Entra answered ${status}${error ? ` (${error})` : ''}` };
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `AADSTS700082` from error_codes or the description's start; only the code, never the description's text. */
function aadstsOf(body: Record<string, unknown> | undefined): string | undefined {
  const codes = body?.error_codes;
  if (Array.isArray(codes) && Number.isInteger(codes[0])) return `AADSTS${codes[0]}`;
  const match = typeof body?.error_description === 'string' ? /AADSTS(\d{4,9})/.exec(body.error_description) : null;
  return match ? `AADSTS${match[1]}` : undefined;
}
