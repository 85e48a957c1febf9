// Owns which replica syncs the customer base when replicas share it through
// Redis: a lease (SET NX PX) that its holder renews every third of its life
// and gives back when it stops, and that another replica takes when it is
// left to expire (its holder crashed). Without Redis the one process always
// holds it.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger';
import { KEY_PREFIX, type SharedRedis } from '../quota/redis';

export interface SyncLease {
  /** Whether this replica may sync now. */
  held(): boolean;
  /** Aborts when the holding ends (lost, or run out unrenewed), so a call still waiting to be sent is dropped. */
  signal(): AbortSignal;
  close(): Promise<void>;
}

export interface LeaseOptions {
  /** The lease's life (default 30 s): a replica takes over at most this plus a renewal interval after its holder stops. */
  readonly leaseTtlMs?: number;
}

/** Renews only while the lease is still this holder's. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Gives the lease back only while it is still this holder's. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

const never = new AbortController().signal;
export const heldAlways: SyncLease = { held: () => true, signal: () => never, close: async () => undefined };

/** A lease in Redis; `ready` says when this replica may try to take it (its snapshot has been read). */
export function createSyncLease(
  redis: SharedRedis,
  partnerDigest: string,
  ready: () => boolean,
  logger: Logger,
  options: LeaseOptions = {},
): SyncLease {
  const ttlMs = options.leaseTtlMs ?? 30_000;
  const key = `${KEY_PREFIX}cb:${partnerDigest}:lease`;
  const holder = randomUUID();
  /** Until when the lease is surely this replica's: the last taking or renewal plus its life, less a margin. */
  let heldUntil = 0;
  let closed = false;
  let holding = new AbortController();
  holding.abort();
  let expiry: NodeJS.Timeout | undefined;

  const held = () => Date.now() < heldUntil;
  const end = () => {
    heldUntil = 0;
    clearTimeout(expiry);
    holding.abort();
  };
  const took = (at: number, renewal: boolean) => {
    if (!renewal) logger.info({ holder }, 'customer-base sync: this replica holds the lease and syncs');
    if (holding.signal.aborted) holding = new AbortController();
    // A tenth of the life is kept back for clocks and the command's own time.
    heldUntil = at + ttlMs * 0.9;
    clearTimeout(expiry);
    expiry = setTimeout(end, Math.max(0, heldUntil - Date.now()));
    expiry.unref();
  };

  async function tick(): Promise<void> {
    if (closed || !ready()) return;
    const at = Date.now();
    if (held()) {
      const renewed = await redis.run((client) => client.eval(RENEW, 1, key, holder, ttlMs) as Promise<number>, {
        background: true,
      });
      if (renewed === 1) took(at, true);
      else if (renewed === 0) {
        end();
        logger.info({ holder }, 'customer-base sync: the lease has passed to another replica');
      }
      // No answer (Redis slow or away): the lease stays held until it would have expired.
      return;
    }
    const taken = await redis.run((client) => client.set(key, holder, 'PX', ttlMs, 'NX'), { background: true });
    if (taken === 'OK') took(at, false);
  }

  const everyMs = Math.max(50, Math.floor(ttlMs / 3));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const next = () => {
    if (closed) return;
    // Until the snapshot has been read, it asks again soon: the sync should not wait a whole interval to start.
    timer = setTimeout(run, ready() ? everyMs : Math.min(everyMs, 100));
    timer.unref();
  };
  const run = () => {
    running = tick().finally(() => {
      running = undefined;
      next();
    });
  };
  run();

  return {
    held,
    signal: () => holding.signal,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      if (!held()) return;
      end();
      // Given back at once, so another replica takes over within a renewal interval instead of the lease's life.
      await redis.run((client) => client.eval(RELEASE, 1, key, holder), { background: true });
    },
  };
}
