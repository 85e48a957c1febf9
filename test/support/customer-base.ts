// A gateway syncing the customer base, as the customer-base tests start it,
// and waiting for its first pass as a client would see it: through
// customerBase.sync.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/config/config';
import { type EntraStandIn, startEntra } from './entra';
import type { RunningGateway } from './gateway';
import { bearer, signInSettings, startSignedInGateway } from './sign-in';
import { startUpstream, type Upstream, type UpstreamHandler } from './upstream';

/** Resolves once customerBase.sync says a pass has ended (bounded: 30 s); `headers` carry the caller's token. */
export async function firstPassEnded(gw: RunningGateway, headers: Record<string, string>): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    const { body } = await gw.query<{ customerBase: { sync: { lastPassCompletedAt: string | null } } }>(
      '{ customerBase { sync { lastPassCompletedAt } } }',
      undefined,
      headers,
    );
    if (body.data?.customerBase.sync.lastPassCompletedAt) return;
    await sleep(50);
  }
  throw new Error('the first pass of the customer-base sync never ended');
}

/** A Partner Center stand-in, an Entra stand-in, a caller with the read role, and a gateway whose first pass ended. */
export interface SyncedGateway {
  readonly upstream: Upstream;
  readonly entra: EntraStandIn;
  /** A caller's token with the default (read) role. */
  readonly caller: string;
  readonly gw: RunningGateway;
  close(): Promise<void>;
}

/**
 * Starts all of it with the stand-in answering `handler`, and the sync fast enough to end its first pass at once;
 * `overrides` are further settings of the gateway.
 */
export async function startSyncedGateway(
  handler: UpstreamHandler,
  overrides: Partial<Config> = {},
): Promise<SyncedGateway> {
  const upstream = await startUpstream(handler);
  const entra = await startEntra();
  const caller = await entra.signCallerToken();
  const gw = await startSignedInGateway(upstream.url, signInSettings(entra), {
    ratePerMinute: 600_000,
    syncRatePerMinute: 300_000,
    ...overrides,
  });
  await firstPassEnded(gw, bearer(caller));
  return {
    upstream,
    entra,
    caller,
    gw,
    async close() {
      await gw.close();
      await entra.close();
      await upstream.close();
    },
  };
}
