// Dashboard benchmark: what a dashboard's page of the customer base costs the
// gateway's own CPU, against a raw node:http server answering the same bytes
// from memory (bench/dashboard/raw-page.ts: parse the body, JSON.stringify a
// prepared object). The page: customerBase.customers(first: 50, where:
// {mcaDirectlySigned: false}) with each node's names, relationship, MCA,
// syncedAt and qualifications. The gateway runs its production build in
// simulator mode (signed in, the sync on) with the simulator's customers fixed
// and a day's sync age, so once synced it makes no call: the page waits on the
// gateway's CPU alone. Two snapshots: the simulator's roster, and 50,000
// customers written to SNAPSHOT_PATH as fresh (listed, read and passed now).
//
// Every system under test runs pinned to CPU 1 (taskset -c 1), this process
// (the load generator: an undici Pool, 10 connections, closed loop) to CPU 0.
// CPU per request is the process's user + system time from /proc over the
// measured seconds, divided by the requests answered. Rounds interleave the
// systems, the order turned each round; figures are medians over rounds.
//
// Variants in the same rounds: "cached" (the whole-response cache, with
// RESPONSE_CACHE_TTL_SECONDS=60, when src/config knows that setting; "n/a"
// otherwise, or BENCH_CACHED=0), "before" (the gateway at BENCH_BEFORE=<git ref>),
// and "no jit" (this tree with graphql-jit's plugin taken out of src/gateway.ts,
// when it is there: what graphql-jit buys, measured side by side).
//
//   npm run bench:dashboard      BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (10), BENCH_BEFORE,
//                                BENCH_CUSTOMERS (50000), BENCH_CACHED (auto), BENCH_PROFILE=<system> (that system's
//                                gateway under node --cpu-prof, its top self-time functions printed at the end)

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { buildGateway } from '../scripts/build.mjs';
import {
  bundle,
  cpuSeconds,
  gatewayAt,
  gatewayEntry,
  median,
  outDir,
  quantile,
  type Running,
  start,
} from './speed/harness';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 50_000);
const BEFORE = process.env.BENCH_BEFORE;
const PROFILE = process.env.BENCH_PROFILE;
const CACHE_SETTING = 'RESPONSE_CACHE_TTL_SECONDS';
const cacheKnown = () => {
  try {
    return execFileSync('grep', ['-rl', CACHE_SETTING, 'src/config'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
};
/** Whether this tree has the response cache (on by default): every variant but "cached" then turns it off. */
const CACHE_IN_TREE = cacheKnown();
const CACHED = process.env.BENCH_CACHED === undefined ? CACHE_IN_TREE : process.env.BENCH_CACHED !== '0';
const JIT_LINE = /^.*useGraphQlJit\(.*$\n/m;
const jitInTree = () => JIT_LINE.test(readFileSync('src/gateway.ts', 'utf8'));

const PAGE = `query Dashboard($where: CustomerFilter) {
  customerBase {
    customers(first: 50, where: $where) {
      edges {
        node {
          id companyName domain relationshipToPartner mcaDirectlySigned syncedAt
          mcaAcceptance { accepted attestations { dateAgreed currentTemplate } }
          qualifications { kind vettingStatus vettingCreatedDate }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
const BODY = JSON.stringify({ query: PAGE, variables: { where: { mcaDirectlySigned: false } } });
const HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

type Snapshot = 'roster' | 'large';
type Kind = 'raw' | 'gateway' | 'cached' | 'before' | 'nojit';
interface System {
  readonly kind: Kind;
  readonly snapshot: Snapshot;
  readonly running: Running;
  /** Its first answer: every later one must be as long (the cache may add its own extensions). */
  readonly answer: string;
}
const nameOf = (s: { kind: Kind; snapshot: Snapshot }) => `${s.kind}/${s.snapshot}`;

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** 50,000 customers as the sync would have written them just now: the list and every read fresh. */
function largeSnapshot(dir: string): string {
  const now = Date.now();
  const attestation = {
    dateAgreed: '2024-03-01T10:00:00Z',
    templateId: 'mca-2023',
    agreementLink: 'https://aka.ms/customeragreement',
    primaryContact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: null },
  };
  const customers = Array.from({ length: CUSTOMERS }, (_, index) => {
    const n = index + 1;
    const mca = n % 7 === 0 ? null : n % 2 === 0;
    return {
      id: id(n),
      companyName: n % 17 === 0 ? null : `Company ${(n * 7919) % CUSTOMERS}`,
      domain: `c${n}.onmicrosoft.com`,
      relationshipToPartner: n % 5 === 0 ? 'advisor' : 'reseller',
      qualifications:
        n % 3 === 0
          ? [{ qualification: 'StateOwnedEntity', vettingStatus: null, vettingReason: null, vettingCreatedDate: null }]
          : [
              {
                qualification: 'Education',
                vettingStatus: n % 2 ? 'InReview' : 'Approved',
                vettingReason: null,
                vettingCreatedDate: '2024-01-05T08:30:00.1234567Z',
              },
            ],
      qualificationsAt: now,
      mca,
      mcaAt: now,
      agreements: mca === null ? null : n % 4 === 1 ? [attestation] : [],
      agreementsAt: now,
    };
  });
  const path = join(dir, 'large.json');
  writeFileSync(
    path,
    JSON.stringify({
      version: 1,
      // A pass that read the list and stopped before its end: the gateway goes on with that list (reading it
      // again would drop every customer the simulator does not know), finds nothing due, and ends the pass.
      state: { listedAt: now, lastPassCompletedAt: now - 1_000, agreementTemplateId: 'mca-2023' },
      customers,
    }),
  );
  return path;
}

async function post(url: string, body: string): Promise<string> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: HEADERS, body });
  return response.text();
}

/** Waits until the sync has passed once over what it knows, and no customer is due. */
async function synced(url: string, least: number): Promise<void> {
  const query = JSON.stringify({
    query: '{ customerBase { sync { customersKnown customersSynced lastPassCompletedAt } } }',
  });
  for (let tries = 0; tries < 600; tries++) {
    const text = await post(url, query);
    const sync = (JSON.parse(text) as { data?: { customerBase?: { sync?: Record<string, unknown> } } }).data
      ?.customerBase?.sync;
    const known = Number(sync?.customersKnown);
    if (sync?.lastPassCompletedAt && known >= least && sync.customersSynced === known) return;
    await sleep(200);
  }
  throw new Error(`${url} never synced`);
}

interface Load {
  readonly requests: number;
  readonly seconds: number;
  readonly cpuMsPerRequest: number;
  readonly p50: number;
  readonly p99: number;
}

const withoutExtensions = (text: string) => text.replace(/,"extensions":\{.*\}\}$/s, '}');

async function load(target: Running, expected: string): Promise<Load> {
  const pool = new Pool(target.url, { connections: CONNECTIONS, pipelining: 1 });
  const latencies: number[] = [];
  const pid = target.child.pid as number;
  const cpuBefore = cpuSeconds(pid);
  const begun = performance.now();
  const until = begun + SECONDS * 1000;
  const client = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const response = await pool.request({ method: 'POST', path: '/graphql', body: BODY, headers: HEADERS });
      // The response cache adds extensions.responseCache (hit or miss): the data is what must be the same.
      const text = withoutExtensions(await response.body.text());
      if (response.statusCode !== 200 || text.length !== withoutExtensions(expected).length) {
        throw new Error(`unexpected answer ${response.statusCode}: ${text.slice(0, 300)}`);
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  const seconds = (performance.now() - begun) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  await pool.close();
  return {
    requests: latencies.length,
    seconds,
    cpuMsPerRequest: (cpu * 1000) / latencies.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** The self time of a --cpu-prof profile, by function, the largest first. */
function topSelf(file: string, skipMs: number, count = 25): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let busy = 0;
  let at = 0;
  profile.samples.forEach((sample, index) => {
    const frame = byNode.get(sample)?.callFrame;
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    // Start-up, the first sync and the snapshot's load are not the page.
    if (at < skipMs * 1000 || !frame || frame.functionName === '(idle)') return;
    busy += delta;
    const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
    const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
}

async function main(): Promise<void> {
  if (cpus().length < 2) throw new Error('needs 2 CPUs: the gateway on CPU 1, the load on CPU 0');
  try {
    execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    throw new Error('needs taskset (util-linux) to pin the gateway and the load to a core each');
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(outDir, { recursive: true });
  const raw = bundle('bench/dashboard/raw-page.ts', 'dashboard-raw-page');
  const entries: Partial<Record<Kind, string>> = { gateway: gatewayEntry() };
  if (CACHED) entries.cached = entries.gateway;
  if (BEFORE) entries.before = await gatewayAt(BEFORE, 'dashboard-before');
  if (jitInTree()) {
    // This tree without graphql-jit's plugin: the one line that adds it to the plugins taken out.
    const tree = join(outDir, 'dashboard-nojit-src');
    rmSync(tree, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', tree]);
    execFileSync('cp', ['-r', 'src', tree]);
    const gateway = join(tree, 'src', 'gateway.ts');
    writeFileSync(gateway, readFileSync(gateway, 'utf8').replace(JIT_LINE, ''));
    const built = join(outDir, 'gateway-dashboard-nojit');
    await buildGateway(join(tree, 'src', 'main.ts'), built);
    entries.nojit = join(built, 'main.js');
  }
  const large = largeSnapshot(dir);
  const profiles = join(dir, 'profiles');

  const systems: System[] = [];
  const answers: Partial<Record<Snapshot, string>> = {};
  for (const snapshot of ['roster', 'large'] as const) {
    for (const [kind, file] of Object.entries(entries) as Array<[Kind, string]>) {
      const env: Record<string, string> = {
        LOG_LEVEL: 'info',
        METRICS: 'true',
        SIMULATOR_CHANGES: 'false',
        SYNC_MAX_AGE_MINUTES: '1440',
        NODE_ENV: 'development',
        // The response cache is on by default: every other variant measures the uncached path.
        ...(CACHE_IN_TREE ? { [CACHE_SETTING]: kind === 'cached' ? '60' : '0' } : {}),
      };
      if (snapshot === 'large') {
        // Each process its own copy: a gateway writes its snapshot back when it changes.
        env.SNAPSHOT_PATH = join(dir, `${kind}.json`);
        copyFileSync(large, env.SNAPSHOT_PATH);
      }
      const profiled = PROFILE === nameOf({ kind, snapshot });
      const running = await start(file, env, '/ready', {
        port: true,
        cpus: '1',
        nodeArgs: profiled ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [],
      });
      await synced(running.url, snapshot === 'large' ? CUSTOMERS : 1);
      const answer = await post(running.url, BODY);
      if (!answer.startsWith('{"data"') || answer.includes('"errors"'))
        throw new Error(`${kind}: ${answer.slice(0, 300)}`);
      if (kind === 'gateway') answers[snapshot] = answer;
      systems.push({ kind, snapshot, running, answer });
    }
    const answerPath = join(dir, `answer-${snapshot}.json`);
    writeFileSync(answerPath, answers[snapshot] as string);
    const running = await start(raw, { ANSWER_PATH: answerPath }, '/', { cpus: '1' });
    systems.push({ kind: 'raw', snapshot, running, answer: answers[snapshot] as string });
  }
  for (const snapshot of ['roster', 'large'] as const) {
    const size = Buffer.byteLength(answers[snapshot] as string);
    console.log(`page answer, ${snapshot}: ${(size / 1024).toFixed(1)} KiB`);
  }

  const loadsBegun = performance.now();
  const results = new Map<string, Load[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length] as System);
    for (const system of order) {
      const loaded = await load(system.running, system.answer);
      const name = nameOf(system);
      results.set(name, [...(results.get(name) ?? []), loaded]);
      console.error(
        `round ${round + 1} ${name.padEnd(16)} ${(loaded.requests / loaded.seconds).toFixed(0).padStart(6)} req/s  ` +
          `${loaded.cpuMsPerRequest.toFixed(3)} ms CPU/req  p50 ${loaded.p50.toFixed(2)}  p99 ${loaded.p99.toFixed(2)}`,
      );
    }
  }

  const figure = (name: string, pick: (l: Load) => number) => {
    const values = results.get(name);
    return values ? median(values.map(pick)) : undefined;
  };
  const kinds: Kind[] = [
    'raw',
    'gateway',
    'cached',
    ...(BEFORE ? (['before'] as const) : []),
    ...(entries.nojit ? (['nojit'] as const) : []),
  ];
  const label: Record<Kind, string> = {
    raw: 'raw',
    gateway: 'gateway',
    cached: 'gateway, cached',
    before: `gateway at ${BEFORE}`,
    nojit: 'gateway without graphql-jit',
  };
  const fmt = (value: number | undefined, digits: number) => (value === undefined ? 'n/a' : value.toFixed(digits));
  console.log(
    `\nDashboard page, ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections, each system on CPU 1, Node ${process.version}, medians\n`,
  );
  const header = [
    'snapshot',
    'figure',
    ...kinds.map((k) => label[k]),
    ...kinds.slice(1).map((k) => `${label[k]} / raw`),
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => ' --- ').join('|')}|`);
  const rows: Array<[string, (l: Load) => number, number]> = [
    ['CPU ms/req', (l) => l.cpuMsPerRequest, 3],
    ['req/s', (l) => l.requests / l.seconds, 0],
    ['p50 ms', (l) => l.p50, 2],
    ['p99 ms', (l) => l.p99, 2],
  ];
  for (const snapshot of ['roster', 'large'] as const) {
    for (const [title, pick, digits] of rows) {
      const values = kinds.map((kind) => figure(nameOf({ kind, snapshot }), pick));
      const base = values[0] as number;
      const ratios = values.slice(1).map((v) => (v === undefined ? 'n/a' : `${(v / base).toFixed(2)}x`));
      const what = snapshot === 'roster' ? 'simulator (300)' : `${CUSTOMERS.toLocaleString('en')}`;
      console.log(`| ${what} | ${title} | ${values.map((v) => fmt(v, digits)).join(' | ')} | ${ratios.join(' | ')} |`);
    }
  }

  if (PROFILE) {
    const profiled = systems.find((s) => nameOf(s) === PROFILE);
    if (!profiled) throw new Error(`BENCH_PROFILE: no system ${PROFILE}`);
    await profiled.running.stop(true);
    const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no profile written');
    const kept = join(outDir, `dashboard-${PROFILE.replace('/', '-')}.cpuprofile`);
    copyFileSync(join(profiles, file), kept);
    console.log(`\nSelf time of ${PROFILE} under load (share of busy time), profile in ${kept}:\n`);
    for (const line of topSelf(kept, loadsBegun - profiled.running.spawnedAt)) console.log(line);
  }
  for (const system of systems) await system.running.stop();
}

await main();
process.exit(0);
