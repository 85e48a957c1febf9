// The real entry point, src/main.ts, run as a child process: it refuses bad or
// missing configuration with a message naming the variable, and with nothing
// configured it starts the simulator, says so loudly and serves tokenless queries.

import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { startGatewayProcess as start, stopGatewayProcess as stop } from './support/process';
import { startUpstream, type Upstream } from './support/upstream';

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

  it('refuses LOG_LEVEL=verbose with a message naming LOG_LEVEL', async () => {
    const gateway = start({ LOG_LEVEL: 'verbose' });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toMatch(
      /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent.*"verbose"/,
    );
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

  it('signs in to the simulated Entra with PARTNER_CENTER_AUTH=app-user and serves the development user', async () => {
    const gateway = start({ PORT: '0', PARTNER_CENTER_AUTH: 'app-user' });
    const [, port] = await gateway.waitForOutput(/GraphiQL: http:\/\/localhost:(\d+)\/graphql/);
    expect(gateway.stdout()).toContain(
      "PARTNER_CENTER_AUTH=app-user: the gateway signs in to the simulator's Entra itself.",
    );
    const ask = (headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          query: `{ customer(id: "${SAMPLE_CUSTOMERS.approvedEducation}") { mcaDirectlySigned } }`,
        }),
      }).then((response) => response.json());

    expect(await ask()).toEqual({ data: { customer: { mcaDirectlySigned: true } } });
    // A token that is sent must verify, and without AUTH_* settings none can.
    const refused = (await ask({ authorization: 'Bearer not-verifiable' })) as {
      errors: Array<{ extensions: unknown }>;
    };
    expect(refused.errors[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('gateway_token_requests_total{grant="refresh_token",result="ok"} 1');
    expect(metrics).toContain('gateway_caller_auth_total{result="ok"} 1');
    expect(metrics).toContain('gateway_caller_auth_total{result="invalid"} 1');
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    expect(await stop(gateway.child)).toBe(0);
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
