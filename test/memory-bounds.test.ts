// The quota machinery's memory stays bounded and flat however many distinct
// tokens ask: slots, throttle windows, pacing logs and cache entries for
// 100,000 tokens stay within their bounds (10,000 partners, 10,000 answers),
// and 100,000 more add nothing, measured as heap after a full collection.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createQuotaLoad } from './support/quota-load';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('memory of per-token and per-partner state', () => {
  it('is bounded at 100,000 distinct tokens, and flat from there to 200,000', { timeout: 120_000 }, async () => {
    const before = heapAfterGc();
    const load = createQuotaLoad();
    await load.run(100_000);
    const at100k = heapAfterGc();
    await load.run(100_000, 100_000);
    const at200k = heapAfterGc();
    // 10,000 windows, pacing logs and cached answers: a few MiB.
    expect((at100k - before) / 2 ** 20).toBeLessThan(16);
    // Full at 100,000: the next 100,000 replace the oldest and add nothing but noise.
    expect(Math.abs(at200k - at100k) / 2 ** 20).toBeLessThan(1);
    // Kept alive to here, so nothing is collected for being unreachable.
    expect(load.cache).toBeDefined();
  });
});
