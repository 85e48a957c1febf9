// Production runs the compiled build with plain node: `npm run build` (run
// once for the suite by test/support/build.ts) bundles the sources and their
// dependencies into dist/, which starts with no TypeScript and no
// node_modules at run time and answers GraphQL, /health and /ready. What the
// bundle loads only when asked (GraphiQL's page, Redis) is checked through the
// compiled gateway too; tsx is a development dependency only.

import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/partner-center/simulator';
import { customerId, TOKEN } from './support/gateway';
import { ROOT, startGatewayProcess, stopGatewayProcess } from './support/process';
import { type RedisServer, startRedis } from './support/redis-server';
import { startUpstream } from './support/upstream';

/** Connections Redis has open: the test's own client and one per replica. */
const connectedClients = async (redis: RedisServer) =>
  String(await redis.client.client('LIST'))
    .split('\n')
    .filter((line) => line.trim() !== '').length;

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

  it('loads its Redis client from the bundle: a second replica is answered from the shared cache', async () => {
    const redis = await startRedis();
    const upstream = await startUpstream();
    try {
      const env = { PORT: '0', PARTNER_CENTER_BASE_URL: upstream.url, REDIS_URL: redis.url, CACHE_TTL_SECONDS: '60' };
      const query = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;
      const first = startGatewayProcess(env, { compiled: true });
      const second = startGatewayProcess(env, { compiled: true });
      await Promise.all([first.listening(), second.listening()]);
      // Each replica connects once ioredis is loaded; until then it keeps quota state to itself.
      for (let tries = 0; tries < 200 && (await connectedClients(redis)) < 3; tries++) await sleep(25);
      expect(await connectedClients(redis)).toBe(3);
      const answers = [];
      for (const replica of [first, second]) {
        const response = await graphql(await replica.listening(), query, { authorization: TOKEN });
        answers.push(await response.json());
      }
      expect(answers[1]).toEqual(answers[0]);
      expect(upstream.calls.length).toBe(1);
      expect(await redis.client.keys('*cache:qualifications:*')).toHaveLength(1);
      expect(await stopGatewayProcess(first.child)).toBe(0);
      expect(await stopGatewayProcess(second.child)).toBe(0);
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
});
