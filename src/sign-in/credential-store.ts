// Owns where the gateway keeps what its sign-in learned: the newest refresh
// token Entra returned and the access token in use. In memory by default (a
// restart begins again from the configured refresh token); with Redis,
// encrypted and shared by every replica, with a lock so that exactly one
// replica renews at a time and none ever redeems a refresh token another has
// already redeemed.

import { hash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger';
import { KEY_PREFIX, type SharedRedis } from '../quota/redis';
import type { Sealer } from './sealed';

export interface StoredAccess {
  readonly token: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly lifetimeMs: number;
}

export interface SignInState {
  readonly access?: StoredAccess;
  /** The newest refresh token of the chain (app-user only). */
  readonly refreshToken?: string;
  /** SHA-256 of the configured refresh token the chain began from: a new one configured starts a new chain. */
  readonly seed?: string;
}

export interface CredentialStore {
  /**
   * Runs `renew` while no other replica renews, with the newest state any replica wrote; what it returns as `state`
   * is kept for every replica. Resolves with its `result`.
   */
  renew<T>(renew: (state: SignInState) => Promise<{ state?: SignInState; result: T }>): Promise<T>;
}

/** The digest that names a configured refresh token in the state, never the token itself. */
export const seedOf = (refreshToken: string) => hash('sha256', refreshToken, 'base64url');

export function createMemoryCredentialStore(): CredentialStore {
  let state: SignInState = {};
  let queue: Promise<unknown> = Promise.resolve();
  return {
    renew(renew) {
      const run = queue.then(async () => {
        const { state: next, result } = await renew(state);
        if (next) state = next;
        return result;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

export interface RedisCredentialStoreOptions {
  readonly redis: SharedRedis;
  /** Encrypts the state; without one nothing is shared (app mode without TOKEN_ENCRYPTION_KEY). */
  readonly sealer: Sealer;
  /** Names the partner and app, e.g. `<tenant>:<client id>`: replicas of one gateway share one state. */
  readonly name: string;
  readonly logger: Logger;
  /** How long a replica's lock holds if it stops while renewing (default 30 s). */
  readonly lockMs?: number;
  /** Longest wait for Redis to answer at start, or for another replica's lock (default 20 s). */
  readonly waitMs?: number;
}

/** Releases the lock only when it is still this replica's: one that expired and was taken by another stays. */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export function createRedisCredentialStore(options: RedisCredentialStoreOptions): CredentialStore {
  const { redis, sealer, logger } = options;
  const lockMs = options.lockMs ?? 30_000;
  const waitMs = options.waitMs ?? 20_000;
  const stateKey = `${KEY_PREFIX}sign-in:${options.name}:state`;
  const lockKey = `${KEY_PREFIX}sign-in:${options.name}:lock`;
  // What this replica knows, for when Redis is away: never older than what it last wrote or read.
  const local = createMemoryCredentialStore();
  let localState: SignInState = {};

  const read = async (): Promise<SignInState | undefined> => {
    const sealed = await redis.run((client) => client.get(stateKey));
    if (sealed === undefined) return undefined;
    if (sealed === null) return {};
    const plain = sealer.open(sealed, stateKey);
    if (plain === undefined) {
      logger.error(
        { key: stateKey },
        'The sign-in state in Redis does not decrypt with TOKEN_ENCRYPTION_KEY (another key, or altered): it is ignored and replaced by the next renewal',
      );
      return {};
    }
    return JSON.parse(plain) as SignInState;
  };
  const write = async (state: SignInState): Promise<boolean> => {
    const sealed = sealer.seal(JSON.stringify(state), stateKey);
    // The rotated refresh token must reach Redis, or the other replicas would redeem the one just redeemed.
    for (let attempt = 0; attempt < 5; attempt++) {
      if ((await redis.run((client) => client.set(stateKey, sealed))) === 'OK') return true;
      await sleep(100 * (attempt + 1));
    }
    return false;
  };

  /** Takes the lock: true when held, false when Redis cannot answer, after waiting out another replica's hold. */
  const lock = async (owner: string): Promise<boolean> => {
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      const taken = await redis.run((client) => client.set(lockKey, owner, 'PX', lockMs, 'NX'));
      if (taken === 'OK') return true;
      // null: another replica holds it; undefined: Redis is not answering (yet: it may be connecting at start).
      await sleep(taken === null ? 50 : 200);
    }
    return false;
  };

  return {
    async renew(renew) {
      const owner = randomUUID();
      if (!(await lock(owner))) {
        logger.warn(
          { key: lockKey },
          'Redis did not answer for the sign-in lock: renewing with what this replica knows, unshared',
        );
        return local.renew(async () => {
          const outcome = await renew(localState);
          if (outcome.state) localState = outcome.state;
          return outcome;
        });
      }
      try {
        const shared = (await read()) ?? localState;
        const outcome = await renew(shared);
        if (outcome.state) {
          localState = outcome.state;
          if (!(await write(outcome.state))) {
            logger.error(
              { key: stateKey },
              'The renewed sign-in could not be written to Redis: other replicas may redeem a refresh token already redeemed',
            );
          }
        } else {
          localState = shared;
        }
        return outcome.result;
      } finally {
        await redis.run((client) => client.eval(RELEASE, 1, lockKey, owner));
      }
    },
  };
}
