// Replicas of a gateway that signs in itself, on a real redis-server: they
// share one token and one refresh-token rotation (one token request between
// them), none redeems a refresh token another already redeemed, not even after
// all of them restarted, and Redis holds nothing in clear; and the credential
// store itself: its lock, a replica renewing alone when Redis does not answer,
// and a state it cannot write or read.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretSetting } from '../src/config/sign-in-settings';
import type { GatewayDeps } from '../src/gateway';
import { createSharedRedis, type SharedRedis } from '../src/quota/redis';
import { createRedisCredentialStore, type SignInState } from '../src/sign-in/credential-store';
import { createSealer } from '../src/sign-in/sealed';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_REFRESH_TOKEN,
  DEFAULT_TENANT,
  type EntraStandIn,
  startEntra,
} from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { captureLogs } from './support/logs';
import { type RedisServer, startRedis } from './support/redis-server';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { startUpstream, type Upstream } from './support/upstream';

const QUALIFICATIONS = 'query ($id: ID!) { customer(id: $id) { qualifications { kind } } }';
const KEY = Buffer.alloc(32, 9).toString('base64');

let redis: RedisServer;
let upstream: Upstream;
let entra: EntraStandIn;
let running: RunningGateway[] = [];
let caller: string;

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  await redis.stop();
});
beforeEach(async () => {
  await redis.client.flushall();
  entra = await startEntra();
  caller = await entra.signCallerToken();
  upstream.calls.length = 0;
});
afterEach(async () => {
  await stopAll();
  await entra.close();
});

async function stopAll() {
  for (const gw of running) await gw.close();
  running = [];
}

async function replica(deps: GatewayDeps = {}): Promise<RunningGateway> {
  const gw = await startSignedInGateway(
    upstream.url,
    signInSettings(entra, 'app-user', { tokenEncryptionKey: new SecretSetting(KEY) }),
    { redisUrl: redis.url },
    // Redis's 50 ms bound is for production; a loaded test machine would fall back to local state for the wrong reason.
    { quota: { redis: { commandTimeoutMs: 1_000 } }, ...deps },
  );
  running.push(gw);
  return gw;
}

