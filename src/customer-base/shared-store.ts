// Owns the customer-base snapshot shared by replicas through Redis (REDIS_URL):
// a local store answers every read at once, what this replica changes is
// written to Redis in batches (kept and written again while Redis is slow or
// away, never dropped), and what other replicas wrote is read back once a
// second by revision, so only changed customers travel.
//
// Keys under pcgw:cb:<partner digest>: `customers` (hash: id -> JSON),
// `changes` (sorted set: id by the revision that last wrote it), `rev` (the
// revision counter) and `state` (the list's and the last pass's times, the
// current MCA template).

import type { Logger } from '../observability/logger';
import { KEY_PREFIX, type SharedRedis } from '../quota/redis';
import type { CustomerStore, LocalCustomerStore, SnapshotState, StoredCustomer } from './store';

export interface SharedStoreOptions {
  /** How often the other replicas' changes are read (default 1000 ms). */
  readonly pollMs?: number;
  /** How long a change waits so that changes travel together (default 200 ms). */
  readonly writeDelayMs?: number;
}

export interface SharedCustomerStore extends CustomerStore {
  /** Whether the snapshot in Redis has been read (or found empty) since start: a sync waits for it. */
  loaded(): boolean;
}

/** Customers per write or read, so no one Redis command holds the server for long. */
const BATCH = 500;

/**
 * KEYS: rev, customers, changes, state. ARGV: the state's JSON (or empty), then id and JSON pairs (empty JSON: the
 * customer was dropped). One revision for the batch; every id is noted under it.
 */
const WRITE = `
local rev = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then redis.call('SET', KEYS[4], ARGV[1]) end
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
  redis.call('ZADD', KEYS[3], rev, ARGV[i])
end
return rev`;

