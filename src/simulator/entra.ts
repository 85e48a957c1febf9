// Owns the simulator's Entra ID: the token endpoint a gateway that signs in
// itself calls in simulator mode (refresh-token and client-credentials
// grants, refresh tokens rotated on every redemption), with the development
// credentials main.ts configures. Access tokens are opaque development
// tokens; the simulated Partner Center takes any bearer token.

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { send } from './answers';

/** The credentials main.ts gives a gateway that signs in to the simulator. */
export const SIMULATED_SIGN_IN = Object.freeze({
  tenantId: '5e1a7ed0-0000-4000-8000-00000000000d',
  clientId: 'simulator-gateway-app',
  clientSecret: 'simulator-gateway-secret',
  refreshToken: 'simulator-refresh-token-0',
});

/** Access tokens live an hour, as Entra's do. */
const EXPIRES_IN = 3_600;

export function createSimulatedEntra() {
  let refreshToken: string = SIMULATED_SIGN_IN.refreshToken;
  let issued = 0;
  /** Answers `POST /{tenant}/oauth2/v2.0/token`; false when the path is not Entra's. */
  return function answerEntra(method: string, path: string, body: string, res: ServerResponse): boolean {
    if (!/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path)) return false;
    if (method !== 'POST') {
      send(res, 405, { error: 'invalid_request', error_description: 'AADSTS900561: The endpoint only accepts POST.' });
      return true;
    }
    const form = new URLSearchParams(body);
    if (
      form.get('client_id') !== SIMULATED_SIGN_IN.clientId ||
      form.get('client_secret') !== SIMULATED_SIGN_IN.clientSecret
    ) {
      send(res, 401, {
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret provided.',
        error_codes: [7000215],
      });
      return true;
    }
    const grant = form.get('grant_type');
    if (grant === 'refresh_token') {
      if (form.get('refresh_token') !== refreshToken) {
        send(res, 400, {
          error: 'invalid_grant',
          error_description: 'AADSTS70000: The provided grant has expired or was already redeemed.',
          error_codes: [70000],
        });
        return true;
      }
      refreshToken = `simulator-refresh-token-${++issued}`;
    } else if (grant !== 'client_credentials') {
      send(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'AADSTS70003: The grant type is not supported.',
      });
      return true;
    }
    send(res, 200, {
      token_type: 'Bearer',
      expires_in: EXPIRES_IN,
      ext_expires_in: EXPIRES_IN,
      scope: form.get('scope') ?? '',
      access_token: `simulator-access-token-${randomUUID()}`,
      ...(grant === 'refresh_token' ? { refresh_token: refreshToken } : {}),
    });
    return true;
  };
}
