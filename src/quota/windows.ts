// Owns the throttle windows that a 429 opens: per partner + customer, widened
// to the whole partner when 429s for two or more different customers of one
// partner arrive within open windows; kept locally (bounded, expiring) and,
// with Redis, shared by every replica.

import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { MIN_WINDOW_MS } from '../partner-center/admission-port';
import { KEY_PREFIX, type SharedRedis } from './redis';

export interface ThrottleWindows {
  /** Milliseconds until calls of `partner` for `scope` (a customer id, or a resource without one) may go; 0 when none is open. */
  remainingMs(partner: string, scope: string): Promise<number>;
  /**
   * Opens a window after a 429. The local window opens before this returns its promise (so a call queued in this
   * process cannot slip in); the promise settles once Redis has it too, or went on without it.
   */
  open(partner: string, scope: string, retryAfterMs: number): Promise<void>;
}

export interface ThrottleWindowsOptions {
  redis?: SharedRedis;
  /** Partners whose windows are remembered locally; the least recently used beyond it are forgotten. */
  maxPartners?: number;
}

interface PartnerWindows {
  /** Epoch ms until which every call of the partner is held. */
  partnerUntil: number;
  /** Epoch ms until which calls for one scope are held. */
  readonly scopes: Map<string, number>;
}

const OPEN_SCRIPT = `
local ms = tonumber(ARGV[1])
local current = redis.call('PTTL', KEYS[1])
if current < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
local latest = math.max(current, ms)
local others = 0
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if scope ~= ARGV[2] then
    local left = redis.call('PTTL', ARGV[3] .. scope)
    if left > 0 then
      others = others + 1
      if left > latest then latest = left end
    else
      redis.call('SREM', KEYS[3], scope)
    end
  end
end
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('PTTL', KEYS[3]) < latest then redis.call('PEXPIRE', KEYS[3], latest) end
if others > 0 and redis.call('PTTL', KEYS[2]) < latest then redis.call('SET', KEYS[2], '1', 'PX', latest) end
if others > 0 then return latest end
return 0
`;

const REMAINING_SCRIPT = `
return { redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2]) }
`;

export function createThrottleWindows(options: ThrottleWindowsOptions = {}): ThrottleWindows {
  const { redis } = options;
  // Each entry expires with its last window (per-entry ttl), so closed windows cost nothing and need no sweep.
  const local = new LRUCache<string, PartnerWindows>({ max: options.maxPartners ?? 10_000 });

  const keys = (partner: string, scope: string) => ({
    scope: `${KEY_PREFIX}win:${partner}:scope:${scope}`,
    partner: `${KEY_PREFIX}win:${partner}:all`,
    scopes: `${KEY_PREFIX}win:${partner}:scopes`,
    scopePrefix: `${KEY_PREFIX}win:${partner}:scope:`,
  });

  function localRemaining(partner: string, scope: string, now: number): number {
    const entry = local.get(partner);
    if (!entry) return 0;
    return Math.max(0, entry.partnerUntil - now, (entry.scopes.get(scope) ?? 0) - now);
  }

  /** Records a window locally; `wholePartnerUntil` when Redis (or this process) saw the partner widen. */
  function localOpen(partner: string, scope: string, until: number, now: number, wholePartnerUntil = 0): void {
    const entry = local.get(partner) ?? { partnerUntil: 0, scopes: new Map<string, number>() };
    let latest = Math.max(until, entry.scopes.get(scope) ?? 0);
    let othersOpen = false;
    for (const [other, otherUntil] of entry.scopes) {
      if (otherUntil <= now) entry.scopes.delete(other);
      else if (other !== scope) {
        othersOpen = true;
        latest = Math.max(latest, otherUntil);
      }
    }
    entry.scopes.set(scope, Math.max(until, entry.scopes.get(scope) ?? 0));
    // Two customers throttled at once: Partner Center is throttling the partner, not a pair; hold it all.
    if (othersOpen) entry.partnerUntil = Math.max(entry.partnerUntil, latest);
    entry.partnerUntil = Math.max(entry.partnerUntil, wholePartnerUntil);
    local.set(partner, entry, { ttl: Math.max(1, Math.max(latest, entry.partnerUntil) - now) });
  }

  return {
    async remainingMs(partner, scope) {
      const now = Date.now();
      const here = localRemaining(partner, scope, now);
      if (here > 0 || !redis) return here;
      const key = keys(partner, scope);
      const shared = await redis.run(
        (r) => r.eval(REMAINING_SCRIPT, 2, key.partner, key.scope) as Promise<[number, number]>,
      );
      if (!shared) return 0;
      const [partnerLeft, scopeLeft] = shared;
      // Copied here, so the window still holds when Redis goes away before it closes.
      if (scopeLeft > 0) localOpen(partner, scope, now + scopeLeft, now);
      if (partnerLeft > 0) localOpen(partner, scope, now, now, now + partnerLeft);
      return Math.max(0, partnerLeft, scopeLeft);
    },
    async open(partner, scope, retryAfterMs) {
      const ms = Math.max(MIN_WINDOW_MS, Math.ceil(retryAfterMs));
      const now = Date.now();
      localOpen(partner, scope, now + ms, now);
      if (!redis) return;
      const key = keys(partner, scope);
      const until = now + ms;
      const write = (r: Redis, left: number) =>
        r.eval(
          OPEN_SCRIPT,
          3,
          key.scope,
          key.partner,
          key.scopes,
          String(left),
          scope,
          key.scopePrefix,
        ) as Promise<number>;
      // No request waits for this: the local window holds this process's calls already.
      const wholePartnerMs = await redis.run((r) => write(r, ms), { background: true });
      if (wholePartnerMs === undefined) {
        // Learned while Redis was slow or away: written once it answers, for what is left of it, so the other
        // replicas hold it too.
        redis.writeBack(key.scope, async (r) => {
          const left = until - Date.now();
          if (left <= 0) return false;
          const widened = await write(r, left);
          if (widened) localOpen(partner, scope, until, Date.now(), Date.now() + widened);
          return true;
        });
        return;
      }
      if (wholePartnerMs) localOpen(partner, scope, now + ms, now, now + wholePartnerMs);
    },
  };
}
