// A gateway that signs in itself, in process: its sign-in settings pointed at
// an Entra stand-in (test/support/entra.ts) and its Partner Center at a
// loopback stand-in, with the waits that tests shorten.

import type { Config } from '../../src/config/config';
import { type AuthMode, SecretSetting, type SignInSettings } from '../../src/config/sign-in-settings';
import type { GatewayDeps } from '../../src/gateway';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_REFRESH_TOKEN,
  DEFAULT_TENANT,
  type EntraStandIn,
} from './entra';
import { type RunningGateway, startGateway } from './gateway';

/** The settings of a gateway signing in to `entra` in `mode`; `overrides` replace any of them. */
export function signInSettings(
  entra: EntraStandIn,
  mode: Exclude<AuthMode, 'forward'> = 'app-user',
  overrides: Partial<SignInSettings> = {},
): SignInSettings {
  return {
    mode,
    tenantId: DEFAULT_TENANT,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: new SecretSetting(DEFAULT_CLIENT_SECRET),
    refreshToken: mode === 'app-user' ? new SecretSetting(DEFAULT_REFRESH_TOKEN) : undefined,
    tokenEncryptionKey: undefined,
    authorityHost: entra.url,
    callers: {
      jwksUrl: entra.jwksUri(),
      issuer: entra.issuer(),
      audiences: [DEFAULT_AUDIENCE],
      readRoles: ['PartnerCenter.Read', 'PartnerCenter.Write'],
      writeRoles: ['PartnerCenter.Write'],
    },
    ...overrides,
  };
}

/** Starts the gateway with `signIn`, retries and refusal retries made short. */
export function startSignedInGateway(
  upstreamUrl: string,
  signIn: SignInSettings,
  overrides: Partial<Config> = {},
  deps: GatewayDeps = {},
): Promise<RunningGateway> {
  return startGateway(
    upstreamUrl,
    { signIn, ...overrides },
    { ...deps, signIn: { retryBaseMs: 20, refusedRetryMs: 300, ...deps.signIn } },
  );
}

/** `Authorization: Bearer <token>` headers for gw.query. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
