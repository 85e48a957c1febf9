import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';
import { defaultHandler, json, type UpstreamHandler } from './support/upstream';

const CUSTOMERS = /* GraphQL */ `
  query ($ids: [ID!]!) {
    customers(ids: $ids) { id qualifications { kind } }
  }
`;

const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => customerId(from + i));

describe('concurrency per token', () => {
  /** Calls the upstream is answering right now, and the most seen at once, per Authorization header. */
  let inFlight: Map<string, number>;
  let peak: Map<string, number>;
  let failFirstAttempts = false;

  /** Holds every call 40 ms so that calls overlap, counting how many are open at once. */
  const slowHandler: UpstreamHandler = async (call, res, attempt) => {
    const token = String(call.headers.authorization);
    const now = (inFlight.get(token) ?? 0) + 1;
    inFlight.set(token, now);
    peak.set(token, Math.max(peak.get(token) ?? 0, now));
    await sleep(40);
    inFlight.set(token, (inFlight.get(token) ?? 1) - 1);
    if (failFirstAttempts && attempt === 1) return json(res, 503, {});
    return defaultHandler(call, res, attempt);
  };

  const { upstream } = useUpstream(slowHandler);
  beforeEach(() => {
    inFlight = new Map();
    peak = new Map();
  });
  afterEach(() => {
    failFirstAttempts = false;
  });

  it('keeps at most maxConcurrencyPerToken = 4 calls in flight for 20 customers', async () => {
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 4 });
    try {
      const { body } = await gw.query<{ customers: unknown[] }>(CUSTOMERS, { ids: ids(1, 20) });
      expect(body.errors).toBeUndefined();
      expect(body.data?.customers).toHaveLength(20);
      expect(upstream.calls).toHaveLength(20);
      expect([...peak.values()]).toEqual([4]);
    } finally {
      await gw.close();
    }
  });

  it('shares the cap across concurrent requests of one token and gives each token its own', async () => {
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 4 });
    try {
      const tokenA = { authorization: 'Bearer concurrency-a' };
      const tokenB = { authorization: 'Bearer concurrency-b' };
      const responses = await Promise.all([
        gw.query(CUSTOMERS, { ids: ids(100, 10) }, tokenA),
        gw.query(CUSTOMERS, { ids: ids(200, 10) }, tokenA),
        gw.query(CUSTOMERS, { ids: ids(300, 10) }, tokenB),
      ]);
      for (const { body } of responses) expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(30);
      expect(Object.fromEntries(peak)).toEqual({ 'Bearer concurrency-a': 4, 'Bearer concurrency-b': 4 });
    } finally {
      await gw.close();
    }
  });

  it('frees the slot of a failed attempt for the next call and its retry', async () => {
    failFirstAttempts = true;
    const gw = await startGateway(upstream.url, { maxConcurrencyPerToken: 3 });
    try {
      const { body } = await gw.query(CUSTOMERS, { ids: ids(400, 9) });
      expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(18);
      expect([...peak.values()]).toEqual([3]);
    } finally {
      await gw.close();
    }
  });

  it('defaults to 32 calls in flight per token', async () => {
    const gw = await startGateway(upstream.url);
    try {
      const { body } = await gw.query(CUSTOMERS, { ids: ids(500, 40) });
      expect(body.errors).toBeUndefined();
      expect(upstream.calls).toHaveLength(40);
      expect([...peak.values()]).toEqual([32]);
    } finally {
      await gw.close();
    }
  });
});
