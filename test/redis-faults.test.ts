// Faults between two replicas and a real redis-server, made by the loopback
// fault proxy (test/support/fault-proxy.ts): a stall longer than the command
// bound costs no extra upstream call and writes no warning, and what was
// learned during it (an answer, a throttle window) reaches the other replica;
// a reset connection writes one warning and one recovery line; a black-holed
// Redis keeps every request answering; after each, the replicas share again.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import { customerId, type RunningGateway, startGateway } from './support/gateway';
import { type CapturedLogs, captureLogs } from './support/logs';
import { type RedisServer, startRedis } from './support/redis-server';
import { defaultHandler, json, type RecordedCall, startUpstream, type Upstream } from './support/upstream';

const QUALIFICATIONS = 'query ($id: ID!) { customer(id: $id) { qualifications { kind } } }';
const TOKEN = { authorization: 'Bearer faults-token' };
const UNREACHABLE = 'Redis is unreachable: shared state is local to this process until it is back';
const BACK = 'Redis is reachable again: shared state is shared again';

let redis: RedisServer;
let proxy: FaultProxy;
let upstream: Upstream;
let running: RunningGateway[] = [];
/** Customers whose next read Partner Center throttles (429, Retry-After 30). */
const throttle = new Set<string>();
/** Customers given a State Owned Entity qualification: their reads show it from then on. */
const added = new Set<string>();

function handler(call: RecordedCall, res: Parameters<typeof defaultHandler>[1], attempt: number) {
  const id = call.customerId;
  if (id && throttle.delete(id)) {
    return json(res, 429, { statusCode: 429, message: 'Rate limit is exceeded.' }, { 'retry-after': '30' });
  }
  if (id && call.resource === 'qualifications' && call.method === 'POST') added.add(id);
  if (id && added.has(id) && call.resource === 'qualifications' && call.method === 'GET') {
    return json(res, 200, [
      { qualification: 'Education', vettingStatus: 'Approved' },
      { qualification: 'StateOwnedEntity' },
    ]);
  }
  return defaultHandler(call, res, attempt);
}

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream(handler);
});
afterAll(async () => {
  await upstream.close();
  await redis.stop();
});
beforeEach(async () => {
  await redis.client.flushall();
  proxy = await startFaultProxy({ port: redis.port });
  upstream.calls.length = 0;
  throttle.clear();
  added.clear();
});
afterEach(async () => {
  for (const gw of running) await gw.close();
  running = [];
  await proxy.close();
});

