// Replicas of a gateway that signs in itself, on a real redis-server: they
// share one token and one refresh-token rotation (one token request between
// them), none redeems a refresh token another already redeemed, not even after
// all of them restarted, and Redis holds nothing in clear.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretSetting } from '../src/config/sign-in-settings';
import type { GatewayDeps } from '../src/gateway';
import { DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
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
    expect(keys).toHaveLength(1);
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
