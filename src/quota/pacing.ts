// Owns pacing (PARTNER_CENTER_RATE_PER_MINUTE): at most N upstream calls per
// partner in ANY 60 s, as a sliding log of turns (when calls are to leave, or
// left, if later) kept locally or, with Redis, in one sorted set per partner
// shared by every replica.

import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { KEY_PREFIX, type SharedRedis } from './redis';

/** A turn taken: when to go, and how to give it back (a call answered 401, or dropped before it was sent). */
export interface Turn {
  /** When to go, by this process's clock (Date.now()). */
  readonly at: number;
  /**
   * The call leaves now (it is written to its socket). A call that leaves later than its turn (the event loop, a
   * connection) moves the turn to now: the log then holds when calls left, which is what Partner Center counts.
   */
  leaving(): void;
  refund(): void;
}

export type Reservation = { turn: Turn } | { refusedMs: number };

export interface Pacer {
  /** Takes the partner's next turn when it comes within `maxWaitMs`; otherwise takes nothing and says how far it is. */
  reserve(partner: string, maxWaitMs: number): Promise<Reservation>;
  /** The partner's turns in the window now, taken and reserved; undefined when Redis does not answer in time. */
  turnsInWindow(partner: string): Promise<number | undefined>;
  /**
   * How many of the partner's turns so far were given for later than they were asked (they waited for the window),
   * every replica's with Redis: a count that grows, or starts again from 0 once no turn waited for ten windows;
   * undefined when Redis does not answer in time.
   */
  queuedTurns(partner: string): Promise<number | undefined>;
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
local gap = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local at = now
if count >= limit then
  local nth = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  at = math.max(at, tonumber(nth[2]) + window + gap)
end
if count > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  at = math.max(at, tonumber(last[2]))
end
if at - now > maxWait then return {0, at - now} end
redis.call('ZADD', KEYS[1], at, ARGV[4])
redis.call('PEXPIRE', KEYS[1], at - now + window)
if at > now then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], window * 10)
end
return {1, at - now}
`;

const COUNT_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
`;

