// Speed bench: a CPU profile of the compiled gateway's hot path. Starts the
// loopback stand-in and `node --cpu-prof dist/main.js` (production settings,
// as in bench/speed.ts), sends one workload for BENCH_SECONDS, stops the
// gateway gracefully so V8 writes the profile, and prints the top self-time
// functions and modules (a package, or the gateway's own source).
//
//   npm run bench:profile -- single|hundred|one [bundle]   BENCH_SECONDS (10), BENCH_WARM_SECONDS (2), BENCH_GATEWAY_ENV (K=V,K=V); profiles land in node_modules/.cache/pc-bench-speed/profiles

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { askGateway, askQuery, bundle, gatewayEntry, HUNDRED, id, load, outDir, start } from './harness';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 2);
const [workload = 'single', file] = process.argv.slice(2);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script belongs to (`undici`, `@whatwg-node/server`), `gateway` for the bundle, or what V8 calls it. */
function moduleOf(url: string, functionName: string): string {
  if (url.includes('dist/main.js') || url.includes('pc-bench-speed/')) return 'gateway';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1] as string;
  if (url.startsWith('node:')) return url;
  if (url === '') return `(${functionName.replace(/[()]/g, '') || 'native'})`;
  return url;
}

/** Self time by function and by module, counting only samples taken `skipMs` or later after the profile began. */
function summarise(profile: Profile, skipMs: number): void {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = 0;
  profile.samples.forEach((nodeId, index) => {
    const node = byNode.get(nodeId);
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    // Start-up (module loading, schema build) and warm-up are not the hot path.
    if (!node || at < skipMs * 1000) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += delta;
      return;
    }
    total += delta;
    const module = moduleOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + delta);
    selfByModule.set(module, (selfByModule.get(module) ?? 0) + delta);
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, time]) => `| ${name} | ${(time / 1000).toFixed(0)} ms | ${((100 * time) / total).toFixed(1)}% |`)
      .join('\n');
  console.log(`\nbusy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s\n`);
  console.log(`| module (self time) | ms | % of busy |\n| --- | --- | --- |\n${top(selfByModule, 15)}\n`);
  console.log(`| function (self time) | ms | % of busy |\n| --- | --- | --- |\n${top(selfByFunction, 25)}`);
}

async function main(): Promise<void> {
  // The gateway alone on CPU 1, everything else on CPU 0: V8 samples by wall clock, so a gateway that shares its
  // core would charge the time it waits for the core to whatever it was running.
  execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  mkdirSync(outDir, { recursive: true });
  const profiles = join(outDir, 'profiles', workload);
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  const gateway = file ?? gatewayEntry();
  const upstream = await start(
    bundle('bench/speed/stand-in.ts', 'stand-in'),
    { LATENCY_MS: '0' },
    '/v1/customers/x/qualifications',
    { cpus: '0' },
  );
  const running = await start(
    gateway,
    { NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: upstream.url, LOG_LEVEL: 'info', ...extraEnv() },
    '/health',
    { port: true, cpus: '1', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] },
  );
  // Single-customer requests rotate over 1,000 customers, as in bench/speed.ts, so coalescing shares no call.
  // `one` is bench/observability.ts's cheapest request: one customer's qualifications, one call, 16 clients.
  const what =
    workload === 'hundred'
      ? askGateway(HUNDRED)
      : workload === 'one'
        ? Array.from({ length: 1_000 }, (_, n) =>
            askQuery(`{ customer(id: "${id(n + 1)}") { qualifications { kind } } }`),
          )
        : Array.from({ length: 1_000 }, (_, n) => askGateway([id(n + 1)]));
  const connections = workload === 'hundred' ? 1 : workload === 'one' ? 16 : 10;
  await load(running, what, { connections, seconds: WARM_SECONDS });
  // The process began profiling about when it was spawned: samples before this offset are start-up and warm-up.
  const skipMs = performance.now() - running.spawnedAt;
  const measured = await load(running, what, { connections, seconds: SECONDS });
  process.stderr.write(
    `${workload}: ${measured.requests} requests, ${measured.cpuPerRequestMs.toFixed(3)} ms CPU each\n`,
  );
  await running.stop(true);
  await upstream.stop();
  const [written] = readdirSync(profiles);
  if (!written) throw new Error('the gateway wrote no profile');
  process.stderr.write(`profile: ${join(profiles, written)}\n`);
  summarise(JSON.parse(readFileSync(join(profiles, written), 'utf8')) as Profile, skipMs);
}

/** BENCH_GATEWAY_ENV="METRICS=false,LOG_LEVEL=silent": settings for the profiled gateway beyond production's. */
function extraEnv(): Record<string, string> {
  const pairs = (process.env.BENCH_GATEWAY_ENV ?? '').split(',').filter((pair) => pair.includes('='));
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
