import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger';
import { backoffDelayMs } from '../src/partner-center/retry-timing';
import { useGateway, useUpstream } from './support/fixtures';
import { customerId, startGateway, TOKEN } from './support/gateway';
import { defaultHandler, json, startUpstream } from './support/upstream';

const QUALIFICATIONS = /* GraphQL */ `
  query ($id: ID!) {
    customer(id: $id) { id qualifications { qualification kind vettingStatus } }
  }
`;
const ADD_STATE_OWNED = /* GraphQL */ `
  mutation ($id: ID!) {
    addCustomerQualification(input: { customerId: $id, qualification: STATE_OWNED_ENTITY }) {
      qualification { qualification kind vettingStatus }
    }
  }
`;
const EDUCATION = [{ qualification: 'Education', kind: 'EDUCATION', vettingStatus: 'APPROVED' }];

/** Drops the connection before any response: the gateway sees a reset socket. */
const drop = (res: ServerResponse): void => {
  res.socket?.destroy();
};

describe('retries', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 500, requestBudgetMs: 3_000 });

  it('retries a GET after a 503 and answers from the second attempt with the same MS-RequestId', async () => {
    upstream.setHandler((call, res, attempt) =>
      attempt === 1 ? json(res, 503, { code: 500, description: 'Service unavailable' }) : defaultHandler(call, res, 1),
    );
    const id = customerId(1);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ customer: { id, qualifications: EDUCATION } });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(2);
    const [first, second] = calls;
    expect(first?.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second?.headers['ms-requestid']).toBe(first?.headers['ms-requestid']);
    expect(second?.headers['ms-correlationid']).toBe(first?.headers['ms-correlationid']);
    expect(second?.headers.authorization).toBe(TOKEN);
  });

  it('retries a dropped connection and answers from the next attempt', async () => {
    upstream.setHandler((call, res, attempt) => (attempt === 1 ? drop(res) : defaultHandler(call, res, 1)));
    const id = customerId(3);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ customer: { id, qualifications: EDUCATION } });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.headers['ms-requestid']).toBe(calls[0]?.headers['ms-requestid']);
  });

  it('fails with UPSTREAM_UNAVAILABLE after three dropped connections', async () => {
    upstream.setHandler((_call, res) => drop(res));
    const id = customerId(4);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((call) => call.headers['ms-requestid'])).size).toBe(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(body.errors?.[0]?.path).toEqual(['customer', 'qualifications']);
  });

  it('retries a 408 and reports UPSTREAM_REJECTED once three attempts are spent', async () => {
    upstream.setHandler((_call, res) => json(res, 408, { code: 408, description: 'Request timeout' }));
    const id = customerId(5);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(upstream.callsTo('qualifications', id)).toHaveLength(3);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_REJECTED');
    expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({ status: 408 });
  });

  it('answers from a retry after a 408', async () => {
    upstream.setHandler((call, res, attempt) =>
      attempt === 1 ? json(res, 408, { code: 408, description: 'Request timeout' }) : defaultHandler(call, res, 1),
    );
    const id = customerId(6);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it.each([
    [400, 'BAD_USER_INPUT'],
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [405, 'UPSTREAM_REJECTED'],
    [406, 'UPSTREAM_REJECTED'],
    [409, 'CONFLICT'],
    [412, 'UPSTREAM_REJECTED'],
    // A redirect is not followed: a 3xx, whatever its body, is not an answer.
    [300, 'UPSTREAM_BAD_RESPONSE'],
  ])('never retries a %i and reports %s', async (status, code) => {
    upstream.setHandler((_call, res) => json(res, status, { code: 20002, description: 'No', data: [], source: 'X' }));
    const id = customerId(7);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(upstream.callsTo('qualifications', id)).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe(code);
    expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({ status, code: 20002 });
  });

  it('gives each logical call its own MS-RequestId and the request one MS-CorrelationId', async () => {
    upstream.setHandler((call, res, attempt) =>
      attempt === 1 ? json(res, 500, {}) : defaultHandler(call, res, attempt),
    );
    const ids = [customerId(8), customerId(9), customerId(10)];
    const { body } = await gw.query(
      /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind } } }`,
      { ids },
    );
    expect(body.errors).toBeUndefined();
    // Two resources times three customers, each tried twice.
    expect(upstream.calls).toHaveLength(12);
    const requestIds = new Map<string, number>();
    for (const call of upstream.calls) {
      const requestId = String(call.headers['ms-requestid']);
      requestIds.set(requestId, (requestIds.get(requestId) ?? 0) + 1);
    }
    expect([...requestIds.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    expect(new Set(upstream.calls.map((call) => call.headers['ms-correlationid'])).size).toBe(1);
  });

  it('sends a POST again after a dropped connection, with the same MS-RequestId and body', async () => {
    upstream.setHandler((call, res, attempt) => (attempt === 1 ? drop(res) : defaultHandler(call, res, 1)));
    const id = customerId(14);
    const { body } = await gw.query(ADD_STATE_OWNED, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      addCustomerQualification: {
        qualification: { qualification: 'StateOwnedEntity', kind: 'STATE_OWNED_ENTITY', vettingStatus: 'IN_REVIEW' },
      },
    });
    const posts = upstream.calls.filter((call) => call.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[1]?.headers['ms-requestid']).toBe(posts[0]?.headers['ms-requestid']);
    expect(posts.map((post) => JSON.parse(post.body))).toEqual([
      { qualification: 'StateOwnedEntity' },
      { qualification: 'StateOwnedEntity' },
    ]);
  });

  it.each([500, 503, 408])('never sends a POST again after a %i response', async (status) => {
    upstream.setHandler((_call, res) => json(res, status, { code: 1, description: 'Nope' }));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(15) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.path).toEqual(['addCustomerQualification']);
    expect(body.errors?.[0]?.extensions?.code).toBe(status === 408 ? 'UPSTREAM_REJECTED' : 'UPSTREAM_UNAVAILABLE');
  });

  it('gives up on a POST after three dropped connections with UPSTREAM_UNAVAILABLE', async () => {
    upstream.setHandler((_call, res) => drop(res));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(16) });
    expect(upstream.calls).toHaveLength(3);
    expect(new Set(upstream.calls.map((call) => call.headers['ms-requestid'])).size).toBe(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('retry bounds', () => {
  const { upstream } = useUpstream((_call, res) => json(res, 503, {}));

  it.each([1, 2, 5])('makes exactly maxAttempts = %i attempts', async (maxAttempts) => {
    const gw = await startGateway(upstream.url, { maxAttempts });
    try {
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(20) });
      expect(upstream.calls).toHaveLength(maxAttempts);
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await gw.close();
    }
  });

  it('stops retrying when the next backoff would end past the request budget', async () => {
    const gw = await startGateway(upstream.url, { requestBudgetMs: 400 }, { retryBaseDelayMs: 1_000 });
    try {
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(21) });
      // A backoff of 500-1000 ms cannot end within a 400 ms budget: no second attempt is made.
      expect(upstream.calls).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await gw.close();
    }
  });
});

describe('backoff between attempts', () => {
  const { upstream } = useUpstream((_call, res) => json(res, 503, {}));

  it.each([
    ['least', 0, [100, 200]],
    ['most', 0.999, [199.8, 399.6]],
  ])('waits the documented curve with the %s jitter: 200 ms base, doubled each retry', async (_name, jitter, waits) => {
    const gw = await startGateway(upstream.url, {}, { retryBaseDelayMs: 200, random: () => jitter });
    try {
      await gw.query(QUALIFICATIONS, { id: customerId(22) });
      const [first, second, third] = upstream.calls.map((call) => call.at);
      expect(upstream.calls).toHaveLength(3);
      const gaps = [(second ?? 0) - (first ?? 0), (third ?? 0) - (second ?? 0)];
      // Timers never fire early (1 ms for the clock's rounding); the upper bound only catches a curve far off.
      gaps.forEach((gap, index) => {
        const wait = waits[index] ?? 0;
        expect(gap).toBeGreaterThanOrEqual(Math.floor(wait) - 1);
        expect(gap).toBeLessThan(wait + 1_000);
      });
    } finally {
      await gw.close();
    }
  });
});

describe('the backoff curve', () => {
  it.each([
    [2, 0, 100],
    [2, 0.5, 150],
    [3, 0, 200],
    [3, 0.5, 300],
    [4, 0.25, 500],
    [4, 1, 800],
  ])('waits before attempt %i, with jitter %d, exactly %d ms of a 200 ms base', (attempt, jitter, ms) => {
    expect(backoffDelayMs(200, attempt, jitter)).toBe(ms);
  });
});

describe('connection refused', () => {
  it('tries three times with one MS-RequestId and fails with UPSTREAM_UNAVAILABLE', async () => {
    const closed = await startUpstream();
    await closed.close();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ destination: { write: (line) => lines.push(JSON.parse(line)) } });
    const gw = await startGateway(closed.url, {}, { logger });
    try {
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(30) });
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(body.errors?.[0]?.message).toContain('ECONNREFUSED');
      const failures = lines.filter((line) => line.msg === 'partner center call failed');
      expect(failures.map((line) => line.attempt)).toEqual([1, 2, 3]);
      expect(new Set(failures.map((line) => line.requestId)).size).toBe(1);
      expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({ requestId: failures[0]?.requestId });
    } finally {
      await gw.close();
    }
  });
});