describe('replicas signing in through one Redis', () => {
  it('share one token request between two replicas that start together', async () => {
    const release = entra.hold();
    const [one, two] = await Promise.all([replica(), replica()]);
    await entra.untilTokenRequests(1);
    release();
    const answers = await Promise.all([
      one.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller)),
      two.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller)),
    ]);
    for (const { body } of answers) expect(body.errors).toBeUndefined();

    expect(entra.tokenRequests).toHaveLength(1);
    expect(new Set(upstream.calls.map((call) => call.headers.authorization))).toEqual(
      new Set([`Bearer ${entra.accessTokens[0]}`]),
    );
  });

  it('a restarted replica finds the shared token in Redis and asks Entra for nothing', async () => {
    const first = await replica();
    await first.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    await stopAll();
    entra.tokenRequests.length = 0;

    const restarted = await replica();
    const { body } = await restarted.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller));
    expect(body.errors).toBeUndefined();
    expect(entra.tokenRequests).toHaveLength(0);
    expect(upstream.calls.at(-1)?.headers.authorization).toBe(`Bearer ${entra.accessTokens[0]}`);
  });

  it('ignore a shared state sealed in another format version and begin again from the configured refresh token', async () => {
    const first = await replica();
    await first.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    await stopAll();
    // The same nonce, tag and ciphertext under another version mark: it would decrypt, but is not this format.
    const keys = await redis.client.keys('pcgw:sign-in:*:state');
    expect(keys).toEqual([`pcgw:sign-in:${DEFAULT_TENANT}:${DEFAULT_CLIENT_ID}:state`]);
    const stateKey = keys[0] ?? '';
    const sealed = (await redis.client.get(stateKey)) ?? '';
    expect(sealed.startsWith('v1.')).toBe(true);
    await redis.client.set(stateKey, `v2.${sealed.slice(3)}`);
    entra.tokenRequests.length = 0;

    const logs = captureLogs();
    const restarted = await replica({ logger: logs.logger });
    await restarted.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller));
    expect(
      logs
        .withMessage(
          'The sign-in state in Redis does not decrypt with TOKEN_ENCRYPTION_KEY (another key, or altered): it is ignored and replaced by the next renewal',
        )
        .map((record) => record.key),
    ).toEqual([stateKey]);
    // The configured token was redeemed by the first replica: Entra refuses it.
    expect(entra.tokenRequests[0]).toMatchObject({ refreshToken: DEFAULT_REFRESH_TOKEN, answer: 400 });
  });

  it('keep the rotated refresh token across a restart of all replicas, shared and encrypted', async () => {
    entra.setExpiresIn(2);
    const first = await replica();
    await first.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    await stopAll();
    // Both restart after the token's renewal point: one renews with the rotated token, the other takes its answer.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const [one, two] = await Promise.all([replica(), replica()]);
    const answers = await Promise.all([
      one.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller)),
      two.query(QUALIFICATIONS, { id: customerId(3) }, bearer(caller)),
    ]);
    for (const { body } of answers) expect(body.errors).toBeUndefined();

    expect(entra.tokenRequests.map((request) => [request.refreshToken, request.answer])).toEqual([
      [DEFAULT_REFRESH_TOKEN, 200],
      ['refresh-token-1', 200],
    ]);

    // Nothing in Redis is in clear: no secret, no refresh token, no access token, no caller's token.
    const dump: string[] = [];
    for (const key of await redis.client.keys('*')) {
      const type = await redis.client.type(key);
      dump.push(
        key,
        type === 'string'
          ? ((await redis.client.get(key)) ?? '')
          : JSON.stringify(await redis.client.hgetall(key).catch(() => ({}))),
      );
    }
    const text = dump.join('\n');
    expect(text).toContain('pcgw:sign-in:');
    for (const secret of [
      DEFAULT_CLIENT_SECRET,
      DEFAULT_REFRESH_TOKEN,
      'refresh-token-1',
      'refresh-token-2',
      caller,
      ...entra.accessTokens,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe("the credential store's state and lock in Redis", () => {
  const NAME = 'tenant:client';
  const STATE_KEY = `pcgw:sign-in:${NAME}:state`;
  const LOCK_KEY = `pcgw:sign-in:${NAME}:lock`;
  const sealer = createSealer(Buffer.from(KEY, 'base64'));
  const NOT_WRITTEN =
    'The renewed sign-in could not be written to Redis: other replicas may redeem a refresh token already redeemed';
  const UNSHARED = 'Redis did not answer for the sign-in lock: renewing with what this replica knows, unshared';
  let shared: SharedRedis[] = [];
  afterEach(async () => {
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*');
    for (const one of shared) await one.close();
    shared = [];
  });

  /** A SharedRedis as the gateway makes one, once it answers (or at once for a server that is not there). */
  async function sharedRedis(url = redis.url): Promise<SharedRedis> {
    const one = createSharedRedis(url, captureLogs().logger, { commandTimeoutMs: 1_000, unreachableAfterMs: 60_000 });
    shared.push(one);
    for (let n = 0; url === redis.url && n < 200 && (await one.run((client) => client.ping())) === undefined; n++) {
      await sleep(10);
    }
    return one;
  }

  const stored = async () => {
    const sealed = await redis.client.get(STATE_KEY);
    return sealed === null ? null : JSON.parse(sealer.open(sealed, STATE_KEY) ?? 'null');
  };

  it('hands each renewal the newest state under its lock, held 30 s at most, keeps what it returns and releases the lock', async () => {
    const one = await sharedRedis();
    const logs = captureLogs();
    const first = createRedisCredentialStore({ redis: one, sealer, name: NAME, logger: logs.logger });
    const second = createRedisCredentialStore({ redis: one, sealer, name: NAME, logger: logs.logger });
    const seen: Array<{ state: SignInState; lock: string | null; pttl: number }> = [];
    const renewal =
      (next: SignInState | undefined, result: string) =>
      async (state: SignInState): Promise<{ state?: SignInState; result: string }> => {
        seen.push({ state, lock: await redis.client.get(LOCK_KEY), pttl: await redis.client.pttl(LOCK_KEY) });
        return next === undefined ? { result } : { state: next, result };
      };

    expect(await first.renew(renewal({ refreshToken: 'r1', seed: 's' }, 'one'))).toBe('one');
    expect(await redis.client.exists(LOCK_KEY)).toBe(0);
    expect(await stored()).toEqual({ refreshToken: 'r1', seed: 's' });
    expect(await second.renew(renewal({ refreshToken: 'r2', seed: 's' }, 'two'))).toBe('two');
    expect(await first.renew(renewal(undefined, 'three'))).toBe('three');
    expect(await stored()).toEqual({ refreshToken: 'r2', seed: 's' });

    expect(seen.map((one) => one.state)).toEqual([
      {},
      { refreshToken: 'r1', seed: 's' },
      { refreshToken: 'r2', seed: 's' },
    ]);
    for (const { lock, pttl } of seen) {
      expect(lock).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(pttl).toBeGreaterThan(25_000);
      expect(pttl).toBeLessThanOrEqual(30_000);
    }
    expect(new Set(seen.map((one) => one.lock)).size).toBe(3);
    expect(await redis.client.exists(LOCK_KEY)).toBe(0);

    // Redis refuses to give the state (an ACL here): the renewal gets what this replica last saw, the state the
    // third renewal read and did not change, not an empty state.
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*:lock', '%W~*');
    expect(await first.renew(renewal(undefined, 'four'))).toBe('four');
    expect(seen.at(-1)?.state).toEqual({ refreshToken: 'r2', seed: 's' });
    expect(await redis.client.exists(LOCK_KEY)).toBe(0);
    // And after one it wrote, what it wrote.
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*');
    expect(await first.renew(renewal({ refreshToken: 'r3', seed: 's' }, 'five'))).toBe('five');
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*:lock', '%W~*');
    expect(await first.renew(renewal(undefined, 'six'))).toBe('six');
    expect(seen.at(-1)?.state).toEqual({ refreshToken: 'r3', seed: 's' });
    expect(logs.records().filter((record) => record.level === 'error')).toEqual([]);
  });

  it("waits for another replica's lock and renews once it is free", async () => {
    const one = await sharedRedis();
    await redis.client.set(LOCK_KEY, 'another-replica', 'PX', 200);
    const store = createRedisCredentialStore({ redis: one, sealer, name: NAME, logger: captureLogs().logger });
    const locks: Array<string | null> = [];
    await store.renew(async () => {
      locks.push(await redis.client.get(LOCK_KEY));
      return { result: undefined };
    });
    expect(locks).toHaveLength(1);
    expect(locks[0]).not.toBe('another-replica');
    expect(locks[0]).not.toBeNull();
  });

  it('renews alone with what the replica knows when the lock stays taken, or Redis is not there, for its wait', async () => {
    await redis.client.set(LOCK_KEY, 'another-replica', 'PX', 60_000);
    const logs = captureLogs();
    const one = await sharedRedis();
    const store = createRedisCredentialStore({ redis: one, sealer, name: NAME, logger: logs.logger, waitMs: 300 });
    const seen: SignInState[] = [];
    const renewal = (next: SignInState | undefined) => async (state: SignInState) => {
      seen.push(state);
      return next === undefined ? { result: 'alone' } : { state: next, result: 'alone' };
    };
    expect(await store.renew(renewal({ refreshToken: 'local-1' }))).toBe('alone');
    expect(await store.renew(renewal(undefined))).toBe('alone');
    expect(await store.renew(renewal(undefined))).toBe('alone');
    expect(seen).toEqual([{}, { refreshToken: 'local-1' }, { refreshToken: 'local-1' }]);
    expect(logs.withMessage(UNSHARED).map((line) => [line.level, line.key])).toEqual([
      ['warn', LOCK_KEY],
      ['warn', LOCK_KEY],
      ['warn', LOCK_KEY],
    ]);
    // Nothing written, and the other replica's lock left alone.
    expect(await redis.client.get(STATE_KEY)).toBeNull();
    expect(await redis.client.get(LOCK_KEY)).toBe('another-replica');

    const away = await sharedRedis(`redis://127.0.0.1:${await closedPort()}`);
    const alone = createRedisCredentialStore({ redis: away, sealer, name: NAME, logger: logs.logger, waitMs: 300 });
    expect(await alone.renew(renewal({ refreshToken: 'local-2' }))).toBe('alone');
    expect(await alone.renew(renewal(undefined))).toBe('alone');
    expect(seen.slice(3)).toEqual([{}, { refreshToken: 'local-2' }]);
    expect(logs.withMessage(UNSHARED)).toHaveLength(5);
  });

  it('tries five times to write a renewed state Redis refuses, then says so', async () => {
    const one = await sharedRedis();
    const logs = captureLogs();
    const store = createRedisCredentialStore({ redis: one, sealer, name: NAME, logger: logs.logger });
    await redis.client.config('RESETSTAT');
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*:lock', '%R~*');
    expect(await store.renew(async () => ({ state: { refreshToken: 'r1' }, result: 'kept' }))).toBe('kept');
    await redis.client.call('ACL', 'SETUSER', 'default', 'resetkeys', '~*');
    const stats = String(await redis.client.info('commandstats'));
    // One SET took the lock; the five of the state were refused.
    expect(stats).toMatch(/cmdstat_set:calls=1,.*rejected_calls=5,/);
    expect(logs.withMessage(NOT_WRITTEN).map((line) => [line.level, line.key])).toEqual([['error', STATE_KEY]]);
    expect(await redis.client.get(STATE_KEY)).toBeNull();
    expect(await redis.client.exists(LOCK_KEY)).toBe(0);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
