// Owns the assembly of a gateway that signs in itself (PARTNER_CENTER_AUTH
// app-user or app): the token endpoint, where the sign-in is kept (memory, or
// Redis encrypted), the gateway's token, the callers' verifier, and the one
// identity (the partner tenant) under which cache, coalescing, windows and
// pacing hold every caller's calls.

import { Agent, type Dispatcher } from 'undici';
import type { Config } from '../config/config';
import { encryptionKeyBytes, PARTNER_CENTER_SCOPE } from '../config/sign-in-settings';
import { canonicalCustomerId } from '../domain/guid';
import type { TokenIdentity } from '../domain/upstream';
import type { GatewayEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import { tokenDigest } from '../quota/partner-key';
import type { SharedRedis } from '../quota/redis';
import { type CallerVerifier, createCallerVerifier } from './callers';
import { createMemoryCredentialStore, createRedisCredentialStore } from './credential-store';
import { createGatewayToken, type GatewayToken } from './gateway-token';
import { createSealer } from './sealed';
import { createTokenEndpoint } from './token-endpoint';

export interface SignIn {
  readonly token: GatewayToken;
  readonly verifier: CallerVerifier;
  /** The partner: every caller's calls are grouped, cached and paced under it. */
  readonly identity: TokenIdentity;
  close(): Promise<void>;
}

export interface SignInDeps {
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly redis: SharedRedis | undefined;
  /** Where token requests go; a keep-alive Agent of its own by default. */
  readonly dispatcher?: Dispatcher;
  /** Tests shorten the waits: the refused retry (60 s) and the first backoff step (500 ms). */
  readonly refusedRetryMs?: number;
  readonly retryBaseMs?: number;
  /** Shortest time between two fetches of the callers' keys (60 s). */
  readonly keysCooldownMs?: number;
}

/** Undefined in forward mode, where callers' tokens go to Partner Center as they are. */
export function createSignIn(config: Config, deps: SignInDeps): SignIn | undefined {
  const settings = config.signIn;
  if (settings.mode === 'forward') return undefined;
  const { tenantId, clientId, clientSecret } = settings;
  if (tenantId === undefined || clientId === undefined || clientSecret === undefined) {
    throw new Error('createSignIn needs the tenant, client id and client secret (config validation lets none pass)');
  }
  const ownsDispatcher = deps.dispatcher === undefined;
  const dispatcher = deps.dispatcher ?? new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  const requestToken = createTokenEndpoint({ dispatcher, authorityHost: settings.authorityHost, timeoutMs: 10_000 });
  const tenant = canonicalCustomerId(tenantId) ?? tenantId.toLowerCase();
  const keyBytes = settings.tokenEncryptionKey && encryptionKeyBytes(settings.tokenEncryptionKey.read());
  // Shared through Redis only when it can be encrypted there; app mode without TOKEN_ENCRYPTION_KEY keeps it local.
  const store =
    deps.redis && keyBytes
      ? createRedisCredentialStore({
          redis: deps.redis,
          sealer: createSealer(keyBytes),
          name: `${tenant}:${clientId}`,
          logger: deps.logger,
        })
      : createMemoryCredentialStore();
  const grant = settings.mode === 'app-user' ? 'refresh_token' : 'client_credentials';
  const token = createGatewayToken({
    grant,
    tenant,
    clientId,
    clientSecret,
    ...(settings.refreshToken ? { refreshToken: settings.refreshToken } : {}),
    scope: grant === 'refresh_token' ? `${PARTNER_CENTER_SCOPE} offline_access` : PARTNER_CENTER_SCOPE,
    requestToken,
    store,
    logger: deps.logger,
    events: deps.events,
    ...(deps.refusedRetryMs === undefined ? {} : { refusedRetryMs: deps.refusedRetryMs }),
    ...(deps.retryBaseMs === undefined ? {} : { retryBaseMs: deps.retryBaseMs }),
  });
  return {
    token,
    verifier: createCallerVerifier(settings.callers, { keysCooldownMs: deps.keysCooldownMs }),
    identity: { digest: tokenDigest(`partner:${tenant}:${clientId}`), partner: `tenant:${tenant}` },
    async close() {
      token.close();
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
