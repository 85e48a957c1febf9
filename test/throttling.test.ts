import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/observability/logger';
import { retryAfterSeconds } from '../src/partner-center/retry-timing';
import { createSharedRedis, type SharedRedis } from '../src/quota/redis';
import { createThrottleWindows } from '../src/quota/windows';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { jwt, recordEvents, TENANT_A, TENANT_B } from './support/quota';
import { type RedisServer, startRedis } from './support/redis-server';
import { defaultHandler, json, type UpstreamHandler } from './support/upstream';

const RATE_LIMITED = { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' };
const BOTH_FIELDS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id mcaDirectlySigned qualifications { kind } } }`;

/** Answers the first attempt of every call with a 429 carrying `retryAfter`, later attempts normally. */
const throttleFirstAttempt =
  (retryAfter: () => string): UpstreamHandler =>
  (call, res, attempt) =>
    attempt === 1 ? json(res, 429, RATE_LIMITED, { 'retry-after': retryAfter() }) : defaultHandler(call, res, attempt);

/** 429 with Retry-After 57 for the listed customers, normal answers for the others. */
const throttleCustomers =
  (...ids: string[]): UpstreamHandler =>
  (call, res, attempt) =>
    ids.includes(call.customerId ?? '')
      ? json(res, 429, RATE_LIMITED, { 'retry-after': '57' })
      : defaultHandler(call, res, attempt);

const codes = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  body.errors?.map((error) => error.extensions?.code);

describe('throttling', () => {
  const { upstream, gatewayWith } = useUpstream();
  const gateway = (overrides = {}, events = recordEvents()) =>
    gatewayWith({ attemptTimeoutMs: 1_000, requestBudgetMs: 3_000, ...overrides }, { events });

  it('waits out a 429 whose Retry-After in seconds ends within the budget, with the same MS-RequestId', async () => {
    const gw = await gateway();
    upstream.setHandler(throttleFirstAttempt(() => '1'));
    const id = customerId(1);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      customer: { id, qualifications: [{ qualification: 'Education', kind: 'EDUCATION' }] },
    });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.headers['ms-requestid']).toBe(calls[0]?.headers['ms-requestid']);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it('waits out a 429 whose Retry-After HTTP date falls within the budget', async () => {
    const gw = await gateway();
    upstream.setHandler(throttleFirstAttempt(() => new Date(Date.now() + 1_000).toUTCString()));
    const id = customerId(2);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it('fails at once with UPSTREAM_THROTTLED when Retry-After seconds outlast the budget', async () => {
    const gw = await gateway();
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '57' }));
    const id = customerId(3);
    const { body } = await gw.query(QUALIFICATIONS, { id });
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
    const gw = await gateway();
    upstream.setHandler((_call, res) =>
      json(res, 429, RATE_LIMITED, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(4) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    const seconds = body.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(seconds).toBeGreaterThanOrEqual(118);
    expect(seconds).toBeLessThanOrEqual(120);
  });

  it('reads the wait from the message when the 429 has no Retry-After header', async () => {
    const gw = await gateway();
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(5) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 57 });
  });

  it('holds every later call for that partner and customer, in any resource, without calling Partner Center', async () => {
    const events = recordEvents();
    const gw = await gateway({}, events);
    const token = { authorization: jwt({ tid: TENANT_A, oid: 'user-1' }) };
    const id = customerId(6);
    upstream.setHandler(throttleCustomers(id));
    await gw.query(QUALIFICATIONS, { id }, token);
    expect(upstream.calls).toHaveLength(1);

    // Another user (token) of the same partner, both resources of the throttled customer.
    const { body } = await gw.query(BOTH_FIELDS, { id }, { authorization: jwt({ tid: TENANT_A, oid: 'user-2' }) });
    expect(upstream.calls).toHaveLength(1);
    expect(codes(body)).toEqual(['UPSTREAM_THROTTLED', 'UPSTREAM_THROTTLED']);
    for (const error of body.errors ?? []) {
      expect(error.extensions?.retryAfterSeconds).toBeGreaterThan(50);
      expect(error.extensions?.retryAfterSeconds).toBeLessThanOrEqual(57);
    }
    expect(events.throttles).toEqual(['window', 'window']);
  });

  it("lets the partner's calls for other customers go on after a 429 on one customer", async () => {
    const gw = await gateway();
    const token = { authorization: jwt({ tid: TENANT_A }) };
    const [throttled, other] = [customerId(7), customerId(8)];
    upstream.setHandler(throttleCustomers(throttled));
    // One field only: with both, the first error nulls the customer and whether the second is still reported
    // depends on which 429 arrives first.
    const first = await gw.query(QUALIFICATIONS, { id: throttled }, token);
    expect(codes(first.body)).toEqual(['UPSTREAM_THROTTLED']);
    expect(upstream.calls).toHaveLength(1);

    const { body } = await gw.query(BOTH_FIELDS, { id: other }, token);
    expect(body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', other)).toHaveLength(1);
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus', other)).toHaveLength(1);
  });

  it('holds the whole partner once 429s for two different customers arrive within open windows, and no other partner', async () => {
    const gw = await gateway();
    const [a, b, c] = [customerId(9), customerId(10), customerId(11)];
    upstream.setHandler(throttleCustomers(a, b));
    await gw.query(QUALIFICATIONS, { id: a }, { authorization: jwt({ tid: TENANT_A, oid: 'user-1' }) });
    const afterOne = await gw.query(
      QUALIFICATIONS,
      { id: c },
      { authorization: jwt({ tid: TENANT_A, oid: 'user-1' }) },
    );
    expect(afterOne.body.errors).toBeUndefined();
    await gw.query(QUALIFICATIONS, { id: b }, { authorization: jwt({ tid: TENANT_A, oid: 'user-2' }) });
    expect(upstream.calls.map((call) => call.customerId)).toEqual([a, c, b]);

    const held = await gw.query(QUALIFICATIONS, { id: c }, { authorization: jwt({ tid: TENANT_A, oid: 'user-3' }) });
    expect(codes(held.body)).toEqual(['UPSTREAM_THROTTLED']);
    expect(held.body.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(50);
    expect(upstream.calls).toHaveLength(3);

    const otherPartner = await gw.query(QUALIFICATIONS, { id: c }, { authorization: jwt({ tid: TENANT_B }) });
    expect(otherPartner.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(4);
  });

  it('waits at least 100 ms after Retry-After: 0, measured where Partner Center receives the calls, and counts every 429 toward maxAttempts', async () => {
    const gw = await gateway();
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '0' }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(12) });
    expect(upstream.calls).toHaveLength(3);
    expect(new Set(upstream.calls.map((call) => call.headers['ms-requestid'])).size).toBe(1);
    const [first, second, third] = upstream.calls.map((call) => call.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(100);
    expect(third - second).toBeGreaterThanOrEqual(100);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 0 });
  });

  it('waits at least 100 ms after a Retry-After date in the past', async () => {
    const gw = await gateway();
    upstream.setHandler(throttleFirstAttempt(() => new Date(Date.now() - 60_000).toUTCString()));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(13) });
    expect(body.errors).toBeUndefined();
    const [first, second] = upstream.calls.map((call) => call.at) as [number, number];
    expect(upstream.calls).toHaveLength(2);
    expect(second - first).toBeGreaterThanOrEqual(100);
  });

  it('adds no backoff to the wait a 429 asks for', async () => {
    // A backoff step of a minute cannot fit in a 3 s budget: the second attempt is there only if none was added.
    const gw = await gatewayWith({ attemptTimeoutMs: 1_000, requestBudgetMs: 3_000 }, { retryBaseDelayMs: 60_000 });
    upstream.setHandler(throttleFirstAttempt(() => '0'));
    const id = customerId(16);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', id)).toHaveLength(2);
  });

  it('never sends a POST again after a 429, even a short one', async () => {
    const gw = await gateway();
    upstream.setHandler((_call, res) => json(res, 429, RATE_LIMITED, { 'retry-after': '1' }));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(14) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.path).toEqual(['addCustomerQualification']);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_THROTTLED', retryAfterSeconds: 1 });
  });

  it('does not send a call queued for a concurrency slot into a window that opened meanwhile', async () => {
    const gw = await gateway({ maxConcurrencyPerToken: 1 });
    const id = customerId(15);
    // The qualifications call holds the only slot, then answers 429 for a minute; the MCA call waits for that slot.
    upstream.setHandler(async (call, res, attempt) => {
      if (call.resource !== 'qualifications') return defaultHandler(call, res, attempt);
      await new Promise((resolve) => setTimeout(resolve, 100));
      json(res, 429, RATE_LIMITED, { 'retry-after': '57' });
    });
    // Qualifications first, so that its call takes the slot.
    const { body } = await gw.query(`{ customer(id: "${id}") { qualifications { kind } mcaDirectlySigned } }`);
    expect(upstream.callsTo('qualifications', id)).toHaveLength(1);
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus', id)).toHaveLength(0);
    expect(body.errors?.map((e) => [e.path?.[1], e.extensions?.code, e.extensions?.retryAfterSeconds])).toEqual([
      ['qualifications', 'UPSTREAM_THROTTLED', 57],
      ['mcaDirectlySigned', 'UPSTREAM_THROTTLED', 57],
    ]);
  });
});

describe('how long a 429 asks to wait', () => {
  const now = Date.parse('2024-03-01T12:00:00Z');
  const MESSAGE = JSON.stringify(RATE_LIMITED);

  it.each([
    ['Retry-After in delta seconds', '57', '', 57],
    ['Retry-After in delta seconds between spaces', ' 7 ', '', 7],
    ['Retry-After: 0', '0', MESSAGE, 0],
    ['a Retry-After HTTP date 3 s ahead', 'Fri, 01 Mar 2024 12:00:03 GMT', '', 3],
    ['a Retry-After HTTP date a minute in the past', 'Fri, 01 Mar 2024 11:59:00 GMT', MESSAGE, 0],
    ['a Retry-After ISO date 2.1 s ahead, rounded up', '2024-03-01T12:00:02.100Z', '', 3],
    ['the first of two Retry-After headers', ['4', '9'], '', 4],
    ['the message, without Retry-After', undefined, 'Rate limit is exceeded. Try again in 57 seconds.', 57],
    ['the message, past a Retry-After that is neither seconds nor a date', 'soon', 'TRY AGAIN IN 12 SECONDS', 12],
    ['the message, in the singular', undefined, 'Try again in 1 second.', 1],
    ['the message, past a negative Retry-After', '-5s', 'Try again in 8 seconds.', 8],
    ['the message, past a Retry-After with text before its number', 'PT5', 'Try again in 8 seconds.', 8],
  ])('reads the wait from %s', (_name, header, body, seconds) => {
    expect(retryAfterSeconds(header, body, now)).toBe(seconds);
  });

  it('waits one second when neither the header nor the message names a wait', () => {
    expect(retryAfterSeconds(undefined, '{"statusCode":429,"message":"Rate limit is exceeded."}', now)).toBe(1);
    expect(retryAfterSeconds(undefined, '', now)).toBe(1);
  });
});

describe('throttle windows', () => {
  // The clock stands still (Date only: lru-cache and ioredis keep real timers), so the waits read back are exact.
  const start = Date.parse('2024-03-01T12:00:00Z');
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: start });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds one scope of one partner for exactly the wait asked, and nothing else', async () => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', 57_000);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(57_000);
    expect(await windows.remainingMs('partner-a', 'customer-2')).toBe(0);
    expect(await windows.remainingMs('partner-b', 'customer-1')).toBe(0);
    vi.setSystemTime(start + 20_000);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(37_000);
    vi.setSystemTime(start + 57_000);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(0);
  });

  it.each([
    [0, 100],
    [99.2, 100],
    [150.2, 151],
  ])('holds a wait of %d ms for %d ms', async (asked, held) => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', asked);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(held);
  });

  it('keeps the longer window when a shorter one opens over it, also once the shorter one has run out', async () => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', 57_000);
    await windows.open('partner-a', 'customer-1', 100);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(57_000);
    // A second 429 for the same customer is not a second customer: the partner is not held.
    expect(await windows.remainingMs('partner-a', 'customer-2')).toBe(0);
    // The partner's entry lives as long as its longest window: past the 100 ms (on the real clock) it is still there.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(57_000);
  });

  it('holds the whole partner until the later of two open windows, in either order', async () => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', 5_000);
    await windows.open('partner-a', 'customer-2', 3_000);
    await windows.open('partner-b', 'customer-1', 3_000);
    await windows.open('partner-b', 'customer-2', 8_000);
    expect(await windows.remainingMs('partner-a', 'customer-3')).toBe(5_000);
    expect(await windows.remainingMs('partner-a', 'customer-2')).toBe(5_000);
    expect(await windows.remainingMs('partner-b', 'customer-3')).toBe(8_000);
    expect(await windows.remainingMs('partner-c', 'customer-3')).toBe(0);
  });

  it('does not widen to the partner when the other window has closed, at its very end too', async () => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', 1_000);
    vi.setSystemTime(start + 1_000);
    await windows.open('partner-a', 'customer-2', 3_000);
    expect(await windows.remainingMs('partner-a', 'customer-3')).toBe(0);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(0);
    expect(await windows.remainingMs('partner-a', 'customer-2')).toBe(3_000);
  });

  it('extends the partner window when a later 429 within it asks for longer', async () => {
    const windows = createThrottleWindows();
    await windows.open('partner-a', 'customer-1', 5_000);
    await windows.open('partner-a', 'customer-2', 5_000);
    await windows.open('partner-a', 'customer-3', 60_000);
    expect(await windows.remainingMs('partner-a', 'customer-4')).toBe(60_000);
  });

  it('forgets the least recently throttled partner beyond maxPartners', async () => {
    const windows = createThrottleWindows({ maxPartners: 2 });
    await windows.open('partner-a', 'customer-1', 57_000);
    await windows.open('partner-b', 'customer-1', 57_000);
    await windows.open('partner-c', 'customer-1', 57_000);
    expect(await windows.remainingMs('partner-a', 'customer-1')).toBe(0);
    expect(await windows.remainingMs('partner-c', 'customer-1')).toBe(57_000);
  });

  describe('shared through Redis', () => {
    let server: RedisServer;
    const opened: SharedRedis[] = [];
    /** A replica's windows, once its Redis connection is ready (commands are never queued before). */
    const replica = async () => {
      const redis = createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 });
      opened.push(redis);
      await new Promise<void>((resolve) => redis.onReconnect(resolve));
      return createThrottleWindows({ redis });
    };
    beforeAll(async () => {
      server = await startRedis();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((redis) => redis.close()));
      await server.client.flushall();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('holds a scope on one replica after a 429 seen by the other, and keeps holding it without Redis', async () => {
      const [a, b] = await Promise.all([replica(), replica()]);
      await a.open('partner-a', 'customer-1', 57_000);
      const seen = await b.remainingMs('partner-a', 'customer-1');
      expect(seen).toBeGreaterThan(50_000);
      expect(seen).toBeLessThanOrEqual(57_000);
      expect(await b.remainingMs('partner-a', 'customer-2')).toBe(0);
      await server.client.flushall();
      expect(await b.remainingMs('partner-a', 'customer-1')).toBe(seen);
    });

    it('holds the whole partner on both replicas when each saw a 429 for another customer', async () => {
      const [a, b] = await Promise.all([replica(), replica()]);
      await a.open('partner-a', 'customer-1', 20_000);
      await b.open('partner-a', 'customer-2', 3_000);
      for (const windows of [a, b]) {
        const held = await windows.remainingMs('partner-a', 'customer-3');
        expect(held).toBeGreaterThan(15_000);
        expect(held).toBeLessThanOrEqual(20_000);
      }
      expect(await a.remainingMs('partner-b', 'customer-3')).toBe(0);
      const ttl = await server.client.pttl('pcgw:win:partner-a:all');
      expect(ttl).toBeGreaterThan(15_000);
    });

    it('does not widen across replicas when the other window has expired in Redis', async () => {
      const [a, b] = await Promise.all([replica(), replica()]);
      await a.open('partner-a', 'customer-1', 100);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await b.open('partner-a', 'customer-2', 3_000);
      expect(await b.remainingMs('partner-a', 'customer-3')).toBe(0);
      expect(await server.client.exists('pcgw:win:partner-a:all')).toBe(0);
      expect(await server.client.smembers('pcgw:win:partner-a:scopes')).toEqual(['customer-2']);
    });
  });
});
