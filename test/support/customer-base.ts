// Waiting for a gateway's background sync of the customer base, as a client
// would see it: through customerBase.sync.

import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningGateway } from './gateway';

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
