// Replicas sharing the customer base through a real redis-server: two of them
// read each customer once between them, one syncing under the lease and the
// other answering from what it reads back; a restart through Redis reads
// nothing fresh again; a replica that stops mid-pass hands the lease over and
// the next one goes on where it stopped; a mutation on one replica reaches the
// other's customerBase.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretSetting } from '../src/config/sign-in-settings';
import type { StoredCustomer } from '../src/customer-base/store';
import { firstPassEnded } from './support/customer-base';
import { DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
import { startFaultProxy } from './support/fault-proxy';
import { customerId, type RunningGateway } from './support/gateway';
import { type CapturedLogs, captureLogs } from './support/logs';
import { type RedisServer, startRedis } from './support/redis-server';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { subscribeOverSse } from './support/sse';
import { DEFAULT_ROSTER, startUpstream, type Upstream } from './support/upstream';

const SIZE = DEFAULT_ROSTER.length;
const KEY = Buffer.alloc(32, 7).toString('base64');
const PASS_DONE = 'customer-base sync pass completed';

let redis: RedisServer;
let upstream: Upstream;
let entra: EntraStandIn;
let caller: string;
let running: RunningGateway[] = [];

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream();
  entra = await startEntra();
  caller = await entra.signCallerToken();
});
afterAll(async () => {
  await entra.close();
  await upstream.close();
  await redis.stop();
});
beforeEach(async () => {
  await redis.client.flushall();
  upstream.calls.length = 0;
  entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);
});
afterEach(async () => {
  for (const gw of running) await gw.close();
  running = [];
});

async function replica(logs: CapturedLogs = captureLogs('info'), syncRatePerMinute = 300_000, redisUrl = redis.url) {
  const gw = await startSignedInGateway(
    upstream.url,
    signInSettings(entra, 'app-user', { tokenEncryptionKey: new SecretSetting(KEY) }),
    { redisUrl, ratePerMinute: 600_000, syncRatePerMinute },
    {
      logger: logs.logger,
      // Redis's 50 ms bound is for production; a loaded test machine would fall back to local state for the wrong reason.
      quota: { redis: { commandTimeoutMs: 1_000 } },
      customerBase: { pollMs: 50, leaseTtlMs: 600 },
    },
  );
  running.push(gw);
  return gw;
}

const reads = (resource: string) =>
  upstream.calls.filter((call) => call.resource === resource && call.method === 'GET').map((call) => call.customerId);

const ask = async <T>(gw: RunningGateway, query: string) => {
  const { body } = await gw.query<T>(query, undefined, bearer(caller));
  expect(body.errors).toBeUndefined();
  return body.data as T;
};

const SYNC = '{ customerBase { sync { customersKnown customersSynced lastPassCompletedAt } } }';
type SyncAnswer = { customerBase: { sync: { customersKnown: number; customersSynced: number } } };

