// Speed benchmark: the compiled gateway against a raw fan-out baseline
// (bench/speed/raw-baseline.ts) and the yoga floor (bench/speed/yoga-floor.ts:
// the same fan-out through graphql-yoga alone, what the fixed server stack
// costs before any of the gateway's work), side by side in one run, against the same
// loopback Partner Center stand-in (bench/speed/stand-in.ts). Every system
// runs as plain `node` in its own process; CPU and RSS are read from /proc for
// that process only. Rounds are interleaved (the order rotates) and each
// figure is reported as median and spread over the rounds, and as a ratio to
// the baseline. With BENCH_BEFORE=<git ref> the gateway as it was at that
// commit runs too, in the same rounds, so a change is measured before and
// after in one invocation. BENCH_BEFORE_DIST=<dist/main.js of another checkout> runs that build as "before"
// instead, and BENCH_BEFORE_NODE=<node binary> runs "before" on another Node line: a runtime move measured
// side by side, each build with its own dependencies. BENCH_NODE_ARGS gives the gateway node flags (none by
// default) and BENCH_BEFORE_NODE_ARGS "before" (the gateway's by default): with BENCH_BEFORE_DIST=dist/main.js, a
// node flag measured side by side.
//
// The machine has 2 cores and the load generator (this process) and the
// stand-in need CPU too. By default (BENCH_PIN=1) the system under test is
// pinned to CPU 1 and everything else to CPU 0, so the load generator never
// takes the measured system's core; the table reports what the harness spent
// per request, which shows when CPU 0, not the system, bounded throughput.
//
//   npm run bench:speed     BENCH_ROUNDS (3), BENCH_SECONDS (8), BENCH_RSS_REQUESTS (100000), BENCH_BEFORE, BENCH_PIN (1),
//                           BENCH_BEFORE_DIST, BENCH_BEFORE_NODE, BENCH_NODE_ARGS, BENCH_BEFORE_NODE_ARGS,
//                           BENCH_OLD_SPACE_MIB (96: the gateway's RSS run again with --max-old-space-size; 0 skips it)

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import {
  type Ask,
  askBaseline,
  askGateway,
  bundle,
  gatewayAt,
  gatewayEntry,
  HUNDRED,
  id,
  load,
  loadAverage,
  median,
  quantile,
  type Running,
  rssMiB,
  start,
} from './speed/harness';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 100_000);
const BEFORE = process.env.BENCH_BEFORE;
const BEFORE_DIST = process.env.BENCH_BEFORE_DIST;
const BEFORE_NODE = process.env.BENCH_BEFORE_NODE;
const words = (value: string | undefined) => value?.split(' ').filter(Boolean);
/** The node flags of each gateway (space-separated): BENCH_NODE_ARGS, and BENCH_BEFORE_NODE_ARGS for "before". */
const GATEWAY_FLAGS: Record<'gateway' | 'before', readonly string[]> = {
  gateway: words(process.env.BENCH_NODE_ARGS) ?? [],
  before: words(process.env.BENCH_BEFORE_NODE_ARGS) ?? words(process.env.BENCH_NODE_ARGS) ?? [],
};
/** MiB of V8 old space for the gateway's second RSS run (0: no such run). */
const CAPPED_OLD_SPACE = Number(process.env.BENCH_OLD_SPACE_MIB ?? 96);
const PIN = process.env.BENCH_PIN !== '0' && cpus().length >= 2;
/** The measured system's core, and the one the harness (load generator, stand-ins) keeps to. */
const SYSTEM_CPUS = PIN ? '1' : undefined;
const HARNESS_CPUS = PIN ? '0' : undefined;

type System = 'gateway' | 'before' | 'floor' | 'baseline';
const ask = (system: System, ids: readonly string[]): Ask =>
  system === 'baseline' ? askBaseline(ids) : askGateway(ids);
/**
 * Single-customer requests, each for another of 1,000 customers. With one customer asked by 10 clients at once,
 * the gateway's coalescing joined calls already in flight, so it made fewer upstream calls per request than the
 * baseline (which never shares) and its figures looked better than its per-request cost.
 */
const singles = (system: System): Ask[] => Array.from({ length: 1_000 }, (_, n) => ask(system, [id(n + 1)]));

