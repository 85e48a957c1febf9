import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useGateway, useUpstream } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';
import { defaultHandler } from './support/upstream';

/** Never answers: the socket stays open until the gateway gives up or the upstream closes. */
const hang = () => undefined;

/** Sends the status line and the start of a body, then stops for good. */
const stall = (res: ServerResponse, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.write('[{"qualification":');
};

/** Sends a valid body one space at a time, every 50 ms, for up to 5 s: slower than any per-attempt timeout here. */
const trickle = async (res: ServerResponse) => {
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  res.writeHead(200, { 'content-type': 'application/json' });
  for (let i = 0; i < 100 && !closed; i++) {
    res.write(' ');
    await sleep(50);
  }
  if (!closed) res.end('[]');
};

describe('timeouts', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 200, requestBudgetMs: 3_000 });

  it('gives up on a GET that never answers after three attempts with UPSTREAM_TIMEOUT', async () => {
    upstream.setHandler(hang);
    const id = customerId(1);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    // Three calls to an upstream that never answers: each attempt was abandoned at its own timeout, not the budget's.
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((call) => call.headers['ms-requestid'])).size).toBe(1);
    expect(body.data).toEqual({ customer: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.path).toEqual(['customer', 'qualifications']);
    expect(body.errors?.[0]?.message).toBe('Partner Center gave no answer in time (no answer within 200 ms).');
    expect(body.errors?.[0]?.extensions).toEqual({
      code: 'UPSTREAM_TIMEOUT',
      upstream: { requestId: calls[0]?.headers['ms-requestid'], correlationId: calls[0]?.headers['ms-correlationid'] },
    });
  });

  it('answers from a retry after the first attempt hung', async () => {
    upstream.setHandler((call, res, attempt) => (attempt === 1 ? hang() : defaultHandler(call, res, attempt)));
    const id = customerId(2);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      customer: { id, qualifications: [{ qualification: 'Education', kind: 'EDUCATION' }] },
    });
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it('times out a body that starts and stops, on every attempt', async () => {
    upstream.setHandler((_call, res) => stall(res));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(3) });
    expect(upstream.calls).toHaveLength(3);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', upstream: { status: 200 } });
  });

  it('times out a body that keeps trickling past the per-attempt timeout', async () => {
    upstream.setHandler((_call, res) => trickle(res));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(4) });
    expect(upstream.calls).toHaveLength(3);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('retries a 503 whose body stalls and reports UPSTREAM_TIMEOUT', async () => {
    upstream.setHandler((_call, res) => stall(res, 503));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(5) });
    expect(upstream.calls).toHaveLength(3);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', upstream: { status: 503 } });
  });

  it('times out only the hanging customer while the others resolve', async () => {
    const hanging = customerId(6);
    upstream.setHandler((call, res, attempt) =>
      call.customerId === hanging ? hang() : defaultHandler(call, res, attempt),
    );
    const ids = [customerId(7), hanging];
    const { body } = await gw.query<{ customers: unknown[] }>(
      /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned } }`,
      { ids },
    );
    expect(body.data?.customers).toEqual([
      { id: ids[0], mcaDirectlySigned: true },
      { id: hanging, mcaDirectlySigned: null },
    ]);
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customers', 1, 'mcaDirectlySigned'], 'UPSTREAM_TIMEOUT'],
    ]);
  });

  it('sends a POST again after it timed out with no response, with the same MS-RequestId', async () => {
    upstream.setHandler((call, res, attempt) => (attempt === 1 ? hang() : defaultHandler(call, res, attempt)));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(8) });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ addCustomerQualification: { qualification: { kind: 'STATE_OWNED_ENTITY' } } });
    expect(upstream.calls).toHaveLength(2);
    expect(upstream.calls[1]?.headers['ms-requestid']).toBe(upstream.calls[0]?.headers['ms-requestid']);
  });

  it('never sends a POST again once its response started, even when the body stalls', async () => {
    upstream.setHandler((_call, res) => stall(res, 201));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(9) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', upstream: { status: 201 } });
  });
});

describe('request budget', () => {
  const { upstream } = useUpstream(hang);

  it('cuts an attempt short at the end of the budget and makes no further attempt', async () => {
    const gw = await startGateway(upstream.url, { attemptTimeoutMs: 5_000, requestBudgetMs: 400 });
    try {
      const started = Date.now();
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(10) });
      // Cut by the 400 ms budget, not the 5 s attempt timeout: the margin is wide enough for a noisy machine.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(upstream.calls).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    } finally {
      await gw.close();
    }
  });

  it('makes only the attempts that fit in the budget', async () => {
    // 300 ms attempts in a 500 ms budget: the second attempt is cut short at the deadline and no third one starts.
    const gw = await startGateway(upstream.url, { attemptTimeoutMs: 300, requestBudgetMs: 500, maxAttempts: 10 });
    try {
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(11) });
      expect(upstream.calls).toHaveLength(2);
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    } finally {
      await gw.close();
    }
  });

  it('fails a call still waiting for a concurrency slot at the end of the budget, without calling', async () => {
    const gw = await startGateway(upstream.url, {
      attemptTimeoutMs: 5_000,
      requestBudgetMs: 400,
      maxConcurrencyPerToken: 1,
    });
    try {
      const started = Date.now();
      const { body } = await gw.query(
        /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`,
        { ids: [customerId(12), customerId(13)] },
      );
      // Both end with the 400 ms budget, long before the first call's 5 s attempt timeout would free the slot.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(upstream.calls).toHaveLength(1);
      expect(body.data).toEqual({ customers: [null, null] });
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT']);
    } finally {
      await gw.close();
    }
  });
});