/** Moves a turn that left late to now (when it is still in the log and was planned before now). */
const MOVE_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local planned = redis.call('ZSCORE', KEYS[1], ARGV[1])
if planned and tonumber(planned) < now then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return 1
`;

/** Adds a turn taken while Redis was away; the log lives at least as long as that turn counts. */
const ADD_TURN_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/**
 * How long after a turn frees a turn that waited for it comes. Partner Center counts calls when they arrive, and
 * arrivals vary by a few ms (a busy event loop at either end, the network), so a wave of calls that takes the turns of
 * a wave a minute before as they free could arrive within the same minute as it, as Partner Center sees it: that would
 * be a 429 and a minute shut. Only a turn that waits pays it, and the gap is in real ms, as that variation is.
 */
export const QUEUED_TURN_GAP_MS = 10;

/**
 * How long a turn counts past the window, in the log's whole ms: a turn stamped m (Date.now()) left somewhere in
 * [m, m + 1), so one stamped m + window could leave less than a window after it, and Partner Center, counting arrivals
 * on a finer clock, would see both in one minute. A turn counts through m + window; the next is due at m + window + 1.
 */
const COUNTED_PAST_WINDOW_MS = 1;

/** How much later than a minute after the turn it waits for a queued turn comes: the ms it counts, and the gap. */
export const QUEUED_TURN_PAST_MINUTE_MS = COUNTED_PAST_WINDOW_MS + QUEUED_TURN_GAP_MS;

export function createPacer(options: PacerOptions): Pacer {
  const { limit, redis } = options;
  const windowMs = options.windowMs ?? 60_000;
  /** How long a turn counts, in the log's whole ms. */
  const spanMs = windowMs + COUNTED_PAST_WINDOW_MS;
  const logs = new LRUCache<string, number[]>({ max: options.maxPartners ?? 10_000 });
  /** Turns given for later than asked, by partner, without Redis (or while it was away). */
  const queued = new LRUCache<string, number>({ max: options.maxPartners ?? 10_000, ttl: windowMs * 10 });

  /** The partner's log with the turns that no longer count dropped. */
  function logOf(partner: string, now: number): number[] {
    const log = logs.get(partner) ?? [];
    while (log.length > 0 && (log[0] as number) <= now - spanMs) log.shift();
    return log;
  }

  function reserveLocally(partner: string, maxWaitMs: number): Reservation {
    const now = Date.now();
    const log = logOf(partner, now);
    let at = now;
    if (log.length >= limit) at = Math.max(at, (log[log.length - limit] as number) + spanMs + QUEUED_TURN_GAP_MS);
    if (log.length > 0) at = Math.max(at, log[log.length - 1] as number);
    if (at - now > maxWaitMs) return { refusedMs: at - now };
    if (at > now) queued.set(partner, (queued.get(partner) ?? 0) + 1);
    log.push(at);
    // The log lives as long as its last turn counts, then expires on its own: no sweep.
    logs.set(partner, log, { ttl: at - now + spanMs });
    let turnAt = at;
    return {
      turn: {
        at,
        leaving: () => {
          const left = Date.now();
          // Not when the partner's log was forgotten meanwhile (the LRU's bound): a new one holds what counts now.
          const index = left > turnAt && logs.peek(partner) === log ? log.lastIndexOf(turnAt) : -1;
          if (index < 0) return;
          log.splice(index, 1);
          // Back in order: after every turn at or before now (turns reserved for later stay after it).
          let position = log.length;
          while (position > 0 && (log[position - 1] as number) > left) position--;
          log.splice(position, 0, left);
          turnAt = left;
          logs.set(partner, log, { ttl: Math.max(left, log[log.length - 1] as number) - left + spanMs });
        },
        refund: () => {
          const index = log.lastIndexOf(turnAt);
          if (index >= 0) log.splice(index, 1);
        },
      },
    };
  }

  return {
    async turnsInWindow(partner) {
      if (!redis) return logOf(partner, Date.now()).length;
      const count = await redis.run(
        (r) => r.eval(COUNT_SCRIPT, 1, `${KEY_PREFIX}pace:${partner}`, String(spanMs)) as Promise<number>,
        { background: true },
      );
      return count ?? undefined;
    },
    async queuedTurns(partner) {
      if (!redis) return queued.get(partner) ?? 0;
      const count = await redis.run((r) => r.get(`${KEY_PREFIX}pace:${partner}:queued`), { background: true });
      return count === undefined ? undefined : Number(count ?? 0);
    },
    async reserve(partner, maxWaitMs) {
      if (!redis) return reserveLocally(partner, maxWaitMs);
      const key = `${KEY_PREFIX}pace:${partner}`;
      const member = randomUUID();
      const shared = await redis.run(
        (r) =>
          r.eval(
            RESERVE_SCRIPT,
            2,
            key,
            `${key}:queued`,
            String(limit),
            String(spanMs),
            String(Math.max(0, Math.floor(maxWaitMs))),
            member,
            String(QUEUED_TURN_GAP_MS),
          ) as Promise<[number, number]>,
      );
      if (!shared) {
        // Redis slow or away: this process paces on its own (each replica then allows N on its own), and the turn it
        // took is written to Redis once it answers, so the other replicas count it in their window.
        const local = reserveLocally(partner, maxWaitMs);
        if ('turn' in local) {
          const { at } = local.turn;
          redis.writeBack(`${key}:${member}`, async (r) => {
            const left = at + spanMs - Date.now();
            if (left <= 0) return false;
            return r.eval(ADD_TURN_SCRIPT, 1, key, String(at), member, String(left));
          });
        }
        return local;
      }
      const [taken, waitMs] = shared;
      if (!taken) return { refusedMs: waitMs };
      const at = Date.now() + waitMs;
      return {
        turn: {
          at,
          leaving: () => {
            // Late by this replica's clock (by 2 ms or more: a command per call would double pacing's Redis work for a
            // millisecond): the turn is moved to Redis's now, the clock the log keeps. Not awaited.
            if (Date.now() - at >= 2) {
              void redis.run((r) => r.eval(MOVE_SCRIPT, 1, key, member, String(spanMs)), { background: true });
            }
          },
          refund: () => {
            void redis.run((r) => r.zrem(key, member));
          },
        },
      };
    },
  };
}
