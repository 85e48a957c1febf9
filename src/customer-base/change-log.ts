// Owns the change log of the customer base: changes in the order they were
// recorded, each with an id of Redis Streams' shape (`<ms>-<seq>`) that
// orders it the same way for every replica, kept CHANGES_RETENTION_DAYS and
// at most CHANGES_MAX (oldest dropped first), and told to this replica's
// listeners (subscriptions) in order. In memory (written with the snapshot
// to SNAPSHOT_PATH), or a Redis Stream shared by replicas: XADD with exact
// MAXLEN and MINID trimming, and one blocking XREAD per replica that mirrors
// every replica's entries into the local copy that answers reads.

import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';
import { KEY_PREFIX, type SharedRedis } from '../quota/redis';
import { type ChangeFilter, changeMatches, type NewChange, type RecordedChange } from './change';

export interface ChangeLogOptions {
  /** CHANGES_MAX: changes kept at most. */
  readonly max: number;
  /** CHANGES_RETENTION_DAYS, in ms. */
  readonly retentionMs: number;
}

/** Where a cursor's change stands: still kept, dropped as too old, or never in this log. */
export type Standing = 'kept' | 'expired' | 'unknown';

export interface ChangeLog {
  /** Records changes; readable here at once (in memory), or once Redis has them (every replica alike). */
  record(changes: readonly NewChange[]): void;
  /** Kept changes after `afterId` (all of them without it) that match, oldest first, at most `limit`. */
  after(
    afterId: string | undefined,
    limit: number,
    filter?: ChangeFilter,
  ): { changes: RecordedChange[]; more: boolean };
  /** The newest change's id, or undefined while there is none. */
  newestId(): string | undefined;
  standing(id: string): Standing;
  /** Calls `listener` with each change as it becomes readable here, in id order; returns what stops that. */
  listen(listener: (change: RecordedChange) => void): () => void;
  /** Every kept change, for the snapshot file. */
  entries(): readonly RecordedChange[];
  close(): Promise<void>;
}

/** Compares two ids of Redis Streams' shape: by ms, then by sequence. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export const isChangeId = (id: string) => /^\d{1,16}-\d{1,16}$/.test(id);

/** The log in this process: what answers reads and tells listeners, also as Redis's mirror. */
export interface LocalChangeLog extends ChangeLog {
  /** Takes an entry that already has its id (read back from Redis); ignored unless newer than the newest. */
  accept(change: RecordedChange): void;
}

export function createMemoryChangeLog(
  options: ChangeLogOptions,
  initial: readonly RecordedChange[] = [],
): LocalChangeLog {
  // A plain array with a start index: trimming the oldest moves the index, and the array is compacted now and then.
  let entries: RecordedChange[] = [...initial].sort((a, b) => compareIds(a.id, b.id));
  let start = 0;
  /** The newest id ever held, so that a dropped change is told from one never issued. */
  let newest = entries.at(-1)?.id;
  const listeners = new Set<(change: RecordedChange) => void>();

  const trim = (now: number) => {
    const oldestKept = now - options.retentionMs;
    while (
      start < entries.length &&
      (entries.length - start > options.max || (entries[start]?.at ?? now) < oldestKept)
    ) {
      start++;
    }
    if (start > 1_024 && start * 2 > entries.length) {
      entries = entries.slice(start);
      start = 0;
    }
  };
  /** The index of the first kept entry after `id`. */
  const indexAfter = (id: string) => {
    let low = start;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareIds((entries[middle] as RecordedChange).id, id) > 0) high = middle;
      else low = middle + 1;
    }
    return low;
  };
  const add = (change: RecordedChange) => {
    entries.push(change);
    newest = change.id;
    trim(Date.now());
    for (const listener of [...listeners]) listener(change);
  };
  trim(Date.now());

  return {
    record(changes) {
      for (const change of changes) {
        // Ids of Redis's shape: the ms of recording, and a sequence within that ms (never behind the newest).
        const now = Date.now();
        const [newestMs = 0, newestSeq = -1] = newest === undefined ? [] : newest.split('-').map(Number);
        const id = now > newestMs ? `${now}-0` : `${newestMs}-${newestSeq + 1}`;
        add({ ...change, id, at: now });
      }
    },
    accept(change) {
      if (newest !== undefined && compareIds(change.id, newest) <= 0) return;
      add(change);
    },
    after(afterId, limit, filter = {}) {
      trim(Date.now());
      const changes: RecordedChange[] = [];
      for (let index = afterId === undefined ? start : indexAfter(afterId); index < entries.length; index++) {
        const change = entries[index] as RecordedChange;
        if (!changeMatches(change, filter)) continue;
        if (changes.length === limit) return { changes, more: true };
        changes.push(change);
      }
      return { changes, more: false };
    },
    newestId: () => newest,
    standing(id) {
      trim(Date.now());
      const oldest = entries[start];
      if (newest === undefined || compareIds(id, newest) > 0) return 'unknown';
      if (oldest === undefined || compareIds(id, oldest.id) < 0) return 'expired';
      const found = entries[indexAfter(id) - 1];
      return found?.id === id ? 'kept' : 'unknown';
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    entries: () => entries.slice(start),
    close: async () => undefined,
  };
}

