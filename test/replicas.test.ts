import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger';
import { useUpstream } from './support/fixtures';
import { customerId, type RunningGateway } from './support/gateway';
import { jwt, TENANT_A } from './support/quota';
import { type RedisServer, startRedis } from './support/redis-server';
import { createHold, defaultHandler, type Hold, json } from './support/upstream';

const BOTH_FIELDS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id qualifications { kind } mcaDirectlySigned } }`;
const QUALIFICATIONS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { qualifications { kind } } }`;
const ADD = /* GraphQL */ `mutation ($id: ID!) {
  addCustomerQualification(input: { customerId: $id, qualification: STATE_OWNED_ENTITY }) { qualification { kind } }
}`;
const SECRET_A = 'replica-secret-token-a';
const SECRET_B = 'replica-secret-token-b';
const A = { authorization: `Bearer ${SECRET_A}` };
const B = { authorization: `Bearer ${SECRET_B}` };

describe('replicas sharing one Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });
  const { upstream, gatewayWith } = useUpstream();
  let probes = 0;

  /** Starts a gateway on the shared Redis and waits until it writes there (a probe answer lands in Redis). */
  async function replica(overrides = {}, logs: string[] = []): Promise<RunningGateway> {
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => logs.push(line) } });
    // Redis's 50 ms bound is for production; on a loaded test machine a slow answer would quietly fall back to local
    // state and make a sharing test fail for the wrong reason. A killed Redis still fails every command at once.
    const gw = await gatewayWith(
      { redisUrl: redis.url, cacheTtlSeconds: 60, ...overrides },
      { logger, quota: { redis: { commandTimeoutMs: 1_000 } } },
    );
    await shared(gw);
    return gw;
  }

  /** Sends probe requests (on their own token) until one's answer is found in Redis, then forgets their calls. */
  async function shared(gw: RunningGateway): Promise<void> {
    const probe = { authorization: `Bearer probe-${++probes}` };
    for (let i = 0; i < 200; i++) {
      await gw.query(QUALIFICATIONS, { id: customerId(999) }, probe);
      if ((await redis.client.keys(`*${customerId(999)}*`)).length > 0) {
        await redis.client.del(...(await redis.client.keys(`*${customerId(999)}*`)));
        upstream.calls.length = 0;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the gateway never wrote to Redis');
  }

  /**
   * Replica one's call is held upstream while replica two asks for the same answer; after time enough for replica
   * two to send a call of its own (it never does: it waits for replica one's), the upstream answers.
   */
  async function missAtOnce(one: RunningGateway, two: RunningGateway, id: string, hold: Hold) {
    const first = one.query(QUALIFICATIONS, { id }, A);
    await hold.untilHeld(1);
    const second = two.query(QUALIFICATIONS, { id }, A);
    await sleep(200);
    hold.open();
    return Promise.all([first, second]);
  }

  it('serves an answer cached through one replica from the other', async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(1);
    const first = await one.query(BOTH_FIELDS, { id }, A);
    const second = await two.query(BOTH_FIELDS, { id }, A);
    expect(second.body).toEqual(first.body);
    expect(first.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
  });

  it('shares one upstream call between replicas that miss the same answer at once', async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(11);
    const hold = createHold();
    upstream.setHandler(hold.handler());
    const [a, b] = await missAtOnce(one, two, id, hold);
    expect(a.body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(b.body).toEqual(a.body);
    expect(upstream.calls).toHaveLength(1);
  });

  it("fetches through the waiting replica when the other replica's call fails", async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(12);
    const hold = createHold();
    let answered = 0;
    upstream.setHandler(
      hold.handler((call, res, attempt) =>
        ++answered === 1
          ? json(res, 404, { code: 600008, description: 'Not found' })
          : defaultHandler(call, res, attempt),
      ),
    );
    const [a, b] = await missAtOnce(one, two, id, hold);
    expect(a.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(b.body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(upstream.calls).toHaveLength(2);
  });

  it('holds calls through one replica after a 429 seen by the other', async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(2);
    upstream.setHandler((_call, res) => json(res, 429, { statusCode: 429 }, { 'retry-after': '57' }));
    // Two users (tokens) of one partner tenant.
    await one.query(QUALIFICATIONS, { id }, { authorization: jwt({ tid: TENANT_A, oid: 'user-1' }) });
    upstream.setHandler(defaultHandler);
    const { body } = await two.query(QUALIFICATIONS, { id }, { authorization: jwt({ tid: TENANT_A, oid: 'user-2' }) });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(body.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(50);
    expect(upstream.calls).toHaveLength(1);
  });

  it('invalidates, for every token and through the other replica, the qualifications a mutation changed', async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(3);
    await two.query(BOTH_FIELDS, { id }, B);
    expect(upstream.calls).toHaveLength(2);
    const added = await one.query(ADD, { id }, A);
    expect(added.body.errors).toBeUndefined();
    await two.query(BOTH_FIELDS, { id }, B);
    expect(upstream.calls.slice(2).map((call) => [call.method, call.resource, call.headers.authorization])).toEqual([
      ['POST', 'qualifications', A.authorization],
      ['GET', 'qualifications', B.authorization],
    ]);
  });

  it("reads the current MCA template once for both replicas, and drops a customer's agreements on both after a confirmation", async () => {
    const [one, two] = [await replica(), await replica()];
    const id = customerId(4);
    const TEMPLATE = `query ($id: ID!) { customer(id: $id) { mcaAcceptance { attestations { currentTemplate } } } }`;
    expect((await one.query(TEMPLATE, { id }, A)).body.errors).toBeUndefined();
    expect((await two.query(TEMPLATE, { id: customerId(5) }, A)).body.errors).toBeUndefined();
    // Shared through Redis: one read for both replicas.
    expect(upstream.callsTo('agreement_metadata')).toHaveLength(1);
    expect(upstream.callsTo('agreements', id)).toHaveLength(1);
    await two.query(TEMPLATE, { id }, A);
    expect(upstream.callsTo('agreements', id)).toHaveLength(1);
    const confirmed = await one.query(
      `mutation ($id: ID!) { confirmCustomerAgreement(input: { customerId: $id, dateAgreed: "2026-01-01T00:00:00Z", primaryContact: { firstName: "A", lastName: "B", email: "a@b.example" } }) { attestation { templateId } } }`,
      { id },
      A,
    );
    expect(confirmed.body.errors).toBeUndefined();
    await two.query(TEMPLATE, { id }, A);
    expect(upstream.callsTo('agreements', id).map((call) => call.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('shares the pacing budget of a partner between replicas', async () => {
    const paced = { ratePerMinute: 2, requestBudgetMs: 3_000 };
    const [one, two] = [await replica(paced), await replica(paced)];
    expect((await one.query(QUALIFICATIONS, { id: customerId(4) }, A)).body.errors).toBeUndefined();
    expect((await two.query(QUALIFICATIONS, { id: customerId(5) }, A)).body.errors).toBeUndefined();
    const third = await two.query(QUALIFICATIONS, { id: customerId(6) }, A);
    expect(third.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(upstream.calls).toHaveLength(2);
  });

  it('stores digests of tokens in Redis, never the tokens', async () => {
    const [one, two] = [await replica({ ratePerMinute: 100 }), await replica({ ratePerMinute: 100 })];
    upstream.setHandler((call, res, attempt) =>
      call.customerId === customerId(8)
        ? json(res, 429, { statusCode: 429 }, { 'retry-after': '30' })
        : defaultHandler(call, res, attempt),
    );
    await one.query(BOTH_FIELDS, { id: customerId(7) }, A);
    await two.query(BOTH_FIELDS, { id: customerId(8) }, B);
    await one.query(ADD, { id: customerId(7) }, A);
    const keys = await redis.client.keys('*');
    expect(keys.length).toBeGreaterThan(3);
    const contents: string[] = [];
    for (const key of keys) {
      const type = await redis.client.type(key);
      if (type === 'string') contents.push(String(await redis.client.get(key)));
      if (type === 'set') contents.push(...(await redis.client.smembers(key)));
      if (type === 'zset') contents.push(...(await redis.client.zrange(key, 0, -1, 'WITHSCORES')));
      if (type === 'hash') contents.push(JSON.stringify(await redis.client.hgetall(key)));
    }
    for (const text of [...keys, ...contents]) {
      for (const secret of [SECRET_A, SECRET_B, 'Bearer']) expect(text).not.toContain(secret);
    }
  });

  it('keeps answering from Partner Center while Redis is down, warns once, and shares again once it is back', async () => {
    const logs: string[] = [];
    const [one, two] = [await replica({}, logs), await replica()];
    await redis.kill();
    for (const [n, gw] of [one, two, one, two, one].entries()) {
      const { body } = await gw.query(BOTH_FIELDS, { id: customerId(10 + n) }, A);
      expect(body.errors).toBeUndefined();
    }
    expect(upstream.calls).toHaveLength(10);
    expect(logs.filter((line) => line.includes('Redis is unreachable'))).toHaveLength(1);

    await redis.restart();
    await shared(one);
    await shared(two);
    const id = customerId(20);
    await one.query(BOTH_FIELDS, { id }, A);
    await two.query(BOTH_FIELDS, { id }, A);
    expect(upstream.calls).toHaveLength(2);
    expect(logs.filter((line) => line.includes('Redis is unreachable'))).toHaveLength(1);
    expect(logs.some((line) => line.includes('Redis is reachable again'))).toBe(true);
  });

  it('closes its Redis connection when disposed', async () => {
    const clients = async () =>
      String(await redis.client.client('LIST'))
        .trim()
        .split('\n').length;
    const before = await clients();
    const gw = await replica();
    expect(await clients()).toBe(before + 1);
    await gw.gateway.dispose();
    for (let i = 0; i < 100 && (await clients()) > before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await clients()).toBe(before);
  });
});
