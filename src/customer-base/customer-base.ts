// Owns the assembly of the customer base from Config: the snapshot (in memory,
// in SNAPSHOT_PATH, shared through Redis), the change log beside it (in
// memory and the snapshot file, or a Redis Stream), the store that records
// each change it is written, the sync that keeps it fresh, the feed that
// subscriptions follow, and the telling of every write (the response cache).

import type { Config } from '../config/config';
import type { GatewayEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import type { PartnerCenterClient } from '../partner-center/types';
import type { Pacer } from '../quota/pacing';
import type { SharedRedis } from '../quota/redis';
import type { SignIn } from '../sign-in/sign-in';
import { type ChangeFeed, createChangeFeed } from './change-feed';
import { type ChangeLog, createMemoryChangeLog, createStreamChangeLog } from './change-log';
import { createSyncLease, type LeaseOptions } from './lease';
import { createRecordingStore } from './recording-store';
import { createSyncShare } from './share';
import { createSharedCustomerStore, type SharedStoreOptions } from './shared-store';
import { type SnapshotWriteListener, watchWrites } from './snapshot-writes';
import { type CustomerStore, createCustomerStore, loadSnapshot } from './store';
import { type CustomerBaseSync, createCustomerBaseSync } from './sync';

export interface CustomerBase {
  readonly store: CustomerStore;
  readonly sync: CustomerBaseSync;
  /** The change log (memory, SNAPSHOT_PATH, or a Redis Stream shared by replicas). */
  readonly changes: ChangeLog;
  /** Subscriptions following the change log. */
  readonly feed: ChangeFeed;
  /** Stops the sync, ends the subscriptions, writes what is left (snapshot, changes) and lets the lease go. */
  close(): Promise<void>;
}

/** Knobs that are not settings: tests shorten how often replicas read each other, the lease, and data's age. */
export type CustomerBaseTuning = SharedStoreOptions & LeaseOptions & { readonly maxAgeMs?: number };

export interface CustomerBaseDeps {
  readonly client: PartnerCenterClient;
  readonly signIn: SignIn;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly redis: SharedRedis | undefined;
  readonly tuning: CustomerBaseTuning | undefined;
  readonly minuteMs: number | undefined;
  readonly pacer: Pacer | undefined;
  /** Told of every write of the snapshot, this replica's and (through Redis) the others' (the response cache). */
  readonly onWrite?: SnapshotWriteListener;
}

export function createCustomerBase(config: Config, deps: CustomerBaseDeps): CustomerBase {
  const { signIn, logger, redis, tuning, pacer } = deps;
  const loaded = loadSnapshot(config.snapshotPath);
  const logOptions = { max: config.changesMax, retentionMs: config.changesRetentionDays * 86_400_000 };
  const localLog = createMemoryChangeLog(logOptions, loaded.changes);
  const held = createCustomerStore(config.snapshotPath, loaded, { changes: () => localLog.entries() });
  // Beneath the shared store, so that both this replica's writes and those applied from other replicas are told.
  const local = deps.onWrite ? watchWrites(held, deps.onWrite) : held;
  const digest = signIn.identity.digest;
  const shared = redis ? createSharedCustomerStore(local, redis, digest, logger, tuning) : undefined;
  const changes = redis ? createStreamChangeLog(localLog, redis, digest, logger, logOptions) : localLog;
  const store = createRecordingStore(shared ?? local, changes, deps.events);
  const feed = createChangeFeed(changes, config.subscriptionsMax);
  const sync = createCustomerBaseSync({
    config,
    client: deps.client,
    store,
    identity: signIn.identity,
    signIn: signIn.token.authorization,
    logger,
    events: deps.events,
    share: createSyncShare({
      rate: config.syncRatePerMinute,
      limit: config.ratePerMinute,
      minuteMs: deps.minuteMs ?? 60_000,
      burst: config.maxConcurrencyPerToken,
      turnsInWindow: pacer ? () => pacer.turnsInWindow(signIn.identity.partner) : undefined,
      queuedTurns: pacer ? () => pacer.queuedTurns(signIn.identity.partner) : undefined,
    }),
    lease: redis && shared ? createSyncLease(redis, digest, shared.loaded, logger, tuning) : undefined,
    ...(tuning?.maxAgeMs === undefined ? {} : { maxAgeMs: tuning.maxAgeMs }),
  });
  return {
    store,
    sync,
    changes,
    feed,
    async close() {
      feed.close();
      // The sync writes the snapshot (with the local changes) before it lets the lease go.
      await sync.close();
      await changes.close();
    },
  };
}