/** Resolves once `gw` reports every customer synced (bounded: 30 s). */
async function allSynced(gw: RunningGateway) {
  for (let tries = 0; tries < 600; tries++) {
    const data = await ask<SyncAnswer>(gw, SYNC);
    if (data.customerBase.sync.customersSynced === SIZE) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the replica never saw every customer synced');
}

async function storedInRedis(): Promise<StoredCustomer[]> {
  const [key] = await redis.client.keys('pcgw:cb:*:customers');
  if (key === undefined) return [];
  return Object.values(await redis.client.hgetall(key)).map((text) => JSON.parse(text) as StoredCustomer);
}

describe('the customer base shared through Redis', () => {
  it('two replicas read each customer once between them, and both answer every customer', async () => {
    const logs = [captureLogs('info'), captureLogs('info')];
    const [one, two] = await Promise.all([replica(logs[0]), replica(logs[1])]);
    await Promise.all([firstPassEnded(one, bearer(caller)), firstPassEnded(two, bearer(caller))]);
    await Promise.all([allSynced(one), allSynced(two)]);

    expect(reads('customers')).toHaveLength(1);
    for (const resource of ['qualifications', 'directSignedMicrosoftCustomerAgreementStatus']) {
      expect(reads(resource)).toHaveLength(SIZE);
      expect(new Set(reads(resource)).size).toBe(SIZE);
    }
    // Exactly one of them held the lease and passed.
    const holders = logs.map((log) => log.withMessage('customer-base sync: this replica holds the lease and syncs'));
    expect(holders.map((lines) => lines.length).sort()).toEqual([0, 1]);
    expect(logs.map((log) => log.withMessage(PASS_DONE).length).sort()).toEqual([0, 1]);

    const SUMMARY = '{ customerBase { summary { customers mcaSigned qualifications { kind vettingStatus count } } } }';
    const [a, b] = await Promise.all([ask(one, SUMMARY), ask(two, SUMMARY)]);
    expect(a).toEqual(b);
    expect(a).toEqual({
      customerBase: {
        summary: {
          customers: SIZE,
          mcaSigned: SIZE,
          qualifications: [{ kind: 'EDUCATION', vettingStatus: 'APPROVED', count: SIZE }],
        },
      },
    });
    expect(await storedInRedis()).toHaveLength(SIZE);
  });

  it('a replica restarted through Redis reads nothing fresh again', async () => {
    const first = await replica();
    await firstPassEnded(first, bearer(caller));
    await allSynced(first);
    for (const gw of running) await gw.close();
    running = [];
    upstream.calls.length = 0;

    const logs = captureLogs('info');
    const restarted = await replica(logs);
    // Every customer is known and synced from Redis before any call of its own.
    await allSynced(restarted);
    for (let tries = 0; tries < 600 && logs.withMessage(PASS_DONE).length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(logs.withMessage(PASS_DONE)).toHaveLength(1);
    expect(logs.withMessage(PASS_DONE)[0]).toMatchObject({ customers: SIZE, calls: 1 });
    // Its pass read the list again (the last pass had ended) and no customer.
    expect(reads('customers')).toHaveLength(1);
    expect(reads('qualifications')).toHaveLength(0);
    expect(reads('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(0);
  });

  it('a replica that stops mid-pass hands over, and the next goes on without reading anyone fresh again', async () => {
    // Slow enough (about 2 ms a call) that the pass is still going when the holder stops.
    const holder = await replica(captureLogs('info'), 30_000);
    const started = Date.now();
    while (reads('qualifications').length < 60 && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const logs = captureLogs('info');
    const next = await replica(logs, 30_000);
    await holder.close();
    running = running.filter((gw) => gw !== holder);
    const storedByHolder = new Set(
      (await storedInRedis()).filter((customer) => customer.qualificationsAt !== undefined).map((c) => c.id),
    );
    const before = upstream.calls.length;
    expect(storedByHolder.size).toBeGreaterThan(0);
    expect(storedByHolder.size).toBeLessThan(SIZE);

    await firstPassEnded(next, bearer(caller));
    await allSynced(next);
    expect(logs.withMessage('customer-base sync: this replica holds the lease and syncs')).toHaveLength(1);
    const after = upstream.calls.slice(before).filter((call) => call.resource === 'qualifications');
    // It went on with the list the holder read, and read none of the customers the holder had stored.
    expect(upstream.calls.slice(before).filter((call) => call.resource === 'customers')).toHaveLength(0);
    expect(after.filter((call) => storedByHolder.has(call.customerId ?? ''))).toEqual([]);
    expect(new Set(reads('qualifications')).size).toBe(SIZE);
    // At most the one call in flight when the holder stopped is made twice.
    expect(reads('qualifications').length).toBeLessThanOrEqual(SIZE + 1);
  });

  it('a holder cut off from Redis stops syncing, and another replica takes the lease when it runs out', async () => {
    const proxy = await startFaultProxy({ port: redis.port });
    try {
      const holderLogs = captureLogs('info');
      await replica(holderLogs, 30_000, proxy.url);
      const started = Date.now();
      while (reads('qualifications').length < 30 && Date.now() - started < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const logs = captureLogs('info');
      const next = await replica(logs, 30_000);
      const holderPass = upstream.calls.at(-1)?.headers['ms-correlationid'];
      proxy.blackhole();
      const cutAt = upstream.calls.length;

      await firstPassEnded(next, bearer(caller));
      await allSynced(next);
      expect(logs.withMessage('customer-base sync: this replica holds the lease and syncs')).toHaveLength(1);
      // The holder stopped once its lease could have run out: at most the calls of its last few hundred ms.
      const byHolder = upstream.calls.slice(cutAt).filter((call) => call.headers['ms-correlationid'] === holderPass);
      const takenAt = upstream.calls.slice(cutAt).find((call) => call.headers['ms-correlationid'] !== holderPass)?.at;
      expect(takenAt).toBeDefined();
      expect(byHolder.filter((call) => call.at > (takenAt as number))).toEqual([]);
      expect(new Set(reads('qualifications')).size).toBe(SIZE);
    } finally {
      proxy.heal();
      await proxy.close();
    }
  });

  it('a mutation on one replica reaches the other replica at once', async () => {
    const [one, two] = await Promise.all([replica(), replica()]);
    await Promise.all([allSynced(one), allSynced(two)]);
    const id = customerId(7);
    const { body } = await one.query(
      `mutation { addCustomerQualification(input: { customerId: "${id}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(await entra.signCallerToken({ roles: ['PartnerCenter.Write'] })),
    );
    expect(body.errors).toBeUndefined();
    const QUERY = `{ customerBase { customers(first: 1, where: { qualification: STATE_OWNED_ENTITY }) { nodes { id } } } }`;
    let seen: unknown;
    for (let tries = 0; tries < 200; tries++) {
      seen = await ask(two, QUERY);
      if (JSON.stringify(seen).includes(id)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(seen).toEqual({ customerBase: { customers: { nodes: [{ id }] } } });
  });

  it('a change recorded on one replica reaches a subscriber on the other, with the same cursor', async () => {
    const [one, two] = await Promise.all([replica(), replica()]);
    await Promise.all([allSynced(one), allSynced(two)]);
    const received: Array<{ cursor: string; customerId: string; source: string }> = [];
    const stop = new AbortController();
    const stream = await subscribeOverSse<{ customerChanges: { cursor: string; customerId: string; source: string } }>(
      two.url,
      { query: 'subscription { customerChanges { cursor customerId source } }' },
      bearer(caller),
      (payload) => {
        if (payload.data) received.push(payload.data.customerChanges);
      },
      stop.signal,
    );
    expect(stream.status).toBe(200);
    const id = customerId(9);
    const { body } = await one.query(
      `mutation { addCustomerQualification(input: { customerId: "${id}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      bearer(await entra.signCallerToken({ roles: ['PartnerCenter.Write'] })),
    );
    expect(body.errors).toBeUndefined();
    // Within 2 s of its recording (SPEC), bounded here by the poll.
    await expect.poll(() => received.length, { timeout: 2_000, interval: 20 }).toBe(1);
    stop.abort();
    await stream.ended;
    expect(received).toEqual([{ cursor: expect.any(String), customerId: id, source: 'GATEWAY' }]);
    // Both replicas page the one log alike: the same change under the same cursor.
    const CHANGES = '{ customerBase { changes { nodes { cursor customerId } } } }';
    const fromOne = await ask<{ customerBase: { changes: { nodes: unknown[] } } }>(one, CHANGES);
    expect(fromOne.customerBase.changes.nodes).toEqual([{ cursor: received[0]?.cursor, customerId: id }]);
    expect(await ask(two, CHANGES)).toEqual(fromOne);
  });
});
