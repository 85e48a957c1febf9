// Production runs the compiled build with plain node: `npm run build` (run
// once for the suite by test/support/build.ts) bundles the sources and their
// dependencies into dist/, which starts with no TypeScript and no
// node_modules at run time and answers GraphQL, /health and /ready. What the
// bundle loads only when asked (GraphiQL's page, Redis) is checked through the
// compiled gateway too; tsx is a development dependency only.

import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { customerId, TOKEN } from './support/gateway';
import { type GatewayProcess, ROOT, startGatewayProcess, stopGatewayProcess } from './support/process';
import { startRedis } from './support/redis-server';
import { START_FLAGS } from './support/start-flags';
import { startUpstream } from './support/upstream';

const graphql = (base: string, query: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });

describe('the compiled build', () => {
  it('bundles every dependency: a copy of dist/ alone, with no node_modules to find, starts and answers', async () => {
    const alone = await mkdtemp(join(tmpdir(), 'gateway-dist-'));
    try {
      await cp(join(ROOT, 'dist'), alone, { recursive: true });
      expect(existsSync(join(alone, 'main.js.map'))).toBe(true);
      const gateway = startGatewayProcess({ PORT: '0' }, { compiled: join(alone, 'main.js') });
      const base = await gateway.listening();
      const response = await graphql(base, `{ customerList(first: 1) { nodes { companyName } } }`);
      expect(await response.json()).toEqual({
        data: { customerList: { nodes: [{ companyName: expect.any(String) }] } },
      });
      expect(await stopGatewayProcess(gateway.child)).toBe(0);
    } finally {
      await rm(alone, { recursive: true, force: true });
    }
  });

  it('starts with plain node, answers a query, /health and /ready, and serves GraphiQL from its lazy chunk', async () => {
    const gateway = startGatewayProcess({ PORT: '0' }, { compiled: true });
    const base = await gateway.listening();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const response = await graphql(
      base,
      `{ customer(id: "${SAMPLE_CUSTOMERS.approvedEducation}") { mcaDirectlySigned } }`,
    );
    expect(await response.json()).toEqual({ data: { customer: { mcaDirectlySigned: true } } });
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Partner Center gateway</title>');
    expect(await stopGatewayProcess(gateway.child)).toBe(0);
  });

  it('keeps the simulator out of the entry: its roster is a chunk loaded only when no Partner Center is configured', async () => {
    const entry = await readFile(join(ROOT, 'dist', 'main.js'), 'utf8');
    expect(entry).not.toContain(SAMPLE_CUSTOMERS.approvedEducation);
    const chunks = await readdir(join(ROOT, 'dist', 'chunks'));
    const withRoster = [];
    for (const chunk of chunks.filter((name) => name.endsWith('.js'))) {
      if ((await readFile(join(ROOT, 'dist', 'chunks', chunk), 'utf8')).includes(SAMPLE_CUSTOMERS.approvedEducation)) {
        withRoster.push(chunk);
      }
    }
    expect(withRoster).toHaveLength(1);
    expect(withRoster[0]).toMatch(/^simulator-/);
  });

  it('loads its Redis client from the bundle: a second replica is answered from the shared cache', async () => {
    const redis = await startRedis();
    const upstream = await startUpstream();
    try {
      const env = { PORT: '0', PARTNER_CENTER_BASE_URL: upstream.url, REDIS_URL: redis.url, CACHE_TTL_SECONDS: '60' };
      const ask = async (replica: GatewayProcess, id: string, token: string) =>
        (
          await graphql(await replica.listening(), `{ customer(id: "${id}") { qualifications { kind } } }`, {
            authorization: token,
          })
        ).json();
      const replicas = [startGatewayProcess(env, { compiled: true }), startGatewayProcess(env, { compiled: true })];
      // Each replica loads ioredis and connects after it listens; until then it keeps answers to itself. A probe
      // (its own customer and token) is asked until its answer lands in Redis.
      for (const [index, replica] of replicas.entries()) {
        const probe = customerId(900 + index);
        for (let tries = 0; tries < 200 && (await redis.client.keys(`*${probe}*`)).length === 0; tries++) {
          await ask(replica, probe, `Bearer probe-${index}`);
          await sleep(25);
        }
        expect(await redis.client.keys(`*cache:qualifications:${probe}:*`)).toHaveLength(1);
      }
      const asked = () => upstream.calls.filter((call) => call.headers.authorization === TOKEN).length;
      const first = await ask(replicas[0] as GatewayProcess, customerId(1), TOKEN);
      expect(asked()).toBe(1);
      const second = await ask(replicas[1] as GatewayProcess, customerId(1), TOKEN);
      expect(second).toEqual(first);
      expect(asked()).toBe(1);
      for (const replica of replicas) expect(await stopGatewayProcess(replica.child)).toBe(0);
    } finally {
      await upstream.close();
      await redis.stop();
    }
  });

  it('needs neither tsx nor TypeScript among the production dependencies', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
    expect(Object.keys(manifest.dependencies)).not.toContain('typescript');
    expect(manifest.scripts.start).toMatch(/^node .*dist\/main\.js$/);
  });

  it("runs in the container with npm start's command: the same node flags", async () => {
    const dockerfile = await readFile(new URL('../Dockerfile', import.meta.url), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    expect(cmd).toEqual(['node', ...START_FLAGS, 'dist/main.js']);
    expect(START_FLAGS).toEqual(['--enable-source-maps']);
  });
});
