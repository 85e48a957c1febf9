// Concurrency per token: at most maxConcurrencyPerToken upstream calls in
// flight for one token, shared by its concurrent requests, separate per token.
// The upstream holds every call until the test opens it, so the peak is set by
// the gateway's limit and not by how fast this machine happens to be.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerIds, startGateway } from './support/gateway';
import { createHold, defaultHandler, type Hold, json, type UpstreamHandler } from './support/upstream';

const CUSTOMERS = /* GraphQL */ `
  query ($ids: [ID!]!) {
    customers(ids: $ids) { id qualifications { kind } }
  }
`;

describe('concurrency per token', () => {
  let hold: Hold = createHold();
  let answer: UpstreamHandler = defaultHandler;
  const { upstream } = useUpstream((call, res, attempt) => hold.handler(answer)(call, res, attempt));

  /**
   * Starts `send`, waits until `held` calls are held at once, gives a gateway that ignored its limit a moment to
   * send more (a correct one never does, however long it is given), then lets everything through.
   */
  async function whileHolding<T>(held: number, send: () => Promise<T>): Promise<T> {
    const pending = send();
    await hold.untilHeld(held);
    await sleep(100);
    hold.open();
    return pending;
  }

  it('keeps at most maxConcurrencyPerToken = 4 calls in flight for 20 customers', async () => {
    hold = createHold();
    answer = defaultHandler;
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 4 });
    try {
      const { body } = await whileHolding(4, () =>
        gw.query<{ customers: unknown[] }>(CUSTOMERS, { ids: customerIds(20, 1) }),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data?.customers).toHaveLength(20);
      expect(upstream.calls).toHaveLength(20);
      expect([...hold.peak.values()]).toEqual([4]);
    } finally {
      await gw.close();
    }
  });

  it('shares the cap across concurrent requests of one token and gives each token its own', async () => {
    hold = createHold();
    answer = defaultHandler;
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 4 });
    try {
      const tokenA = { authorization: 'Bearer concurrency-a' };
      const tokenB = { authorization: 'Bearer concurrency-b' };
      const responses = await whileHolding(8, () =>
        Promise.all([
          gw.query(CUSTOMERS, { ids: customerIds(10, 100) }, tokenA),
          gw.query(CUSTOMERS, { ids: customerIds(10, 200) }, tokenA),
          gw.query(CUSTOMERS, { ids: customerIds(10, 300) }, tokenB),
        ]),
      );
      for (const { body } of responses) expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(30);
      expect(Object.fromEntries(hold.peak)).toEqual({ 'Bearer concurrency-a': 4, 'Bearer concurrency-b': 4 });
    } finally {
      await gw.close();
    }
  });

  it('frees the slot of a failed attempt for the next call and its retry', async () => {
    hold = createHold();
    answer = (call, res, attempt) => (attempt === 1 ? json(res, 503, {}) : defaultHandler(call, res, attempt));
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 3 });
    try {
      const { body } = await whileHolding(3, () => gw.query(CUSTOMERS, { ids: customerIds(9, 400) }));
      expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(18);
      expect([...hold.peak.values()]).toEqual([3]);
    } finally {
      await gw.close();
    }
  });

  it('opens at most poolConnections connections to Partner Center; the other calls wait for one', async () => {
    hold = createHold();
    answer = defaultHandler;
    const gw = await startGateway(upstream.url, { poolConnections: 2 });
    try {
      const { body } = await whileHolding(2, () => gw.query(CUSTOMERS, { ids: customerIds(6, 600) }));
      expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(6);
      expect([...hold.peak.values()]).toEqual([2]);
      expect(new Set(upstream.calls.map((call) => call.remotePort)).size).toBe(2);
    } finally {
      await gw.close();
    }
  });

  it('defaults to 32 calls in flight per token', async () => {
    hold = createHold();
    answer = defaultHandler;
    const gw = await startGateway(upstream.url);
    try {
      const { body } = await whileHolding(32, () => gw.query(CUSTOMERS, { ids: customerIds(40, 500) }));
      expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(40);
      expect([...hold.peak.values()]).toEqual([32]);
    } finally {
      await gw.close();
    }
  });
});
