// Production runs the compiled build with plain node: `npm run build` emits
// dist/main.js, which starts with no TypeScript at run time and answers
// GraphQL, /health and /ready; tsx is a development dependency only.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/partner-center/simulator';
import { ROOT, startGatewayProcess, stopGatewayProcess } from './support/process';

describe('the compiled build', () => {
  it('builds with npm run build, starts with plain node and answers a query', async () => {
    await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    const bundle = await readFile(new URL('../dist/main.js', import.meta.url), 'utf8');
    expect(bundle).not.toMatch(/from ["']tsx|\.ts["']/);

    const gateway = startGatewayProcess({ PORT: '0' }, { compiled: true });
    const base = await gateway.listening();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `{ customer(id: "${SAMPLE_CUSTOMERS.approvedEducation}") { mcaDirectlySigned } }`,
      }),
    });
    expect(await response.json()).toEqual({ data: { customer: { mcaDirectlySigned: true } } });
    expect(await stopGatewayProcess(gateway.child)).toBe(0);
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
