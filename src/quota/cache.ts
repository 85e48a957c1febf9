// Owns the cross-request answer cache (CACHE_TTL_SECONDS, CACHE_MAX_ENTRIES):
// successful answers per (token digest, resource, customer), in memory with
// lru-cache or in Redis when configured, and the per-customer invalidation
// that drops an answer for every token at once without a scan.

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Resource } from '../domain/upstream';
import { KEY_PREFIX, type SharedRedis } from './redis';

export interface AnswerKey {
  readonly resource: Resource;
  readonly customer: string;
  /** The token's digest (partner-key.ts): an answer is never served to another token. */
  readonly digest: string;
}

/** When a fetch started, in the cache's terms: an answer is stored only if nothing invalidated it since. */
export interface Stamp {
  /** This process's invalidation sequence number when the fetch started. */
  readonly seq: number;
  /** The customer's generation in Redis when the fetch started; undefined when Redis was not asked. */
  readonly generation?: number;
  /** Epoch ms when the fetch started. */
  readonly at?: number;
}

export type Lookup = { hit: true; value: unknown } | { hit: false; stamp: Stamp };

export interface AnswerCache {
  get(key: AnswerKey): Promise<Lookup>;
  /** Keeps a successful answer, unless its customer was invalidated after `stamp`. */
  set(key: AnswerKey, value: unknown, stamp: Stamp): Promise<void>;
  /** Drops the customer's answers of this resource for every token, here and (with Redis) in every replica. */
  invalidate(resource: Resource, customer: string): Promise<void>;
  /** Whether an answer fetched since `stamp` is still current in this process: coalescing joins only those. */
  current(resource: Resource, customer: string, stamp: Stamp): boolean;
  /**
   * Takes the lease to fetch this answer for every replica (Redis, cache on): resolves its release, or undefined
   * while another replica holds it (that replica's answer will land in the cache). Without Redis, or when Redis
   * cannot answer, the lease is always granted: nothing waits on a replica that cannot be heard from.
   */
  claim(key: AnswerKey): Promise<(() => Promise<void>) | undefined>;
  /**
   * The last answer kept for `key` (STALE_IF_ERROR_SECONDS: answers are kept that long past their TTL, never served
   * as fresh), with when it was read; undefined when there is none, or it was invalidated since.
   */
  lastGood(key: AnswerKey): Promise<{ value: unknown; at: number } | undefined>;
}

export interface AnswerCacheOptions {
  /** 0 turns caching off; invalidation is still tracked, for coalescing. */
  readonly ttlSeconds: number;
  readonly maxEntries: number;
  readonly redis?: SharedRedis;
  /** How long a replica's fetch lease lasts at most (it is released as soon as the fetch settles). */
  readonly leaseMs?: number;
  /** STALE_IF_ERROR_SECONDS: how long an answer is kept, past its TTL, to stand in for a failed read. */
  readonly staleSeconds?: number;
}

const noLease = async () => {};
/** Deletes a lease only if it is still the one taken, so a late release never frees another replica's lease. */
const RELEASE_LEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

interface Entry {
  readonly value: unknown;
  readonly seq: number;
  /** Epoch ms when it was read. */
  readonly at: number;
  /** The customer's generation in Redis when its fetch started; undefined when Redis was not heard from. */
  readonly generation?: number;
  /** Epoch ms when Redis last said this answer was the customer's current one (stored it, or served it). */
  confirmedAt?: number;
}

/**
 * How long a copy Redis confirmed stands in when a Redis command is slow or fails: a blip then costs no call. A change
 * another replica made in that time shows here once Redis answers again.
 */
const CONFIRMED_FOR_MS = 5_000;

/**
 * Stores an answer fetched while Redis was not heard from, unless its customer was changed (by any replica) since the
 * fetch started: KEYS gen, changed-at, entry; ARGV the fetch's start, the entry's JSON after its generation, its
 * life. Answers the generation it was stored under, or -1.
 */
const SET_IF_UNCHANGED_SINCE = `
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[1]) then return -1 end
local generation = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('SET', KEYS[3], '{"g":' .. generation .. ',' .. ARGV[2], 'PX', ARGV[3])
return generation`;

