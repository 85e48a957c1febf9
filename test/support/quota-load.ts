// Drives the quota machinery as requests of many distinct tokens would: one
// admission (window, slot, pacing turn) per token, a 429 for every tenth, and
// one cached answer each; shared by the memory-bound test and bench/.

import type { Admission } from '../../src/partner-center/admission-port';
import { createAdmission } from '../../src/quota/admission';
import { type AnswerCache, createAnswerCache } from '../../src/quota/cache';
import { createPacer } from '../../src/quota/pacing';
import { identifyToken } from '../../src/quota/partner-key';
import { createSlots } from '../../src/quota/slots';
import { createThrottleWindows } from '../../src/quota/windows';

export interface QuotaLoad {
  readonly admission: Admission;
  readonly cache: AnswerCache;
  /** Admits, answers and caches `count` calls of tokens `from` on, one each, or cycling through `tokens` of them. */
  run(count: number, from?: number, tokens?: number): Promise<void>;
  /** The same without the cache: the admission alone. */
  admit(count: number, from?: number, tokens?: number): Promise<void>;
}

/**
 * The machinery as createQuota assembles it without Redis: 4 slots a token, `ratePerMinute` calls a minute (500), a
 * 60 s cache. A token's first call is answered 429 for every tenth token; its later calls (cycling) 200.
 */
export function createQuotaLoad(ratePerMinute = 500): QuotaLoad {
  const admission = createAdmission({
    slots: createSlots(4),
    windows: createThrottleWindows(),
    pacer: createPacer({ limit: ratePerMinute }),
  });
  const cache = createAnswerCache({ ttlSeconds: 60, maxEntries: 10_000 });
  async function drive(count: number, from = 0, tokens = Number.POSITIVE_INFINITY, caching = true) {
    for (let i = from; i < from + count; i++) {
      const authorization = `Bearer distinct-token-${i % tokens}`;
      const token = identifyToken(authorization);
      const admitted = await admission.enter({
        authorization,
        token,
        // The 429s' windows hold this scope only: a cycling token's later calls go to other customers.
        scope: i < tokens ? 'customer-1' : 'customer-2',
        deadline: Date.now() + 20_000,
        signal: undefined,
        upstream: {},
      });
      const throttled = i < tokens && i % 10 === 0;
      admitted.done(throttled ? { status: 429, retryAfterMs: 60_000 } : { status: 200 });
      if (!caching) continue;
      const key = { resource: 'qualifications' as const, customer: 'customer-1', digest: token.digest };
      const lookup = await cache.get(key);
      if (!lookup.hit) await cache.set(key, [{ qualification: 'Education' }], lookup.stamp);
    }
  }
  return {
    admission,
    cache,
    run: (count, from, tokens) => drive(count, from, tokens, true),
    admit: (count, from, tokens) => drive(count, from, tokens, false),
  };
}
