// Owns the gateway's own Partner Center access token in the app-user and app
// modes: one token for every request until shortly before it expires, one
// token request for all the requests that find it missing or stale, retries
// with backoff when Entra fails, and the refused state (credentials the
// operator must fix) with a retry at most once a minute, which reads the
// `_FILE` settings afresh.

import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretSetting } from '../config/sign-in-settings';
import { GatewayError } from '../domain/errors';
import type { GatewayEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import { type CredentialStore, type SignInState, seedOf } from './credential-store';
import type { Grant, Refusal, TokenGrant, TokenOutcome } from './token-endpoint';

/** How Entra's refusals read for the operator: what the AADSTS code means and what to do. */
const ADVICE: Readonly<Record<string, string>> = {
  AADSTS700082:
    'the refresh token expired: a partner user must consent again with multi-factor authentication and the new refresh token must replace PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS70000:
    'the refresh token was already redeemed or revoked: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS70008: 'the refresh token expired: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS50076:
    'multi-factor authentication is required: consent again, signing in with MFA, and set the new PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS50078:
    'the multi-factor authentication expired: consent again, signing in with MFA, and set the new PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS50079:
    'multi-factor authentication must be registered: the partner user registers MFA, consents again, and the new refresh token replaces PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS70043:
    'a Conditional Access sign-in frequency ended the refresh token: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN',
  AADSTS7000215:
    'the client secret is wrong: set the current secret of the app registration in PARTNER_CENTER_CLIENT_SECRET',
  AADSTS7000222:
    'the client secret expired: create a new secret in the app registration and rotate PARTNER_CENTER_CLIENT_SECRET',
  AADSTS700016: 'the app is not known in this tenant: check PARTNER_CENTER_CLIENT_ID and PARTNER_CENTER_TENANT_ID',
  AADSTS65001: 'the app has not been consented to: a partner admin must consent to it',
};

function adviceFor(refusal: Refusal): string {
  const known = refusal.aadsts === undefined ? undefined : ADVICE[refusal.aadsts];
  if (known) return known;
  if (refusal.error === 'invalid_client' || refusal.error === 'unauthorized_client') {
    return 'check PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET and the app registration';
  }
  return 'consent again with multi-factor authentication and set the new PARTNER_CENTER_REFRESH_TOKEN';
}

/** Fields that need Partner Center fail with this while Entra refuses the gateway's credentials. */
export class GatewayCredentialsError extends GatewayError {
  constructor() {
    super(
      'UNAUTHENTICATED',
      "The gateway cannot sign in to Partner Center: Microsoft Entra ID refused its credentials. The operator must renew them (see the gateway's log and /ready).",
      { reason: 'GATEWAY_CREDENTIALS' },
    );
  }
}

export type SignInStatus =
  | { readonly ready: true }
  | {
      readonly ready: false;
      readonly reason: 'GATEWAY_CREDENTIALS';
      readonly error: string;
      readonly aadsts: string | undefined;
      readonly action: string;
    };

export interface GatewayToken {
  /** `Bearer <access token>` for Partner Center; waits for a renewal until `deadline` when none is valid. */
  authorization(deadline: number): Promise<string>;
  /** Whether the credentials are refused (for /ready and for refusing fields before any call). */
  status(): SignInStatus;
  /** Signs in once in the background (at start), so the first request finds a token or the refusal. */
  start(): void;
  close(): void;
}

export interface GatewayTokenOptions {
  readonly grant: Grant;
  readonly tenant: string;
  readonly clientId: string;
  readonly clientSecret: SecretSetting;
  readonly refreshToken?: SecretSetting;
  readonly scope: string;
  readonly requestToken: (grant: TokenGrant) => Promise<TokenOutcome>;
  readonly store: CredentialStore;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  /** Shortest wait between two tries while refused (default 60 s). */
  readonly refusedRetryMs?: number;
  /** First backoff step after a transient failure (default 500 ms), doubled each try. */
  readonly retryBaseMs?: number;
  /** Tries of one renewal before it gives up for now (default 5). */
  readonly maxTries?: number;
}

/** Renewed once less than min(5 minutes, half its lifetime) of it remains. */
export const renewalMarginMs = (lifetimeMs: number) => Math.min(5 * 60_000, lifetimeMs / 2);

export function createGatewayToken(options: GatewayTokenOptions): GatewayToken {
  const { logger, events, store } = options;
  const refusedRetryMs = options.refusedRetryMs ?? 60_000;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const maxTries = options.maxTries ?? 5;
  let current: { token: string; expiresAt: number; renewAt: number } | undefined;
  let renewing: Promise<void> | undefined;
  let refused: { refusal: Refusal; triedAt: number } | undefined;
  /** After a renewal gave up on transient failures, the next one waits this long unless no token is left. */
  let quietUntil = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const keep = (access: { token: string; expiresAt: number; lifetimeMs: number }) => {
    current = {
      token: access.token,
      expiresAt: access.expiresAt,
      renewAt: access.expiresAt - renewalMarginMs(access.lifetimeMs),
    };
  };

  const onRefused = (refusal: Refusal) => {
    const changed =
      refused === undefined || refused.refusal.error !== refusal.error || refused.refusal.aadsts !== refusal.aadsts;
    refused = { refusal, triedAt: Date.now() };
    if (changed) {
      logger.error(
        { grant: options.grant, error: refusal.error, aadsts: refusal.aadsts, status: refusal.status },
        `Entra refused the gateway's credentials (${refusal.aadsts ?? refusal.error}): ${adviceFor(refusal)}. Fields that need Partner Center fail with UNAUTHENTICATED (GATEWAY_CREDENTIALS) and /ready answers 503; the gateway tries again every minute.`,
      );
    }
    scheduleRetry();
  };

  /** While refused, a timer tries again at most once a minute, so /ready turns 200 without a request. */
  const scheduleRetry = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (refused && !closed) void renew().catch(() => undefined);
    }, refusedRetryMs);
    retryTimer.unref();
  };

  /** One token request, through the store's lock; the state to keep for every replica. */
  const redeem = async (
    state: SignInState,
  ): Promise<{ state?: SignInState; result: TokenOutcome | { kind: 'shared' } }> => {
    const now = Date.now();
    // Another replica renewed while this one waited for the lock: its token serves here too.
    const configured = options.refreshToken?.read();
    const seed = configured === undefined ? undefined : seedOf(configured);
    const sameChain = state.seed === seed;
    if (
      sameChain &&
      state.access &&
      now < state.access.expiresAt - renewalMarginMs(state.access.lifetimeMs) &&
      state.access.token !== current?.token
    ) {
      keep(state.access);
      return { result: { kind: 'shared' } };
    }
    // The newest refresh token of the chain, unless the operator configured a new one (a new consent).
    const refreshToken =
      options.grant === 'refresh_token' ? (sameChain && state.refreshToken) || configured : undefined;
    const outcome = await options.requestToken({
      grant: options.grant,
      tenant: options.tenant,
      clientId: options.clientId,
      clientSecret: options.clientSecret.read(),
      scope: options.scope,
      ...(refreshToken === undefined ? {} : { refreshToken }),
    });
    events.tokenRequest(
      options.grant,
      outcome.kind === 'issued' ? 'ok' : outcome.kind === 'refused' ? 'refused' : 'error',
    );
    if (outcome.kind !== 'issued') return { result: outcome };
    const { token } = outcome;
    return {
      state: {
        access: { token: token.accessToken, expiresAt: token.expiresAt, lifetimeMs: token.lifetimeMs },
        ...(options.grant === 'refresh_token' ? { refreshToken: token.refreshToken ?? refreshToken, seed } : {}),
      },
      result: outcome,
    };
  };

  const renewOnce = async (): Promise<void> => {
    for (let attempt = 1; attempt <= maxTries && !closed; attempt++) {
      if (attempt > 1) await sleep(retryBaseMs * 2 ** (attempt - 2));
      const outcome = await store.renew(redeem);
      if (outcome.kind === 'issued' || outcome.kind === 'shared') {
        if (outcome.kind === 'issued') keep({ token: outcome.token.accessToken, ...outcome.token });
        if (refused) logger.info({ grant: options.grant }, "Entra accepts the gateway's credentials again");
        refused = undefined;
        quietUntil = 0;
        return;
      }
      if (outcome.kind === 'refused') {
        onRefused(outcome.refusal);
        return;
      }
      logger.warn(
        { grant: options.grant, attempt, why: outcome.why },
        'Entra token request failed; trying again with backoff',
      );
    }
    quietUntil = Date.now() + retryBaseMs * 2 ** maxTries;
  };

  const renew = (): Promise<void> => {
    renewing ??= renewOnce().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };

  const status = (): SignInStatus =>
    refused === undefined
      ? { ready: true }
      : {
          ready: false,
          reason: 'GATEWAY_CREDENTIALS',
          error: refused.refusal.error,
          aadsts: refused.refusal.aadsts,
          action: adviceFor(refused.refusal),
        };

  return {
    async authorization(deadline) {
      if (refused) {
        // A caller's request never hastens the once-a-minute retry: the timer makes it.
        throw new GatewayCredentialsError();
      }
      const now = Date.now();
      if (current && now < current.renewAt) return `Bearer ${current.token}`;
      if (current && now < current.expiresAt) {
        // Still valid: it serves while one renewal runs in the background.
        if (now >= quietUntil) void renew().catch(() => undefined);
        return `Bearer ${current.token}`;
      }
      const waited = renew();
      const remaining = deadline - Date.now();
      const timedOut = Symbol('timed out');
      const ended = await Promise.race([
        waited.then(() => undefined),
        sleep(Math.max(0, remaining), timedOut, { ref: false }),
      ]);
      if (refused) throw new GatewayCredentialsError();
      if (ended !== timedOut && current && Date.now() < current.expiresAt) return `Bearer ${current.token}`;
      throw new GatewayError(
        'UPSTREAM_UNAVAILABLE',
        'The gateway could not sign in to Partner Center: Microsoft Entra ID did not answer in time. Try again shortly.',
      );
    },
    status,
    start() {
      void renew().catch(() => undefined);
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
    },
  };
}