/** Stores an answer only while its customer's generation is still the one its fetch started with. */
const SET_IF_CURRENT = `
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

/*
 * Invalidation without a scan: every fetch is stamped with a sequence number when it starts, and invalidating a
 * customer records the next number for it. An answer counts only if it was fetched after its customer's last
 * invalidation. Invalidation records live as long as an answer can (the TTL); when one is pushed out early by the
 * size bound, the floor rises to it, which invalidates a little too much and never too little. In Redis, a
 * per-customer generation counter does the same across replicas (one INCR, one MGET per lookup).
 */
export function createAnswerCache(options: AnswerCacheOptions): AnswerCache {
  const ttlMs = options.ttlSeconds * 1_000;
  // An entry lives as long as it can be served: fresh for the TTL, or as a stale stand-in for longer.
  const keepMs = Math.max(ttlMs, (options.staleSeconds ?? 0) * 1_000);
  const redis = ttlMs > 0 ? options.redis : undefined;
  let sequence = 0;
  let floor = 0;
  const invalidations = new LRUCache<string, number>({
    max: Math.max(options.maxEntries, 10_000),
    // As long as an answer or a coalesced call can live: the TTL, or the longest request budget.
    ttl: Math.max(keepMs, 3_600_000),
    dispose: (seq, _key, reason) => {
      if (reason === 'evict') floor = Math.max(floor, seq);
    },
  });
  const entries = ttlMs > 0 ? new LRUCache<string, Entry>({ max: options.maxEntries, ttl: keepMs }) : undefined;

  const customerKey = (resource: Resource, customer: string) => `${resource}:${customer}`;
  const current = (resource: Resource, customer: string, stamp: Stamp) =>
    stamp.seq > Math.max(floor, invalidations.get(customerKey(resource, customer)) ?? 0);
  const localKey = (key: AnswerKey) => `${key.resource}:${key.customer}:${key.digest}`;
  const redisKeys = (key: AnswerKey) => ({
    entry: `${KEY_PREFIX}cache:${key.resource}:${key.customer}:${key.digest}`,
    generation: `${KEY_PREFIX}gen:${key.resource}:${key.customer}`,
    changedAt: `${KEY_PREFIX}genat:${key.resource}:${key.customer}`,
  });

  const fresh = (at: number) => Date.now() - at < ttlMs;
  /** The kept answer, when nothing invalidated it since it was read. */
  const keptLocally = (key: AnswerKey) => {
    const entry = entries?.get(localKey(key));
    return entry && current(key.resource, key.customer, entry) ? entry : undefined;
  };
  /** The kept answer in Redis (and the customer's generation), when its generation is still the customer's. */
  async function keptInRedis(key: AnswerKey) {
    const names = redisKeys(key);
    const shared = await redis?.run((r) => r.mget(names.generation, names.entry));
    if (!shared) return undefined;
    const [generationText, entryText] = shared;
    const generation = Number(generationText ?? 0);
    const entry = entryText ? (JSON.parse(entryText) as { g: number; v: unknown; t?: number }) : undefined;
    // An entry without its time was written with the TTL as its life (an older gateway): it is fresh while it lasts.
    const kept = entry && entry.g === generation ? { value: entry.v, at: entry.t ?? Date.now() } : undefined;
    return { generation, kept };
  }

  /**
   * This replica's own copy, when Redis is not configured, or did not answer: then a copy fetched while Redis was away,
   * or one Redis confirmed within CONFIRMED_FOR_MS.
   */
  function getLocally(key: AnswerKey, stamp: Stamp): Lookup {
    const entry = keptLocally(key);
    const usable =
      entry !== undefined &&
      fresh(entry.at) &&
      (!redis || entry.generation === undefined || Date.now() - (entry.confirmedAt ?? 0) <= CONFIRMED_FOR_MS);
    if (usable) return { hit: true, value: entry.value };
    return { hit: false, stamp };
  }

  /** Keeps (or refreshes) the copy of an answer Redis just served, so a blip of Redis later costs no call. */
  function confirmLocally(key: AnswerKey, stamp: Stamp, kept: { value: unknown; at: number }, generation: number) {
    const name = localKey(key);
    const entry = entries?.get(name);
    if (entry && entry.generation === generation && entry.at === kept.at) {
      entry.confirmedAt = Date.now();
      return;
    }
    entries?.set(name, { value: kept.value, seq: stamp.seq, at: kept.at, generation, confirmedAt: Date.now() });
  }

  const leaseMs = options.leaseMs ?? 10_000;
  return {
    current,
    async claim(key) {
      if (!redis) return noLease;
      const name = `${KEY_PREFIX}lease:${key.resource}:${key.customer}:${key.digest}`;
      const holder = randomUUID();
      const taken = await redis.run((r) => r.set(name, holder, 'PX', leaseMs, 'NX'));
      if (taken === null) return undefined;
      if (taken === undefined) return noLease;
      return async () => {
        await redis.run((r) => r.eval(RELEASE_LEASE, 1, name, holder));
      };
    },
    async get(key) {
      const stamp = { seq: ++sequence, at: Date.now() };
      if (!entries) return { hit: false, stamp };
      if (!redis) return getLocally(key, stamp);
      const shared = await keptInRedis(key);
      if (!shared) return getLocally(key, stamp);
      if (shared.kept && fresh(shared.kept.at)) {
        confirmLocally(key, stamp, shared.kept, shared.generation);
        return { hit: true, value: shared.kept.value };
      }
      // An answer whose write to Redis was slow or failed is still this replica's to serve while its generation holds.
      const local = keptLocally(key);
      if (local && local.generation === shared.generation && fresh(local.at)) return { hit: true, value: local.value };
      return { hit: false, stamp: { ...stamp, generation: shared.generation } };
    },
    async lastGood(key) {
      if (!entries || keepMs <= ttlMs) return undefined;
      const local = keptLocally(key);
      if (!redis) return local && { value: local.value, at: local.at };
      const shared = await keptInRedis(key);
      // Redis away: what this replica kept; else Redis's, or this replica's when it read later.
      if (!shared) return local && { value: local.value, at: local.at };
      if (local && (!shared.kept || local.at > shared.kept.at)) return { value: local.value, at: local.at };
      return shared.kept;
    },
    async set(key, value, stamp) {
      if (!entries || !current(key.resource, key.customer, stamp)) return;
      const at = Date.now();
      const generation = stamp.generation;
      const entry: Entry = { value, seq: stamp.seq, at, ...(generation === undefined ? {} : { generation }) };
      const name = localKey(key);
      entries.set(name, entry);
      if (!redis) return;
      const names = redisKeys(key);
      if (generation !== undefined) {
        const text = JSON.stringify({ g: generation, v: value, t: at });
        const stored = await redis.run((r) => r.set(names.entry, text, 'PX', keepMs));
        if (stored) {
          entry.confirmedAt = Date.now();
          return;
        }
        // Slow or failed: kept here, and written once Redis answers, if nothing changed the customer meanwhile.
        redis.writeBack(names.entry, async (r) => {
          const left = at + keepMs - Date.now();
          if (left <= 0) return false;
          return r.eval(SET_IF_CURRENT, 2, names.generation, names.entry, generation, text, left);
        });
        return;
      }
      // Fetched while Redis was not heard from: written once it answers, unless any replica changed the customer
      // since the fetch started; then this replica serves it as shared, or forgets it.
      const startedAt = stamp.at ?? at;
      redis.writeBack(names.entry, async (r) => {
        const left = at + keepMs - Date.now();
        if (left <= 0) return false;
        const rest = JSON.stringify({ v: value, t: at }).slice(1);
        const stored = Number(
          await r.eval(
            SET_IF_UNCHANGED_SINCE,
            3,
            names.generation,
            names.changedAt,
            names.entry,
            startedAt,
            rest,
            left,
          ),
        );
        if (entries.get(name) !== entry) return true;
        if (stored < 0) entries.delete(name);
        else entries.set(name, { ...entry, generation: stored, confirmedAt: Date.now() }, { ttl: Math.max(1, left) });
        return true;
      });
    },
    async invalidate(resource, customer) {
      invalidations.set(customerKey(resource, customer), ++sequence);
      if (!redis) return;
      const generation = `${KEY_PREFIX}gen:${resource}:${customer}`;
      const changedAt = `${KEY_PREFIX}genat:${resource}:${customer}`;
      // The counter outlives every answer stamped with it; when it finally expires, reading 0 invalidates them all.
      // The time of the change keeps out answers fetched before it while Redis was away from their replica.
      const write = (r: Redis) =>
        r
          .multi()
          .incr(generation)
          .pexpire(generation, 2 * keepMs)
          .set(changedAt, String(Date.now()), 'PX', 2 * keepMs)
          .exec();
      // A change made while Redis was slow or away reaches the other replicas once it answers.
      if ((await redis.run(write)) === undefined) redis.writeBack(generation, write);
    },
  };
}
