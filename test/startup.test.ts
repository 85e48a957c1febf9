// The real entry point, src/main.ts, run as a child process: it refuses bad or
// missing configuration with a message naming the variable, and with nothing
// configured it starts the simulator, says so loudly and serves tokenless queries.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/partner-center/simulator';
import { startUpstream, type Upstream } from './support/upstream';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const WAIT_MS = 20_000;

/** Variables main.ts reads: none may leak in from the environment running the tests. */
const GATEWAY_VARIABLES =
  /^(PARTNER_CENTER_|GATEWAY_)|^(PORT|NODE_ENV|LOG_LEVEL|GRAPHIQL|INTROSPECTION|CORS_ORIGINS|PERSISTED_DOCUMENTS|ALLOW_ARBITRARY_DOCUMENTS)$/;

interface Started {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal), or rejects after WAIT_MS. */
  exited(): Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout, or rejects after WAIT_MS or when the process exits. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
}

const running = new Set<ChildProcess>();

function start(env: Record<string, string>): Started {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !GATEWAY_VARIABLES.test(entry[0]),
    ),
  );
  const child = spawn(TSX, ['src/main.ts'], { cwd: ROOT, env: { ...inherited, ...env }, stdio: 'pipe' });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const withinWait = <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${WAIT_MS} ms; stdout:\n${out}\nstderr:\n${err}`)),
        WAIT_MS,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => withinWait(closed, 'the gateway did not exit'),
    waitForOutput: (pattern) =>
      withinWait(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = () => {
            const match = out.match(pattern);
            if (match) {
              child.stdout?.off('data', check);
              resolve(match);
            }
          };
          child.stdout?.on('data', check);
          check();
          void closed.then(() => reject(new Error(`the gateway exited; stdout:\n${out}\nstderr:\n${err}`)));
        }),
        `no ${pattern} on stdout`,
      ),
  };
}

/** Stops a child this file started: SIGTERM first, SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<number | null> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    return await closed;
  } finally {
    clearTimeout(timer);
  }
}

afterEach(async () => {
  await Promise.all([...running].map((child) => stop(child)));
});

describe('starting src/main.ts', () => {
  it('refuses to start in production with no Partner Center configured, naming both variables', async () => {
    // Empty values count as unset.
    const gateway = start({ NODE_ENV: 'production', PORT: '0', PARTNER_CENTER_BASE_URL: '', PARTNER_CENTER_CLOUD: '' });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toContain('PARTNER_CENTER_BASE_URL');
    expect(gateway.stderr()).toContain('PARTNER_CENTER_CLOUD');
    expect(gateway.stdout()).not.toContain('SIMULATED');
  });

  it('refuses PORT=abc with a message naming PORT', async () => {
    const gateway = start({ PORT: 'abc' });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toMatch(/PORT must be a whole number.*"abc"/);
    expect(gateway.stderr()).not.toMatch(/\n\s+at /);
  });

  it('refuses a CORS_ORIGINS entry without a scheme, naming it', async () => {
    const gateway = start({ PORT: '0', CORS_ORIGINS: 'localhost:3000' });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toContain('CORS_ORIGINS entry "localhost:3000" has no scheme');
    expect(gateway.stdout()).not.toContain('SIMULATED');
  });

  it('refuses a PERSISTED_DOCUMENTS manifest that does not exist, naming the variable', async () => {
    const gateway = start({ PORT: '0', PERSISTED_DOCUMENTS: 'schema/no-such-manifest.json' });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toContain(
      'PERSISTED_DOCUMENTS: cannot read the manifest "schema/no-such-manifest.json" (no such file)',
    );
  });

  it('starts the simulator with nothing configured, says so loudly and serves a tokenless query', async () => {
    const gateway = start({ PORT: '0' });

    const [, port] = await gateway.waitForOutput(/GraphiQL: http:\/\/localhost:(\d+)\/graphql/);
    await gateway.waitForOutput(new RegExp(SAMPLE_CUSTOMERS.doesNotExist));
    const banner = gateway.stdout();
    expect(banner).toContain('SIMULATED DATA');
    for (const id of Object.values(SAMPLE_CUSTOMERS)) expect(banner).toContain(id);

    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        query: `{ customer(id: "${SAMPLE_CUSTOMERS.approvedEducation.toUpperCase()}") { id mcaDirectlySigned qualifications { kind vettingStatus vettingCreatedDate } } }`,
      }),
    });

    const graphiql = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
    const page = await graphiql.text();
    // Booleans, not toContain: a failure would print the whole 9 MB page.
    expect(page.includes('customerList(first: 10)')).toBe(true);
    expect(/unpkg\.com|cdn\.jsdelivr|https:\/\/raw\.githubusercontent/.test(page)).toBe(false);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: {
        customer: {
          id: SAMPLE_CUSTOMERS.approvedEducation,
          mcaDirectlySigned: true,
          qualifications: [
            { kind: 'EDUCATION', vettingStatus: 'APPROVED', vettingCreatedDate: '2021-05-06T19:59:56.683Z' },
          ],
        },
      },
    });
    expect(await stop(gateway.child)).toBe(0);
  });

  describe('with a configured Partner Center', () => {
    let upstream: Upstream | undefined;
    afterEach(async () => {
      await upstream?.close();
    });

    it('starts without the simulator, calls the configured URL and requires a token', async () => {
      upstream = await startUpstream();
      const gateway = start({ NODE_ENV: 'production', PORT: '0', PARTNER_CENTER_BASE_URL: upstream.url });

      const [, port] = await gateway.waitForOutput(/at http:\/\/localhost:(\d+)\/graphql/);
      expect(gateway.stdout()).not.toContain('SIMULATED');
      const ask = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
          body: JSON.stringify({
            query: '{ customer(id: "00000000-0000-4000-8000-000000000001") { qualifications { kind } } }',
          }),
        }).then((response) => response.json());

      const tokenless = await ask({});
      expect(tokenless.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(upstream.calls).toHaveLength(0);

      const withToken = await ask({ authorization: 'Bearer real-token' });
      expect(withToken).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
      expect(upstream.calls.map((call) => call.headers.authorization)).toEqual(['Bearer real-token']);
    });
  });
});
