import { describe, expect, it } from 'vitest';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useGateway } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';
import { defaultHandler, json, type UpstreamHandler } from './support/upstream';

const RATE_LIMITED = { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' };

/** Answers the first attempt of every call with a 429 carrying `retryAfter`, later attempts normally. */
const throttleFirstAttempt =
  (retryAfter: () => string): UpstreamHandler =>
  (call, res, attempt) =>
    attempt === 1 ? json(res, 429, RATE_LIMITED, { 'retry-after': retryAfter() }) : defaultHandler(call, res, attempt);

let tokens = 0;
/** Windows are remembered per token for the gateway's lifetime, so each test sends its own token. */
const freshToken = () => ({ authorization: `Bearer throttling-token-${++tokens}` });

describe('throttling', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 1_000, requestBudgetMs: 3_000 });

  it('waits out a 429 whose Retry-After in seconds ends within the budget, with the same MS-RequestId', async () => {
    upstream.setHandler(throttleFirstAttempt(() => '1'));
    const id = customerId(1);
    const started = Date.now();
    const { body } = await gw.query(QUALIFICATIONS, { id }, freshToken());
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      customer: { id, qualifications: [{ qualification: 'Education', kind: 'EDUCATION' }] },
    });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.headers['ms-requestid']).toBe(calls[0]?.headers['ms-requestid']);
  });

  it('waits out a 429 whose Retry-After HTTP date falls within the budget', async () => {
    upstream.setHandler(throttleFirstAttempt(() => new Date(Date.now() + 1_000).toUTCString()));
    const id = customerId(2);
    const started = Date.now();
    const { body } = await gw.query(QUALIFICATIONS, { id }, freshToken());
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it('fails at once with UPSTREAM_THROTTLED when Retry-After seconds outlast the budget', async () => {
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '57' }));
    const id = customerId(3);
    const started = Date.now();
    const { body } = await gw.query(QUALIFICATIONS, { id }, freshToken());
    expect(Date.now() - started).toBeLessThan(1_000);
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(1);
    expect(body.data).toEqual({ customer: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.path).toEqual(['customer', 'qualifications']);
    expect(body.errors?.[0]?.message).toContain('Rate limit is exceeded');
    expect(body.errors?.[0]?.extensions).toEqual({
      code: 'UPSTREAM_THROTTLED',
      retryAfterSeconds: 57,
      upstream: {
        status: 429,
        requestId: calls[0]?.headers['ms-requestid'],
        correlationId: calls[0]?.headers['ms-correlationid'],
      },
    });
  });

  it('fails at once with UPSTREAM_THROTTLED when a Retry-After HTTP date lies past the budget', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 429, RATE_LIMITED, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(4) }, freshToken());
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    const seconds = body.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(seconds).toBeGreaterThanOrEqual(118);
    expect(seconds).toBeLessThanOrEqual(120);
  });

  it('reads the wait from the message when the 429 has no Retry-After header', async () => {
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(5) }, freshToken());
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 57 });
  });

  it("fails fast while a token's window is open, without calling Partner Center, and spares other tokens", async () => {
    const token = freshToken();
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '57' }));
    await gw.query(QUALIFICATIONS, { id: customerId(6) }, token);
    expect(upstream.calls).toHaveLength(1);

    upstream.setHandler(defaultHandler);
    const started = Date.now();
    const { body } = await gw.query(
      /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id mcaDirectlySigned qualifications { kind } } }`,
      { id: customerId(7) },
      token,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['UPSTREAM_THROTTLED', 'UPSTREAM_THROTTLED']);
    for (const error of body.errors ?? []) {
      expect(error.extensions?.retryAfterSeconds).toBeGreaterThan(50);
      expect(error.extensions?.retryAfterSeconds).toBeLessThanOrEqual(57);
    }

    const other = await gw.query(QUALIFICATIONS, { id: customerId(7) }, freshToken());
    expect(other.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
  });

  it('holds a later request of the same token until the window closes instead of calling into it', async () => {
    // Partner Center's own window: every call arriving before it closes gets a 429.
    let windowEnds = 0;
    upstream.setHandler((call, res, attempt) => {
      if (windowEnds === 0) windowEnds = Date.now() + 1_000;
      if (Date.now() < windowEnds) return json(res, 429, RATE_LIMITED, { 'retry-after': '1' });
      return defaultHandler(call, res, attempt);
    });
    const token = freshToken();
    const first = gw.query(QUALIFICATIONS, { id: customerId(8) }, token);
    while (upstream.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await gw.query(QUALIFICATIONS, { id: customerId(9) }, token);
    expect(second.body.errors).toBeUndefined();
    expect((await first).body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', customerId(8))).toHaveLength(2);
    expect(upstream.callsTo('qualifications', customerId(9))).toHaveLength(1);
  });

  it('counts every 429 toward maxAttempts', async () => {
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '0' }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(10) }, freshToken());
    expect(upstream.calls).toHaveLength(3);
    expect(new Set(upstream.calls.map((call) => call.headers['ms-requestid'])).size).toBe(1);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 0 });
  });

  it('never sends a POST again after a 429, even a short one', async () => {
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '1' }));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(11) }, freshToken());
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.path).toEqual(['addCustomerQualification']);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 1 });
  });
  it('does not send a call queued for a concurrency slot into a window that opened meanwhile', async () => {
    const queued = await startGateway(upstream.url, { maxConcurrencyPerToken: 1, requestBudgetMs: 3_000 });
    try {
      const [first, second] = [customerId(71), customerId(72)];
      // The first call holds the only slot, then answers 429 for a minute; the second waits for that slot.
      upstream.setHandler(async (call, res, attempt) => {
        if (call.customerId !== first) return defaultHandler(call, res, attempt);
        await new Promise((resolve) => setTimeout(resolve, 100));
        json(res, 429, RATE_LIMITED, { 'retry-after': '57' });
      });
      const { body } = await queued.query(
        `{ a: customer(id: "${first}") { qualifications { kind } } b: customer(id: "${second}") { qualifications { kind } } }`,
        {},
        freshToken(),
      );
      expect(upstream.callsTo('qualifications', first)).toHaveLength(1);
      expect(upstream.callsTo('qualifications', second)).toHaveLength(0);
      expect(body.errors?.map((e) => [e.path?.[0], e.extensions?.code, e.extensions?.retryAfterSeconds])).toEqual([
        ['a', 'UPSTREAM_THROTTLED', 57],
        ['b', 'UPSTREAM_THROTTLED', 57],
      ]);
    } finally {
      await queued.close();
    }
  });
});
