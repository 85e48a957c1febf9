// Owns the assembly of the quota machinery from Config: Redis when REDIS_URL
// is set, the cache, throttle windows, pacing, slots and coalescing, and the
// one dispose that closes them.

import type { Config } from '../config/config';
import type { GatewayEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import type { Admission } from '../partner-center/admission-port';
import { createAdmission } from './admission';
import { createAnswerCache } from './cache';
import { createSharedCalls, type SharedCalls } from './coalescing';
import { createPacer, type Pacer } from './pacing';
import { createSharedRedis, type SharedRedis, type SharedRedisOptions } from './redis';
import { createSlots } from './slots';
import { createThrottleWindows } from './windows';

export type QuotaConfig = Pick<
  Config,
  | 'maxConcurrencyPerToken'
  | 'cacheTtlSeconds'
  | 'cacheMaxEntries'
  | 'ratePerMinute'
  | 'redisUrl'
  | 'attemptTimeoutMs'
  | 'staleIfErrorSeconds'
>;

/** Knobs that are not settings: the quota benchmark compresses time; tests shorten Redis's bounds. */
export interface QuotaTuning {
  /** The pacing window and the customer-base sync's minute, 60 000 ms unless time is compressed. */
  readonly pacingWindowMs?: number;
  readonly redis?: SharedRedisOptions;
}

export interface Quota {
  readonly admission: Admission;
  readonly shared: SharedCalls;
  /**
   * The partner's metadata (the current MCA template): cached for an hour whatever CACHE_TTL_SECONDS says, keyed like
   * every answer (per partner when the gateway signs in, per token in forward mode), shared through Redis.
   */
  readonly metadata: SharedCalls;
  /** PARTNER_CENTER_RATE_PER_MINUTE's turns, which the admission takes; undefined without pacing. */
  readonly pacer: Pacer | undefined;
  /** The one Redis connection (REDIS_URL), which the sign-in shares too; undefined without one. */
  readonly redis: SharedRedis | undefined;
  dispose(): Promise<void>;
}

/** The current MCA template is read at most once an hour: it is the partner's and rarely changes. */
export const METADATA_TTL_SECONDS = 3_600;

export function createQuota(
  config: QuotaConfig,
  deps: { logger: Logger; events?: GatewayEvents; tuning?: QuotaTuning },
): Quota {
  const tuning = deps.tuning ?? {};
  const redis: SharedRedis | undefined = config.redisUrl
    ? createSharedRedis(config.redisUrl, deps.logger, tuning.redis)
    : undefined;
  const pacer =
    config.ratePerMinute > 0
      ? createPacer({ limit: config.ratePerMinute, windowMs: tuning.pacingWindowMs, redis })
      : undefined;
  const admission = createAdmission({
    slots: createSlots(config.maxConcurrencyPerToken),
    windows: createThrottleWindows({ redis }),
    pacer,
    events: deps.events,
  });
  const cache = createAnswerCache({
    ttlSeconds: config.cacheTtlSeconds,
    maxEntries: config.cacheMaxEntries,
    redis,
    // A replica waits for another's fetch at most one attempt (plus slack) before fetching itself.
    leaseMs: config.attemptTimeoutMs + 1_000,
    staleSeconds: config.staleIfErrorSeconds,
  });
  const shared = createSharedCalls({ cache, events: deps.events });
  const metadata = createSharedCalls({
    cache: createAnswerCache({
      ttlSeconds: METADATA_TTL_SECONDS,
      maxEntries: 1_000,
      redis,
      leaseMs: config.attemptTimeoutMs + 1_000,
    }),
    events: deps.events,
  });
  return { admission, shared, metadata, pacer, redis, dispose: async () => redis?.close() };
}
