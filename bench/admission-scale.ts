// Admission-scale benchmark: the CPU of one admission (throttle window, slot,
// pacing turn; every tenth token's first call answered 429) while 1,000,
// 10,000, 100,000 or 1,000,000 distinct tokens ask, side by side in one run as a ratio
// to 1,000, with the heap after a full collection. Flat means no sweep on the
// request path: per-token state expires on its own or is bounded by an LRU.
//
//   npm run bench:admission-scale      BENCH_CALLS (100000), BENCH_ROUNDS (5)

import { getHeapStatistics } from 'node:v8';
import { createQuotaLoad } from '../test/support/quota-load';

const CALLS = Number(process.env.BENCH_CALLS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const results: Array<{ tokens: number; microseconds: number; heapMiB: number }> = [];
  for (const tokens of SIZES) {
    // Pacing on, but never the limit: the cost measured is the admission's, not a refusal's.
    const load = createQuotaLoad(1_000_000_000);
    // Every token seen once before measuring, so the state is as large as it gets.
    await load.run(tokens, 0, tokens);
    const rounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = process.cpuUsage();
      await load.admit(CALLS, tokens + round * CALLS, tokens);
      const used = process.cpuUsage(started);
      rounds.push((used.user + used.system) / CALLS);
    }
    rounds.sort((a, b) => a - b);
    gc?.();
    results.push({
      tokens,
      microseconds: rounds[Math.floor(rounds.length / 2)] as number,
      heapMiB: getHeapStatistics().used_heap_size / 2 ** 20,
    });
  }
  const base = results[0]?.microseconds ?? 1;
  console.log(`\nAdmission cost by distinct tokens, Node ${process.version}, median of ${ROUNDS} rounds of ${CALLS}\n`);
  console.log('| distinct tokens | CPU per admission | ratio to 1,000 | heap after GC |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const { tokens, microseconds, heapMiB } of results) {
    console.log(
      `| ${tokens.toLocaleString('en-US')} | ${microseconds.toFixed(2)} µs | ${(microseconds / base).toFixed(2)}x | ${heapMiB.toFixed(1)} MiB${gc ? '' : ' (no --expose-gc)'} |`,
    );
  }
}

await main();