export function createSharedCustomerStore(
  local: LocalCustomerStore,
  redis: SharedRedis,
  partnerDigest: string,
  logger: Logger,
  options: SharedStoreOptions = {},
): SharedCustomerStore {
  const pollMs = options.pollMs ?? 1_000;
  const writeDelayMs = options.writeDelayMs ?? 200;
  const base = `${KEY_PREFIX}cb:${partnerDigest}:`;
  const keys = { rev: `${base}rev`, customers: `${base}customers`, changes: `${base}changes`, state: `${base}state` };
  /** Customers changed here and not yet in Redis; the state too. */
  const dirty = new Set<string>();
  let stateDirty = false;
  /** The latest revision read or written here; revisions this replica wrote need not be read back. */
  let seen = 0;
  const written = new Set<number>();
  let loaded = false;
  let closed = false;
  let writeTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;

  const scheduleWrite = (delayMs = writeDelayMs) => {
    if (closed || writeTimer || writing) return;
    writeTimer = setTimeout(() => {
      writeTimer = undefined;
      writing = write().finally(() => {
        writing = undefined;
        if (dirty.size > 0 || stateDirty) scheduleWrite(pollMs);
      });
    }, delayMs);
    writeTimer.unref();
  };

  /** Writes what changed here, a batch at a time; what cannot be written stays to be written again. */
  async function write(): Promise<void> {
    while ((dirty.size > 0 || stateDirty) && loaded) {
      const ids = [...dirty].slice(0, BATCH);
      const args: string[] = [stateDirty ? JSON.stringify(local.state()) : ''];
      for (const id of ids) {
        const customer = local.get(id);
        args.push(id, customer ? JSON.stringify(customer) : '');
      }
      for (const id of ids) dirty.delete(id);
      const wroteState = stateDirty;
      stateDirty = false;
      const rev = await redis.run(
        (client) =>
          client.eval(WRITE, 4, keys.rev, keys.customers, keys.changes, keys.state, ...args) as Promise<number>,
        { background: true },
      );
      if (rev === undefined) {
        for (const id of ids) dirty.add(id);
        stateDirty ||= wroteState;
        return;
      }
      written.add(Number(rev));
    }
  }

  /** Reads the whole snapshot once; an empty Redis is seeded with what this replica holds (SNAPSHOT_PATH). */
  async function load(): Promise<void> {
    const read = await redis.run(
      async (client) => {
        const rev = await client.get(keys.rev);
        const [all, state] = await Promise.all([client.hgetall(keys.customers), client.get(keys.state)]);
        return { rev: Number(rev ?? 0), all, state };
      },
      { background: true },
    );
    if (read === undefined || loaded) return;
    loaded = true;
    if (read.rev === 0) {
      for (const customer of local.all()) dirty.add(customer.id);
      stateDirty = true;
      scheduleWrite(0);
      return;
    }
    seen = read.rev;
    const customers = Object.values(read.all).map((text) => JSON.parse(text) as StoredCustomer);
    const listed = new Set(customers.map((customer) => customer.id));
    const removed = local
      .all()
      .map((customer) => customer.id)
      .filter((id) => !listed.has(id));
    local.apply(customers, removed, read.state ? (JSON.parse(read.state) as SnapshotState) : {});
    if (dirty.size > 0) scheduleWrite(0);
  }

  /** Reads what other replicas wrote since the last revision seen. */
  async function poll(): Promise<void> {
    if (!loaded) return load();
    const changes = await redis.run(
      async (client) => {
        const rev = Number((await client.get(keys.rev)) ?? 0);
        if (rev <= seen) return undefined;
        const scored = await client.zrangebyscore(keys.changes, `(${seen}`, '+inf', 'WITHSCORES');
        const ids: string[] = [];
        let latest = seen;
        for (let i = 0; i < scored.length; i += 2) {
          const at = Number(scored[i + 1]);
          latest = Math.max(latest, at);
          if (!written.has(at)) ids.push(scored[i] as string);
        }
        const values: Array<string | null> = [];
        for (let i = 0; i < ids.length; i += BATCH)
          values.push(...(await client.hmget(keys.customers, ...ids.slice(i, i + BATCH))));
        return { latest, ids, values, state: await client.get(keys.state) };
      },
      { background: true },
    );
    if (changes === undefined) return;
    for (const at of written) if (at <= changes.latest) written.delete(at);
    seen = changes.latest;
    const put: StoredCustomer[] = [];
    const removed: string[] = [];
    changes.ids.forEach((id, index) => {
      // What this replica changed and has not yet written wins: it is the newer.
      if (dirty.has(id)) return;
      const text = changes.values[index];
      if (text === null || text === undefined) removed.push(id);
      else put.push(JSON.parse(text) as StoredCustomer);
    });
    const state = !stateDirty && changes.state ? (JSON.parse(changes.state) as SnapshotState) : undefined;
    if (put.length > 0 || removed.length > 0 || state) local.apply(put, removed, state);
  }

  let polling: Promise<void> | undefined;
  const pollTimer = setInterval(() => {
    polling ??= poll()
      .catch((error: unknown) =>
        logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'customer base: Redis read failed',
        ),
      )
      .finally(() => {
        polling = undefined;
      });
  }, pollMs);
  pollTimer.unref();
  polling = load().finally(() => {
    polling = undefined;
  });
  // What was changed while Redis was away is written as soon as it answers again.
  redis.onReconnect(() => scheduleWrite(0));

  const changed = (ids: Iterable<string>) => {
    for (const id of ids) dirty.add(id);
    scheduleWrite();
  };

  return {
    all: () => local.all(),
    version: () => local.version(),
    orderVersion: () => local.orderVersion(),
    get: (id) => local.get(id),
    state: () => local.state(),
    loaded: () => loaded,
    replaceList(items, at) {
      const before = new Map(local.all().map((customer) => [customer.id, customer]));
      local.replaceList(items, at);
      const touched: string[] = [];
      for (const [id, customer] of before) {
        const now = local.get(id);
        if (now === undefined || JSON.stringify(now) !== JSON.stringify(customer)) touched.push(id);
      }
      for (const item of items) if (!before.has(item.id)) touched.push(item.id);
      stateDirty = true;
      changed(touched);
    },
    update(id, change) {
      if (local.get(id) === undefined) return;
      local.update(id, change);
      changed([id]);
    },
    passCompleted(at) {
      local.passCompleted(at);
      stateDirty = true;
      scheduleWrite();
    },
    templateRead(templateId) {
      if (local.state().agreementTemplateId === templateId) return;
      local.templateRead(templateId);
      stateDirty = true;
      scheduleWrite();
    },
    flush() {
      local.flush();
      if (writeTimer) clearTimeout(writeTimer);
      writeTimer = undefined;
      scheduleWrite(0);
    },
    async close() {
      clearInterval(pollTimer);
      if (writeTimer) clearTimeout(writeTimer);
      writeTimer = undefined;
      await polling;
      await writing;
      closed = true;
      // A last write, bounded by Redis's background bound; what it cannot write the next holder reads again.
      await write();
      await local.close();
    },
  };
}
