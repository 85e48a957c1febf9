// The lease that says which replica syncs the customer base, on a real
// redis-server and without a gateway around it: one replica takes it and the
// other does not, the holder renews it and gives it back when it closes, it
// passes when another holder is found in Redis or the key is gone (and its
// signal aborts), it runs out when Redis does not answer, and a replica whose
// snapshot is not read yet never takes it.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSyncLease, heldAlways, type SyncLease } from '../src/customer-base/lease';
import { silentLogger } from '../src/observability/logger';
import { createSharedRedis, type SharedRedis } from '../src/quota/redis';
import { startFaultProxy } from './support/fault-proxy';
import { captureLogs } from './support/logs';
import { type RedisServer, startRedis } from './support/redis-server';

const TTL = 600;
const KEY = 'pcgw:cb:lease-partner:lease';
const HOLDS = 'customer-base sync: this replica holds the lease and syncs';
const PASSED = 'customer-base sync: the lease has passed to another replica';

let server: RedisServer;
const opened: Array<{ lease: SyncLease; redis: SharedRedis }> = [];

beforeAll(async () => {
  server = await startRedis();
});
beforeEach(async () => {
  await server.client.flushall();
});
afterEach(async () => {
  for (const { lease, redis } of opened.splice(0)) {
    await lease.close();
    await redis.close();
  }
});
afterAll(async () => {
  await server?.stop();
});

function replica(ready: () => boolean = () => true, logs = captureLogs('info')) {
  const redis = createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 1_000 });
  const lease = createSyncLease(redis, 'lease-partner', ready, logs.logger, { leaseTtlMs: TTL });
  opened.push({ lease, redis });
  return { lease, logs, redis };
}

describe('the sync lease', () => {
  it('is held by one replica at a time, renewed while it holds it, and given back at once when it closes', async () => {
    const one = replica();
    await expect.poll(() => one.lease.held(), { timeout: 5_000 }).toBe(true);
    const holder = await server.client.get(KEY);
    expect(one.logs.withMessage(HOLDS)).toEqual([expect.objectContaining({ holder })]);
    expect(one.lease.signal().aborted).toBe(false);
    const two = replica();
    // Not held: its signal is aborted already. The holder's signal stays the one it took the lease with.
    expect(two.lease.signal().aborted).toBe(true);
    const signal = one.lease.signal();
    // Renewed: after several lives it is still the first replica's, and it said it took it only once.
    await expect.poll(async () => (await server.client.pttl(KEY)) > TTL * 0.7, { timeout: 5_000 }).toBe(true);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, TTL));
      expect(await server.client.get(KEY)).toBe(holder);
    }
    expect(one.lease.held()).toBe(true);
    expect(two.lease.held()).toBe(false);
    expect(one.logs.withMessage(HOLDS)).toHaveLength(1);
    expect(two.logs.withMessage(HOLDS)).toHaveLength(0);

    expect(one.lease.signal()).toBe(signal);
    await one.lease.close();
    expect(one.lease.held()).toBe(false);
    expect(signal.aborted).toBe(true);
    // Given back: the key no longer names it (gone, or the other replica's already), and the other replica takes it.
    expect(await server.client.get(KEY)).not.toBe(holder);
    await expect.poll(() => two.lease.held(), { timeout: 5_000 }).toBe(true);
    expect(await server.client.get(KEY)).not.toBe(holder);
    expect(two.logs.withMessage(HOLDS)).toHaveLength(1);
  });

  it('passes when Redis names another holder: not held, its signal aborted, and said once', async () => {
    const one = replica();
    await expect.poll(() => one.lease.held(), { timeout: 5_000 }).toBe(true);
    const signal = one.lease.signal();
    await server.client.set(KEY, 'another-replica', 'PX', 60_000);
    await expect.poll(() => one.lease.held(), { timeout: 5_000 }).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(one.logs.withMessage(PASSED)).toHaveLength(1);
    // Closing it leaves the other holder's lease alone.
    await one.lease.close();
    expect(await server.client.get(KEY)).toBe('another-replica');
    // Taken again once the other holder lets it go, with a fresh signal.
    const two = replica();
    await server.client.del(KEY);
    await expect.poll(() => two.lease.held(), { timeout: 5_000 }).toBe(true);
    expect(two.lease.signal().aborted).toBe(false);
  });

  it('lets go of a key found gone, runs out when Redis does not answer, and is never taken before the snapshot is read', async () => {
    let ready = false;
    const waiting = replica(() => ready);
    const one = replica();
    await expect.poll(() => one.lease.held(), { timeout: 5_000 }).toBe(true);
    const signal = one.lease.signal();
    await server.client.del(KEY);
    // The other replica is not ready: the key stays free, and the holder, finding it gone, lets it go.
    await expect.poll(() => one.lease.held(), { timeout: 5_000 }).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(waiting.lease.held()).toBe(false);
    await one.lease.close();
    await new Promise((resolve) => setTimeout(resolve, TTL));
    expect(await server.client.exists(KEY)).toBe(0);
    ready = true;
    await expect.poll(() => waiting.lease.held(), { timeout: 5_000 }).toBe(true);

    // Redis gone: no renewal answers, and the lease runs out at the end of its life, its signal aborted.
    const last = waiting.lease.signal();
    await server.kill();
    try {
      await expect.poll(() => waiting.lease.held(), { timeout: 5_000 }).toBe(false);
      expect(last.aborted).toBe(true);
      expect(waiting.logs.withMessage(PASSED)).toHaveLength(0);
    } finally {
      await server.restart();
    }
  });

  it('without Redis is always held and never aborts', async () => {
    expect(heldAlways.held()).toBe(true);
    expect(heldAlways.signal().aborted).toBe(false);
    await heldAlways.close();
    expect(heldAlways.held()).toBe(true);
  });
});

describe('the sync lease on a slow Redis', () => {
  it('takes, renews and gives back the lease as background work: a command slower than a request may wait still lands', async () => {
    const proxy = await startFaultProxy({ port: server.port });
    const redis = createSharedRedis(proxy.url, silentLogger, { commandTimeoutMs: 50, backgroundTimeoutMs: 2_000 });
    const logs = captureLogs('info');
    const lease = createSyncLease(redis, 'lease-partner', () => true, logs.logger, { leaseTtlMs: 1_500 });
    try {
      // Each SET and EVAL takes 300 ms: six times what a request waits for Redis.
      void proxy.delayCommands({ ms: 300, count: 1_000, match: /^(SET|EVAL)$/ });
      await expect.poll(() => lease.held(), { timeout: 10_000 }).toBe(true);
      const holder = await server.client.get(KEY);
      // Renewed through several lives, never lost and taken again.
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(await server.client.get(KEY)).toBe(holder);
        expect(lease.held()).toBe(true);
      }
      expect(logs.withMessage(HOLDS)).toHaveLength(1);
      await lease.close();
      // close() waited for the slow release.
      expect(await server.client.exists(KEY)).toBe(0);
    } finally {
      await lease.close();
      await redis.close();
      await proxy.close();
    }
  });
});
