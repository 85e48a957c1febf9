// Owns what a request may do: in the gateway-held modes, the caller's token
// verified once per request (on first need) and its roles checked for reading
// and for adding qualifications; in forward mode Partner Center decides, and
// the caller is only named (unverified) for the audit line.

import type { Config } from '../config/config';
import { ForbiddenError, GatewayError } from '../domain/errors';
import { unverifiedClaims } from '../domain/token-claims';
import type { GatewayEvents } from '../observability/events';
import { type Caller, type CallerVerifier, callerFromClaims, DEVELOPMENT_CALLER, holdsRole } from '../sign-in/callers';
import type { GatewayToken } from '../sign-in/gateway-token';
import { GatewayCredentialsError } from '../sign-in/gateway-token';

export interface Access {
  /** Resolves when the caller may read; rejects with UNAUTHENTICATED or FORBIDDEN (MISSING_ROLE) otherwise. */
  read(): Promise<void>;
  /** Resolves when the caller may change customers (the mutations); rejects like read() otherwise. */
  write(): Promise<void>;
  /** Like read(), for the customer-base snapshot: it needs no Partner Center, so refused gateway credentials do not matter. */
  readSnapshot(): Promise<void>;
  /** Who is asking, for the audit line: verified in the gateway-held modes, read unverified in forward mode. */
  caller(): Promise<Caller | undefined>;
}

export class CallerUnauthenticatedError extends GatewayError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

export interface AccessDeps {
  readonly verifier: CallerVerifier;
  readonly token: GatewayToken;
  readonly events: GatewayEvents;
}

/** Forward mode: nothing to check here (Partner Center checks the token it receives). */
export function forwardAccess(authorization: string | undefined): Access {
  return {
    read: async () => undefined,
    write: async () => undefined,
    readSnapshot: async () => undefined,
    caller: async () => {
      const claims = unverifiedClaims(authorization);
      return claims === undefined ? undefined : callerFromClaims(claims);
    },
  };
}

/** The gateway-held modes: the caller's own token proves who it is; it never goes upstream. */
export function gatewayAccess(config: Config, request: Request, deps: AccessDeps): Access {
  const header = request.headers.get('authorization');
  let verified: Promise<Caller> | undefined;
  let forbiddenCounted = false;
  const verify = (): Promise<Caller> => {
    verified ??= (async () => {
      if (header === null && config.simulator) {
        // Simulator mode alone: a tokenless request is the development user, with every role.
        deps.events.callerAuth('ok');
        return DEVELOPMENT_CALLER;
      }
      const check = await deps.verifier.verify(header);
      deps.events.callerAuth(check.result);
      if (check.result !== 'ok') throw new CallerUnauthenticatedError(check.message);
      return check.caller;
    })();
    return verified;
  };
  const allow = async (roles: readonly string[], what: string, needsPartnerCenter = true) => {
    const caller = await verify();
    if (!holdsRole(caller, roles)) {
      if (!forbiddenCounted) deps.events.callerAuth('forbidden');
      forbiddenCounted = true;
      const error = new ForbiddenError(
        `${what} needs one of the roles ${roles.join(', ')} (in the token's roles or scp); the caller holds none of them.`,
      );
      error.extensions.reason = 'MISSING_ROLE';
      throw error;
    }
    // Entra refuses the gateway's own credentials: nothing that needs Partner Center can be served.
    if (needsPartnerCenter && !deps.token.status().ready) throw new GatewayCredentialsError();
  };
  const { readRoles, writeRoles } = config.signIn.callers;
  return {
    read: () => allow(readRoles, 'Reading customers'),
    write: () => allow(writeRoles, 'Changing a customer (adding a qualification, confirming an agreement)'),
    readSnapshot: () => allow(readRoles, 'Reading the customer base', false),
    caller: () => verify().catch(() => undefined),
  };
}