/** How long one blocking read waits for new entries before it asks again. */
const BLOCK_MS = 1_000;
/** Entries per read. */
const BATCH = 500;

/**
 * The log shared by replicas: a Redis Stream. Recording is an XADD (a change recorded while Redis is away waits and
 * is written when it answers, in order); every replica, the recording one included, reads the stream with a blocking
 * XREAD into its local copy, so every replica tells its listeners the same changes in the same order.
 */
export function createStreamChangeLog(
  local: LocalChangeLog,
  redis: SharedRedis,
  partnerDigest: string,
  logger: Logger,
  options: ChangeLogOptions,
): ChangeLog {
  const key = `${KEY_PREFIX}cb:${partnerDigest}:changes-log`;
  const pending: NewChange[] = [];
  let writing: Promise<void> | undefined;
  let closed = false;
  let reader: Redis | undefined;
  let warned = false;

  const fields = (change: NewChange) => ['c', JSON.stringify(change)];
  const parse = (id: string, values: string[]): RecordedChange | undefined => {
    const index = values.indexOf('c');
    try {
      const change = JSON.parse(values[index + 1] ?? '') as NewChange;
      return { ...change, id, at: Number(id.split('-')[0]) };
    } catch {
      return undefined;
    }
  };

  async function write(): Promise<void> {
    while (pending.length > 0 && !closed) {
      const batch = pending.slice(0, BATCH);
      const minId = `${Math.max(0, Date.now() - options.retentionMs)}-0`;
      const done = await redis.run(
        async (client) => {
          // One transaction: the batch is in the Stream whole or not at all. ioredis answers a command Redis refused
          // in the result instead of throwing: a batch with one is not written, and waits like one Redis never took.
          const transaction = client.multi();
          for (const change of batch) transaction.xadd(key, 'MAXLEN', String(options.max), '*', ...fields(change));
          transaction.xtrim(key, 'MINID', minId);
          const results = await transaction.exec();
          const refused = results?.slice(0, batch.length).find(([error]) => error)?.[0];
          if (!results || refused) throw refused ?? new Error('customer changes: the transaction was discarded');
          return true;
        },
        { background: true },
      );
      if (!done) {
        if (!warned)
          logger.warn({ waiting: pending.length }, 'customer changes: Redis cannot take them now; kept to write later');
        warned = true;
        return;
      }
      warned = false;
      pending.splice(0, batch.length);
    }
  }
  const scheduleWrite = () => {
    writing ??= write().finally(() => {
      writing = undefined;
    });
  };
  redis.onReconnect(() => {
    if (pending.length > 0) scheduleWrite();
  });

  /** Mirrors the stream: what is kept at start, then every new entry as it is added, by any replica. */
  async function mirror(): Promise<void> {
    let last = local.newestId() ?? '0-0';
    while (!closed) {
      reader ??= await redis.blocking(BLOCK_MS);
      if (!reader) return;
      try {
        const read = (await reader.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', key, last)) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        for (const [, items] of read ?? []) {
          for (const [id, values] of items) {
            const change = parse(id, values);
            if (change) local.accept(change);
            last = id;
          }
        }
      } catch (error) {
        if (closed) return;
        logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'customer changes: read failed');
        await new Promise((resolve) => setTimeout(resolve, BLOCK_MS).unref());
      }
    }
  }
  const mirroring = mirror();

  return {
    record(changes) {
      pending.push(...changes);
      scheduleWrite();
    },
    after: (afterId, limit, filter) => local.after(afterId, limit, filter),
    newestId: () => local.newestId(),
    standing: (id) => local.standing(id),
    listen: (listener) => local.listen(listener),
    entries: () => local.entries(),
    async close() {
      await writing;
      if (pending.length > 0) await write();
      closed = true;
      reader?.disconnect();
      await mirroring;
    },
  };
}
