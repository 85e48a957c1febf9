// Helpers the quota tests share: tokens that name a partner tenant, upstream
// answers held until the test lets them go, and the gateway's events recorded
// so a test can wait for what it needs instead of sleeping.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from '../../src/domain/upstream';
import type { GatewayEvents, UpstreamAttempt } from '../../src/observability/events';
import { TOKEN } from './gateway';
import { unsignedJwt } from './tokens';
import type { RecordedCall, UpstreamHandler } from './upstream';

/** An unsigned JWT carrying `claims` (a Partner Center token as the gateway reads it, without verifying). */
export function jwt(claims: Record<string, unknown>): string {
  return unsignedJwt({ scp: 'user_impersonation', ...claims }, { alg: 'RS256', typ: 'JWT' });
}

export const TENANT_A = '11111111-1111-4111-8111-111111111111';
export const TENANT_B = '22222222-2222-4222-8222-222222222222';

/** Polls `condition` every 5 ms for at most 10 s; throws naming `what` when it never holds. */
export async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Wraps `handler` so that every answer waits until `release()`; calls are still recorded on arrival. */
export function held(handler: UpstreamHandler): { handler: UpstreamHandler; release(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    handler: async (call: RecordedCall, res, attempt) => {
      await gate;
      return handler(call, res, attempt);
    },
    release: () => open(),
  };
}

export interface RecordedEvents extends GatewayEvents {
  readonly lookups: Array<{ resource: Resource; result: 'hit' | 'miss' | 'coalesced' }>;
  readonly throttles: Array<'window' | 'pacing'>;
  readonly attempts: UpstreamAttempt[];
  readonly tokenRequests: Array<{ grant: string; result: string }>;
  readonly callerAuths: string[];
}

export function recordEvents(): RecordedEvents {
  const lookups: RecordedEvents['lookups'] = [];
  const throttles: RecordedEvents['throttles'] = [];
  const attempts: UpstreamAttempt[] = [];
  const tokenRequests: RecordedEvents['tokenRequests'] = [];
  const callerAuths: string[] = [];
  return {
    lookups,
    throttles,
    attempts,
    tokenRequests,
    callerAuths,
    tokenRequest: (grant, result) => tokenRequests.push({ grant, result }),
    callerAuth: (result) => callerAuths.push(result),
    syncCall: () => undefined,
    customerChange: () => undefined,
    upstreamAttempt: (attempt) => attempts.push(attempt),
    cacheLookup: (resource, result) => lookups.push({ resource, result }),
    throttled: (reason) => throttles.push(reason),
  };
}

/** Sends a GraphQL request that the test abandons mid-way with `abandon()`, as a closing browser tab would. */
export function abandonable(url: string, query: string, variables: Record<string, unknown>, authorization = TOKEN) {
  const controller = new AbortController();
  const response = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  }).catch(() => undefined);
  return { abandon: () => controller.abort(), response };
}