/** A replica on Redis through the proxy (or `direct`ly), with the command bound given (production's is 50 ms). */
async function replica(logs: CapturedLogs, commandTimeoutMs: number, direct = false) {
  const gw = await startGateway(
    upstream.url,
    { redisUrl: direct ? redis.url : proxy.url, cacheTtlSeconds: 60, maxAttempts: 1, requestBudgetMs: 3_000 },
    { logger: logs.logger, quota: { redis: { commandTimeoutMs } } },
  );
  running.push(gw);
  // Ready once one of its answers lands in Redis.
  for (let tries = 0; tries < 200; tries++) {
    await gw.query(QUALIFICATIONS, { id: customerId(900 + running.length) }, { authorization: 'Bearer probe' });
    if ((await redis.client.keys(`*${customerId(900 + running.length)}*`)).length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return gw;
}

const read = async (gw: RunningGateway, n: number) => {
  const { body } = await gw.query(QUALIFICATIONS, { id: customerId(n) }, TOKEN);
  return body;
};
const callsFor = (n: number) => upstream.calls.filter((call) => call.customerId === customerId(n)).length;
const lines = (logs: CapturedLogs, msg: string) => logs.withMessage(msg).length;

/** Resolves once `check` holds (bounded: 5 s). */
async function until(check: () => Promise<boolean> | boolean) {
  for (let tries = 0; tries < 200; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('never happened');
}

describe('a slow Redis is not a lost Redis', () => {
  it('a stall longer than the bound on a write costs no extra call and no warning; the answer reaches the other replica', async () => {
    // The bound is 100 ms and the stall 200 ms: the shape of production's 50 and 80, with room for a busy machine.
    const [logsA, logsB] = [captureLogs('info'), captureLogs('info')];
    const a = await replica(logsA, 100);
    const b = await replica(logsB, 100);
    expect((await read(a, 1)).errors).toBeUndefined();
    // The fetch lease and the answer's write, both stalled past the bound.
    const stalled = proxy.delayCommands({ ms: 200, match: 'SET', count: 2 });
    expect((await read(a, 2)).errors).toBeUndefined();
    await stalled;
    await until(async () => (await redis.client.keys(`*:${customerId(2)}:*`)).some((key) => key.includes('cache')));

    // Answers from the cache, here and on the other replica: customer 1 was kept, customer 2 written back.
    for (const gw of [a, b]) {
      expect((await read(gw, 1)).errors).toBeUndefined();
      expect((await read(gw, 2)).errors).toBeUndefined();
    }
    expect([callsFor(1), callsFor(2)]).toEqual([1, 1]);
    expect([lines(logsA, UNREACHABLE), lines(logsB, UNREACHABLE), lines(logsA, BACK)]).toEqual([0, 0, 0]);
  });

  it('a lookup slower than the bound is answered from the copy Redis confirmed, with no call', async () => {
    const logs = captureLogs('info');
    const a = await replica(logs, 100);
    const b = await replica(captureLogs('info'), 100);
    // Fetched by the other replica; served to this one by Redis, which keeps a copy.
    expect((await read(b, 8)).errors).toBeUndefined();
    expect((await read(a, 8)).errors).toBeUndefined();
    const stalled = proxy.delayCommands({ ms: 200, match: 'MGET', count: 1 });
    expect((await read(a, 8)).errors).toBeUndefined();
    await stalled;
    expect(callsFor(8)).toBe(1);
    expect(lines(logs, UNREACHABLE)).toBe(0);
  });

  it('a throttle window learned while Redis did not answer reaches the other replica once it does', async () => {
    const a = await replica(captureLogs('info'), 100);
    const b = await replica(captureLogs('info'), 100);
    throttle.add(customerId(3));
    proxy.blackhole();
    const first = await read(a, 3);
    expect(first.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(await redis.client.keys('*win:*')).toEqual([]);
    proxy.heal();
    await until(async () => (await redis.client.keys(`*win:*scope:${customerId(3)}`)).length > 0);
    // The window outlasts the other replica's budget: it fails fast, without a call.
    const other = await read(b, 3);
    expect(other.errors?.[0]).toMatchObject({ extensions: { code: 'UPSTREAM_THROTTLED' } });
    expect(callsFor(3)).toBe(1);
  });
});

describe('a Redis that goes away', () => {
  it('an answer fetched while Redis was away is not written back when another replica changed the customer since', async () => {
    const logsA = captureLogs('info');
    const a = await replica(logsA, 50);
    const b = await replica(captureLogs('info'), 1_000, true);
    proxy.blackhole();
    expect((await read(a, 7)).errors).toBeUndefined();
    const added = await b.gateway.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...TOKEN },
      body: JSON.stringify({
        query: `mutation { addCustomerQualification(input: { customerId: "${customerId(7)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      }),
    });
    expect(added.status).toBe(200);
    proxy.heal();
    await until(() => lines(logsA, BACK) === 1);
    // Give A's write back time to land, were it (wrongly) to land.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Neither replica serves the answer from before the change.
    const after = { customer: { qualifications: [{ kind: 'EDUCATION' }, { kind: 'STATE_OWNED_ENTITY' }] } };
    expect((await read(b, 7)).data).toEqual(after);
    expect((await read(a, 7)).data).toEqual(after);
  });

  it('a reset connection writes one warning and one recovery line, and the replicas share answers again', async () => {
    const [logsA, logsB] = [captureLogs('info'), captureLogs('info')];
    const a = await replica(logsA, 1_000);
    const b = await replica(logsB, 1_000);
    proxy.resetConnections();
    await until(() => lines(logsA, BACK) === 1 && lines(logsB, BACK) === 1);
    expect([lines(logsA, UNREACHABLE), lines(logsB, UNREACHABLE)]).toEqual([1, 1]);
    expect([lines(logsA, BACK), lines(logsB, BACK)]).toEqual([1, 1]);

    expect((await read(a, 4)).errors).toBeUndefined();
    expect((await read(b, 4)).errors).toBeUndefined();
    expect(callsFor(4)).toBe(1);
  });

  it('a black-holed Redis for 3 s keeps every request answering; afterwards what each learned serves the other', async () => {
    const [logsA, logsB] = [captureLogs('info'), captureLogs('info')];
    const a = await replica(logsA, 50);
    const b = await replica(logsB, 50);
    const before = upstream.calls.length;
    proxy.blackhole();
    const started = Date.now();
    const durations: number[] = [];
    let count = 0;
    for (; Date.now() - started < 3_000; count++) {
      for (const [gw, n] of [
        [a, 10 + count],
        [b, 500 + count],
      ] as const) {
        const at = Date.now();
        expect((await read(gw, n)).errors).toBeUndefined();
        durations.push(Date.now() - at);
      }
    }
    proxy.heal();
    // Each request waited at most its few Redis commands' bounds, never for Redis to come back.
    expect(Math.max(...durations)).toBeLessThan(1_000);
    await until(() => lines(logsA, BACK) === 1 && lines(logsB, BACK) === 1);
    expect([lines(logsA, UNREACHABLE), lines(logsB, UNREACHABLE)]).toEqual([1, 1]);

    // The answers each replica fetched while Redis was away are written back: the other reads them from Redis.
    const calls = upstream.calls.length;
    expect(calls - before).toBe(2 * count);
    await until(async () => (await redis.client.keys(`*cache*:${customerId(10 + count - 1)}:*`)).length > 0);
    await until(async () => (await redis.client.keys(`*cache*:${customerId(500 + count - 1)}:*`)).length > 0);
    for (let i = 0; i < count; i++) {
      expect((await read(b, 10 + i)).errors).toBeUndefined();
      expect((await read(a, 500 + i)).errors).toBeUndefined();
    }
    expect(upstream.calls.length).toBe(calls);
  });
});
