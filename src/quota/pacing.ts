// Owns pacing (PARTNER_CENTER_RATE_PER_MINUTE): at most N upstream calls per
// partner in ANY 60 s, as a sliding log of turns (reserved times) kept locally
// or, with Redis, in one sorted set per partner shared by every replica.

import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { KEY_PREFIX, type SharedRedis } from './redis';

/** A turn taken: when to go, and how to give it back (a call answered 401, or dropped before it was sent). */
export interface Turn {
  readonly waitMs: number;
  refund(): void;
}

export type Reservation = { turn: Turn } | { refusedMs: number };

export interface Pacer {
  /** Takes the partner's next turn when it comes within `maxWaitMs`; otherwise takes nothing and says how far it is. */
  reserve(partner: string, maxWaitMs: number): Promise<Reservation>;
}

export interface PacerOptions {
  /** Calls allowed per partner in any window. */
  readonly limit: number;
  /** 60 000 in production; the quota benchmark compresses time with a shorter one. */
  readonly windowMs?: number;
  readonly redis?: SharedRedis;
  /** Partners whose logs are kept locally; the least recently used beyond it are forgotten. */
  readonly maxPartners?: number;
}

/*
 * Why a log and not rate-limiter-flexible: its limiters count in fixed windows, which let 2N calls through across a
 * window boundary (N at 59.9 s, N more at 60.1 s), and "any 60 s" is what Partner Center counts. A log of turns holds
 * the rule exactly, lets a caller reserve a turn in the future (and so wait in line fairly), and lets a turn be given
 * back. Turns are handed out in order, so each new one is at or after the last: the log stays sorted.
 */
const RESERVE_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local at = now
if count >= limit then
  local nth = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  at = math.max(at, tonumber(nth[2]) + window)
end
if count > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  at = math.max(at, tonumber(last[2]))
end
if at - now > maxWait then return {0, at - now} end
redis.call('ZADD', KEYS[1], at, ARGV[4])
redis.call('PEXPIRE', KEYS[1], at - now + window)
return {1, at - now}
`;

/** Adds a turn taken while Redis was away; the log lives at least as long as that turn counts. */
const ADD_TURN_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

export function createPacer(options: PacerOptions): Pacer {
  const { limit, redis } = options;
  const windowMs = options.windowMs ?? 60_000;
  const logs = new LRUCache<string, number[]>({ max: options.maxPartners ?? 10_000 });

  function reserveLocally(partner: string, maxWaitMs: number): Reservation {
    const now = Date.now();
    const log = logs.get(partner) ?? [];
    while (log.length > 0 && (log[0] as number) <= now - windowMs) log.shift();
    let at = now;
    if (log.length >= limit) at = Math.max(at, (log[log.length - limit] as number) + windowMs);
    if (log.length > 0) at = Math.max(at, log[log.length - 1] as number);
    if (at - now > maxWaitMs) return { refusedMs: at - now };
    log.push(at);
    // The log lives as long as its last turn counts, then expires on its own: no sweep.
    logs.set(partner, log, { ttl: at - now + windowMs });
    return {
      turn: {
        waitMs: at - now,
        refund: () => {
          const index = log.lastIndexOf(at);
          if (index >= 0) log.splice(index, 1);
        },
      },
    };
  }

  return {
    async reserve(partner, maxWaitMs) {
      if (!redis) return reserveLocally(partner, maxWaitMs);
      const key = `${KEY_PREFIX}pace:${partner}`;
      const member = randomUUID();
      const shared = await redis.run(
        (r) =>
          r.eval(
            RESERVE_SCRIPT,
            1,
            key,
            String(limit),
            String(windowMs),
            String(Math.max(0, Math.floor(maxWaitMs))),
            member,
          ) as Promise<[number, number]>,
      );
      if (!shared) {
        // Redis slow or away: this process paces on its own (each replica then allows N on its own), and the turn it
        // took is written to Redis once it answers, so the other replicas count it in their window.
        const local = reserveLocally(partner, maxWaitMs);
        if ('turn' in local) {
          const at = Date.now() + local.turn.waitMs;
          redis.writeBack(`${key}:${member}`, async (r) => {
            const left = at + windowMs - Date.now();
            if (left <= 0) return false;
            return r.eval(ADD_TURN_SCRIPT, 1, key, String(at), member, String(left));
          });
        }
        return local;
      }
      const [taken, waitMs] = shared;
      if (!taken) return { refusedMs: waitMs };
      return {
        turn: {
          waitMs,
          refund: () => {
            void redis.run((r) => r.zrem(key, member));
          },
        },
      };
    },
  };
}