type Figure =
  | 'single req/s'
  | 'single p99 ms'
  | 'single CPU ms/req'
  | 'single harness CPU ms/req'
  | '100x2 CPU ms/req'
  | '100x2 wall ms'
  | '100x2 @20ms wall ms'
  | '100x2 cache hit CPU ms/req'
  | '100x2 cache hit wall ms'
  | 'start to ready ms'
  | 'RSS after start MiB'
  | 'RSS after load MiB'
  | 'RSS after load MiB, old space capped';

const results: Record<System, Partial<Record<Figure, number[]>>> = { gateway: {}, before: {}, floor: {}, baseline: {} };
const record = (system: System, figure: Figure, value: number) => {
  const values = results[system][figure] ?? [];
  values.push(value);
  results[system][figure] = values;
};
const loads: number[] = [];

async function main(): Promise<void> {
  if (HARNESS_CPUS) execFileSync('taskset', ['-pc', HARNESS_CPUS, String(process.pid)], { stdio: 'ignore' });
  execFileSync('mkdir', ['-p', 'node_modules/.cache/pc-bench-speed']);
  const standInFile = bundle('bench/speed/stand-in.ts', 'stand-in');
  const baselineFile = bundle('bench/speed/raw-baseline.ts', 'raw-baseline');
  const floorFile = bundle('bench/speed/yoga-floor.ts', 'yoga-floor');
  const files: Record<System, string | undefined> = {
    gateway: gatewayEntry(),
    before: BEFORE_DIST ?? (BEFORE ? await gatewayAt(BEFORE) : undefined),
    floor: floorFile,
    baseline: baselineFile,
  };
  const systems = (Object.keys(files) as System[]).filter((system) => files[system] !== undefined);
  const upstreamAt = (latencyMs: number) =>
    start(standInFile, { LATENCY_MS: String(latencyMs) }, '/v1/customers/x/qualifications', { cpus: HARNESS_CPUS });
  const fast = await upstreamAt(0);
  const slow = await upstreamAt(20);

  const launch = async (
    system: System,
    upstream: Running,
    extra: Record<string, string> = {},
    nodeArgs: readonly string[] = [],
  ) =>
    system === 'baseline'
      ? start(baselineFile, { UPSTREAM_URL: upstream.url }, `/customers?ids=${id(1)}`, { cpus: SYSTEM_CPUS })
      : system === 'floor'
        ? start(floorFile, { UPSTREAM_URL: upstream.url }, '/graphql?query=%7B__typename%7D', { cpus: SYSTEM_CPUS })
        : start(
            files[system] as string,
            { NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: upstream.url, LOG_LEVEL: 'info', ...extra },
            '/health',
            {
              port: true,
              cpus: SYSTEM_CPUS,
              nodeArgs: [...GATEWAY_FLAGS[system], ...nodeArgs],
              node: system === 'before' ? BEFORE_NODE : undefined,
            },
          );

  for (let round = 0; round < ROUNDS; round++) {
    // The order rotates, so no system always runs first (or right after the same one).
    const order = systems.map((_, index) => systems[(index + round) % systems.length] as System);
    for (const system of order) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${system} (load average ${loadAverage()})\n`);
      loads.push(loadAverage());
      const onFast = await launch(system, fast);
      record(system, 'start to ready ms', onFast.readyMs);
      record(system, 'RSS after start MiB', rssMiB(onFast.child.pid as number));
      // Warm-up: JIT, pools and caches fill before anything is counted.
      await load(onFast, singles(system), { connections: 10, seconds: 2 });
      const single = await load(onFast, singles(system), { connections: 10, seconds: SECONDS, upstream: fast });
      record(system, 'single req/s', single.requests / single.seconds);
      record(system, 'single p99 ms', quantile(single.latenciesMs, 0.99));
      record(system, 'single CPU ms/req', single.cpuPerRequestMs);
      record(system, 'single harness CPU ms/req', single.harnessCpuPerRequestMs);
      await load(onFast, ask(system, HUNDRED), { connections: 1, seconds: 1 });
      const hundred = await load(onFast, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
      record(system, '100x2 CPU ms/req', hundred.cpuPerRequestMs);
      record(system, '100x2 wall ms', median(hundred.latenciesMs));
      await onFast.stop();

      const onSlow = await launch(system, slow);
      await load(onSlow, ask(system, HUNDRED), { connections: 1, seconds: 1 });
      const wall = await load(onSlow, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
      record(system, '100x2 @20ms wall ms', median(wall.latenciesMs));
      await onSlow.stop();

      if (system === 'gateway' || system === 'before') {
        // The quota cache's path: the same 100-customer request, answered from cache after the first.
        const cached = await launch(system, fast, { CACHE_TTL_SECONDS: '3600' });
        await load(cached, ask(system, HUNDRED), { connections: 1, seconds: 1 });
        const hit = await load(cached, ask(system, HUNDRED), { connections: 1, seconds: SECONDS });
        record(system, '100x2 cache hit CPU ms/req', hit.cpuPerRequestMs);
        record(system, '100x2 cache hit wall ms', median(hit.latenciesMs));
        await cached.stop();
      }
    }
  }

  // Memory after a long run, once per system: RSS after RSS_REQUESTS single-customer requests.
  for (const system of systems) {
    if (RSS_REQUESTS <= 0) break;
    process.stderr.write(`RSS after ${RSS_REQUESTS} requests: ${system}\n`);
    const running = await launch(system, fast);
    await load(running, singles(system), { connections: 10, seconds: 3_600, requests: RSS_REQUESTS });
    record(system, 'RSS after load MiB', rssMiB(running.child.pid as number));
    await running.stop();
    if (system === 'gateway' && CAPPED_OLD_SPACE) {
      // The same with V8's old space capped (an operator's NODE_OPTIONS): how much of the RSS is heap headroom.
      const capped = await launch(system, fast, {}, [`--max-old-space-size=${CAPPED_OLD_SPACE}`]);
      await load(capped, singles(system), { connections: 10, seconds: 3_600, requests: RSS_REQUESTS });
      record(system, 'RSS after load MiB, old space capped', rssMiB(capped.child.pid as number));
      await capped.stop();
    }
  }
  loads.push(loadAverage());
  await fast.stop();
  await slow.stop();
  report(systems);
}

function report(systems: readonly System[]): void {
  const fmt = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const cell = (values: number[] | undefined) =>
    values?.length ? `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})` : '-';
  // The cache-hit path has no baseline of its own: it is compared with the baseline's uncached 100-customer request.
  const baselineOf: Partial<Record<Figure, Figure>> = {
    '100x2 cache hit CPU ms/req': '100x2 CPU ms/req',
    '100x2 cache hit wall ms': '100x2 wall ms',
  };
  const ratio = (system: System, figure: Figure) => {
    const values = results[system][figure];
    const baseline = results.baseline[baselineOf[figure] ?? figure];
    return values?.length && baseline?.length ? (median(values) / median(baseline)).toFixed(2) : '-';
  };
  const gateways = systems.filter((system) => system !== 'baseline');
  // How far the gateway is above what yoga alone costs for the same answer.
  const overFloor = (figure: Figure) => {
    const values = results.gateway[figure];
    const floor = results.floor[figure];
    return values?.length && floor?.length ? (median(values) / median(floor)).toFixed(2) : '-';
  };
  console.log(
    `\nSpeed, ${ROUNDS} interleaved rounds of ${SECONDS} s, Node ${process.version}${BEFORE_NODE ? ` (before: ${execFileSync(BEFORE_NODE, ['--version']).toString().trim()})` : ''}, ${PIN ? 'system under test on CPU 1, harness on CPU 0' : 'unpinned'}, ` +
      `gateway's node flags ${GATEWAY_FLAGS.gateway.join(' ') || 'none'}${systems.includes('before') ? `, before's ${GATEWAY_FLAGS.before.join(' ') || 'none'}` : ''}, ` +
      `load average ${fmt(Math.min(...loads))}-${fmt(Math.max(...loads))}: median (min-max)\n`,
  );
  console.log(
    `| figure | ${systems.join(' | ')} | ${gateways.map((system) => `${system} / baseline`).join(' | ')} | gateway / floor |`,
  );
  console.log(`| --- | ${systems.map(() => '---').join(' | ')} | ${gateways.map(() => '---').join(' | ')} | --- |`);
  const figures = new Set(systems.flatMap((system) => Object.keys(results[system]) as Figure[]));
  for (const figure of figures) {
    const cells = systems.map((system) => cell(results[system][figure]));
    console.log(
      `| ${figure} | ${cells.join(' | ')} | ${gateways.map((system) => ratio(system, figure)).join(' | ')} | ${overFloor(figure)} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
