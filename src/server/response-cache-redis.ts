// Owns the response cache's store in Redis (REDIS_URL): answers and the keys
// of the answers under each tag, shared by every replica, through the
// gateway's bounded client. src/server/response-cache.ts decides what is
// cached and when it is dropped.

import type { Cache } from '@graphql-yoga/plugin-response-cache';
import type { ExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import { KEY_PREFIX, type SharedRedis } from '../quota/redis';

/**
 * With REDIS_URL: `pcgw:rc:<partner digest>:r:<key>` holds an answer (for the TTL), `…:t:<tag>` the keys of the
 * answers that hold a tag (`Customer:<id>`, or a type); the sets expire with their newest answer. Every command
 * goes through the gateway's bounded Redis: a slow or absent Redis is a miss, never a failed request. An
 * invalidation that has not landed yet (Redis away) is written again until it does, and until then this replica
 * serves nothing from Redis, so it never serves what it has invalidated. `remembered`: how many answers read are
 * kept parsed, by key.
 */
export function redisStore(redis: SharedRedis, partnerDigest: string, ttlMs: number, remembered: number): Cache {
  const base = `${KEY_PREFIX}rc:${partnerDigest}:`;
  const answerKey = (key: string) => `${base}r:${key}`;
  const tagKey = (entity: { typename: string; id?: number | string }) =>
    `${base}t:${entity.id === undefined ? entity.typename : `${entity.typename}:${entity.id}`}`;
  /** Invalidations not yet landed, by when they were made; past the TTL what they were about has expired anyway. */
  const waiting = new Map<number, number>();
  let sequence = 0;
  /** The answers last read, by key, with the text they were read from. */
  const parsed = new LRUCache<string, { text: string; result: ExecutionResult }>({ max: remembered });
  const unsettled = () => {
    for (const [id, at] of waiting) if (Date.now() - at > ttlMs) waiting.delete(id);
    return waiting.size > 0;
  };
  return {
    async get(key) {
      if (unsettled()) return undefined;
      const text = await redis.run((client) => client.get(answerKey(key)));
      if (typeof text !== 'string') return undefined;
      // The same text is the same answer: parsed once, so its hit body is made once too (see guarded()).
      const seen = parsed.get(key);
      if (seen?.text === text) return seen.result;
      const result = JSON.parse(text) as ExecutionResult;
      parsed.set(key, { text, result });
      return result;
    },
    async set(key, result, entities, ttl) {
      if (unsettled()) return;
      const tags = [...new Set([...entities].map(tagKey))];
      const ms = String(Math.max(1, Math.round(Number.isFinite(ttl) ? ttl : ttlMs)));
      await redis.run(
        (client) => client.eval(STORE, 1 + tags.length, answerKey(key), ...tags, JSON.stringify(result), ms),
        { background: true },
      );
    },
    invalidate(entities) {
      const tags = [...new Set([...entities].map(tagKey))];
      if (tags.length === 0) return;
      const id = ++sequence;
      waiting.set(id, Date.now());
      redis.writeBack(`rc:${id}`, async (client) => {
        await client.eval(DROP, tags.length, ...tags);
        waiting.delete(id);
      });
    },
  };
}

/** KEYS: the answer, then its tags. ARGV: the answer's JSON, its TTL in ms. */
const STORE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end`;

/** KEYS: tags; every answer under any of them goes, and the tags with them. */
const DROP = `
for i = 1, #KEYS do
  local answers = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #answers do redis.call('DEL', answers[j]) end
  redis.call('DEL', KEYS[i])
end`;
