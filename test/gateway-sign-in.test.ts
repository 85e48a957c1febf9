// A gateway that signs in itself, against an https Entra stand-in: one token
// for every request, one token request for concurrent cold requests, renewal
// before expiry with the rotated refresh token, transient failures retried
// while a valid token serves, refusals as GATEWAY_CREDENTIALS with /ready 503
// and recovery from a replaced _FILE, app-only mode, answers shared by the
// partner, and no secret in the log at trace level.

import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/config/config';
import { SecretSetting } from '../src/config/sign-in-settings';
import { ignoredEvents } from '../src/observability/events';
import { createSignIn } from '../src/sign-in/sign-in';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_REFRESH_TOKEN,
  DEFAULT_TENANT,
  type EntraStandIn,
  startEntra,
} from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { captureLogs } from './support/logs';
import { sampleValue, scrape } from './support/prometheus';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { startUpstream, type Upstream } from './support/upstream';

const QUALIFICATIONS = 'query ($id: ID!) { customer(id: $id) { qualifications { kind } } }';
const BOTH = 'query ($id: ID!) { customer(id: $id) { qualifications { kind } mcaDirectlySigned } }';

let entra: EntraStandIn;
let upstream: Upstream;
let gateways: RunningGateway[] = [];
let caller: string;
const dir = mkdtempSync(join(tmpdir(), 'gateway-sign-in-'));

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  entra = await startEntra();
  upstream.calls.length = 0;
  caller = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
});
afterEach(async () => {
  for (const gw of gateways) await gw.close();
  gateways = [];
  await entra.close();
});

async function gateway(
  ...args: Parameters<typeof startSignedInGateway> extends [string, ...infer Rest] ? Rest : never
) {
  const gw = await startSignedInGateway(upstream.url, ...args);
  gateways.push(gw);
  return gw;
}

describe('the gateway signing in itself (app-user)', () => {
  it('makes one token request for 20 concurrent cold requests, and none for later ones', async () => {
    const release = entra.hold();
    const gw = await gateway(signInSettings(entra));
    const answers = Promise.all(
      Array.from({ length: 20 }, (_, n) => gw.query(QUALIFICATIONS, { id: customerId(n + 1) }, bearer(caller))),
    );
    await entra.untilTokenRequests(1);
    // Every caller verified (the metric says so) while the one token request is held: all 20 wait for it.
    for (let tries = 0; tries < 200; tries++) {
      if (sampleValue(await scrape(gw), 'gateway_caller_auth_total', { result: 'ok' }) === 20) break;
      await sleep(10);
    }
    await sleep(50);
    release();
    for (const { body } of await answers) expect(body.errors).toBeUndefined();
    for (let n = 0; n < 5; n++) await gw.query(QUALIFICATIONS, { id: customerId(100 + n) }, bearer(caller));

    expect(entra.tokenRequests).toHaveLength(1);
    expect(entra.tokenRequests[0]).toMatchObject({
      grant: 'refresh_token',
      refreshToken: DEFAULT_REFRESH_TOKEN,
      secretOk: true,
      scope: 'https://api.partnercenter.microsoft.com/.default offline_access',
    });
    // Partner Center sees the gateway's token on all 25 calls, never the caller's.
    expect(upstream.calls).toHaveLength(25);
    expect(new Set(upstream.calls.map((call) => call.headers.authorization))).toEqual(
      new Set([`Bearer ${entra.accessTokens[0]}`]),
    );
    expect(JSON.stringify(upstream.calls.map((call) => call.headers))).not.toContain(caller);
  });

  it('renews once less than half the life of a short token remains, redeeming the rotated refresh token', async () => {
    entra.setExpiresIn(2);
    const gw = await gateway(signInSettings(entra));
    await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    expect(entra.tokenRequests).toHaveLength(1);
    // After 1 s of a 2 s token: due (half its life left), still valid, so it serves while one renewal runs.
    await sleep(1_100);
    const due = await gw.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller));
    expect(due.body.errors).toBeUndefined();
    expect(upstream.calls.at(-1)?.headers.authorization).toBe(`Bearer ${entra.accessTokens[0]}`);
    await entra.untilTokenRequests(2);
    await gw.query(QUALIFICATIONS, { id: customerId(3) }, bearer(caller));

    expect(entra.tokenRequests.map((request) => request.refreshToken)).toEqual([
      DEFAULT_REFRESH_TOKEN,
      'refresh-token-1',
    ]);
    expect(upstream.calls.at(-1)?.headers.authorization).toBe(`Bearer ${entra.accessTokens[1]}`);
  });

  it('keeps serving with the valid token while Entra fails, and renews once it answers', async () => {
    entra.setExpiresIn(2);
    const gw = await gateway(signInSettings(entra));
    await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    entra.failNext(503, 1);
    entra.failNext('reset', 1);
    await sleep(1_100);
    const during = await gw.query(QUALIFICATIONS, { id: customerId(2) }, bearer(caller));
    expect(during.body.errors).toBeUndefined();
    await entra.untilTokenRequests(4);
    await gw.query(QUALIFICATIONS, { id: customerId(3) }, bearer(caller));

    expect(entra.tokenRequests.map((request) => request.answer)).toEqual([200, 503, 'reset', 200]);
    // The failed tries redeemed nothing: the retry still presents the rotated token.
    expect(entra.tokenRequests[3]?.refreshToken).toBe('refresh-token-1');
    expect(upstream.calls.at(-1)?.headers.authorization).toBe(`Bearer ${entra.accessTokens[1]}`);
    const samples = await scrape(gw);
    expect(sampleValue(samples, 'gateway_token_requests_total', { grant: 'refresh_token', result: 'ok' })).toBe(2);
    expect(sampleValue(samples, 'gateway_token_requests_total', { grant: 'refresh_token', result: 'error' })).toBe(2);
  });

  it('fails fields with GATEWAY_CREDENTIALS and no Partner Center call while Entra refuses, says why on /ready and logs it once', async () => {
    entra.refuseAll('invalid_grant', 700082, 'AADSTS700082: The refresh token has expired due to inactivity.');
    const logs = captureLogs('trace');
    const gw = await gateway(signInSettings(entra), {}, { logger: logs.logger });
    await entra.untilTokenRequests(1);
    await sleep(50);
    for (let n = 0; n < 3; n++) {
      const { body } = await gw.query(BOTH, { id: customerId(1) }, bearer(caller));
      expect(body.data).toEqual({ customer: null });
      expect(body.errors?.map((error) => error.extensions)).toEqual([
        { code: 'UNAUTHENTICATED', reason: 'GATEWAY_CREDENTIALS' },
        { code: 'UNAUTHENTICATED', reason: 'GATEWAY_CREDENTIALS' },
      ]);
      expect(body.errors?.[0]?.message).toBe(
        "The gateway cannot sign in to Partner Center: Microsoft Entra ID refused its credentials. The operator must renew them (see the gateway's log and /ready).",
      );
    }
    expect(upstream.calls).toHaveLength(0);
    const ready = await fetch(gw.url.replace('/graphql', '/ready'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      ready: false,
      reason: 'GATEWAY_CREDENTIALS',
      error: 'invalid_grant',
      aadsts: 'AADSTS700082',
      action:
        'the refresh token expired: a partner user must consent again with multi-factor authentication and the new refresh token must replace PARTNER_CENTER_REFRESH_TOKEN',
    });
    // The retry a minute (300 ms here) keeps meeting the same refusal: still one error line.
    await entra.untilTokenRequests(3);
    const errors = logs.records().filter((record) => record.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('AADSTS700082');
    expect(errors[0]?.msg).toContain('PARTNER_CENTER_REFRESH_TOKEN');
    // Each refusal counts as refused, none as an error.
    const samples = await scrape(gw);
    expect(
      sampleValue(samples, 'gateway_token_requests_total', { grant: 'refresh_token', result: 'refused' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      sampleValue(samples, 'gateway_token_requests_total', { grant: 'refresh_token', result: 'error' }),
    ).toBeUndefined();
  });

  it("fails fields with UPSTREAM_UNAVAILABLE when Entra has not answered by the request's deadline, and serves the token once it does", async () => {
    const release = entra.hold();
    const gw = await gateway(signInSettings(entra), { requestBudgetMs: 300 });
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    expect(body.data).toEqual({ customer: null });
    expect(body.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([
      [
        'The gateway could not sign in to Partner Center: Microsoft Entra ID did not answer in time. Try again shortly.',
        'UPSTREAM_UNAVAILABLE',
      ],
    ]);
    expect(upstream.calls).toHaveLength(0);
    release();
    const later = await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    expect(later.body.errors).toBeUndefined();
    expect(entra.tokenRequests).toHaveLength(1);
    expect(upstream.calls.map((call) => call.headers.authorization)).toEqual([`Bearer ${entra.accessTokens[0]}`]);
  });

  it('recovers without a restart when the refresh token in its file is replaced, and /ready turns 200', async () => {
    const tokenFile = join(dir, 'refresh-token');
    writeFileSync(tokenFile, 'an-expired-refresh-token\n');
    const logs = captureLogs('trace');
    const gw = await gateway(
      signInSettings(entra, 'app-user', { refreshToken: new SecretSetting('an-expired-refresh-token', tokenFile) }),
      {},
      { logger: logs.logger },
    );
    await entra.untilTokenRequests(1);
    await sleep(50);
    expect((await fetch(gw.url.replace('/graphql', '/ready'))).status).toBe(503);

    // The operator consents again and replaces the file; the next retry (at most once a minute) reads it.
    entra.setRefreshToken('a-new-consent');
    writeFileSync(tokenFile, 'a-new-consent\n');
    await entra.untilTokenRequests(2);
    await sleep(50);

    expect(entra.tokenRequests.map((request) => request.refreshToken)).toEqual([
      'an-expired-refresh-token',
      'a-new-consent',
    ]);
    expect((await fetch(gw.url.replace('/graphql', '/ready'))).status).toBe(200);
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    expect(body.errors).toBeUndefined();
    expect(logs.withMessage("Entra accepts the gateway's credentials again")).toHaveLength(1);
  });

  it('names a wrong client secret as invalid_client with AADSTS7000215 and what to do', async () => {
    const logs = captureLogs('info');
    const gw = await gateway(
      signInSettings(entra, 'app-user', { clientSecret: new SecretSetting('not-the-secret') }),
      {},
      { logger: logs.logger },
    );
    await entra.untilTokenRequests(1);
    await sleep(50);
    const ready = await fetch(gw.url.replace('/graphql', '/ready'));
    expect(await ready.json()).toMatchObject({ error: 'invalid_client', aadsts: 'AADSTS7000215' });
    const [line] = logs.records().filter((record) => record.level === 'error');
    expect(line?.msg).toContain('PARTNER_CENTER_CLIENT_SECRET');
  });

  it('shares one upstream call and one cache entry between two callers of the same customer', async () => {
    const gw = await gateway(signInSettings(entra), { cacheTtlSeconds: 60 });
    const other = await entra.signCallerToken({ oid: '44444444-4444-4444-8444-444444444444', sub: 'another-caller' });
    const [first, second] = await Promise.all([
      gw.query(QUALIFICATIONS, { id: customerId(7) }, bearer(caller)),
      gw.query(QUALIFICATIONS, { id: customerId(7) }, bearer(other)),
    ]);
    const later = await gw.query(QUALIFICATIONS, { id: customerId(7) }, bearer(other));
    for (const answer of [first, second, later]) expect(answer.body.errors).toBeUndefined();
    expect(upstream.callsTo('qualifications', customerId(7))).toHaveLength(1);
  });

  it('writes no secret, refresh token or access token to the log at trace level', async () => {
    const logs = captureLogs('trace');
    const gw = await gateway(signInSettings(entra), {}, { logger: logs.logger });
    await gw.query(BOTH, { id: customerId(1) }, bearer(caller));
    entra.refuseAll(
      'invalid_grant',
      50076,
      'AADSTS50076: Due to a configuration change you must use multi-factor authentication.',
    );
    entra.setExpiresIn(1);
    const refused = await gateway(signInSettings(entra), {}, { logger: logs.logger });
    await refused.query(BOTH, { id: customerId(2) }, bearer(caller));
    await sleep(50);

    const text = logs.lines.join('\n');
    expect(logs.lines.length).toBeGreaterThan(3);
    for (const secret of [
      DEFAULT_CLIENT_SECRET,
      DEFAULT_REFRESH_TOKEN,
      'refresh-token-1',
      caller,
      ...entra.accessTokens,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('AADSTS50076');
  });
});

describe('the gateway signing in itself (app)', () => {
  it('asks for client credentials, reads qualifications, and refuses MCA status and mutations with no upstream call', async () => {
    const gw = await gateway(signInSettings(entra, 'app'));
    const { body } = await gw.query(BOTH, { id: customerId(1) }, bearer(caller));
    expect(body.data).toEqual({ customer: { qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: null } });
    expect(body.errors?.map((error) => [error.path, error.extensions])).toEqual([
      [['customer', 'mcaDirectlySigned'], { code: 'FORBIDDEN' }],
    ]);
    expect(body.errors?.[0]?.message).toBe(
      'mcaDirectlySigned needs an App+User token; this gateway signs in app-only (PARTNER_CENTER_AUTH=app).',
    );
    const mutation = await gw.query(
      'mutation { addCustomerQualification(input: { customerId: "' +
        customerId(1) +
        '", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }',
      undefined,
      bearer(caller),
    );
    expect(mutation.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
    expect(mutation.body.errors?.[0]?.message).toBe(
      'addCustomerQualification needs an App+User token; this gateway signs in app-only (PARTNER_CENTER_AUTH=app).',
    );
    expect(upstream.calls.map((call) => `${call.method} ${call.resource}`)).toEqual(['GET qualifications']);
    expect(entra.tokenRequests).toEqual([
      expect.objectContaining({
        grant: 'client_credentials',
        scope: 'https://api.partnercenter.microsoft.com/.default',
      }),
    ]);
  });
});

/** One answer of the scripted token endpoint: a status and a body as sent, or a destroyed connection. */
type Scripted = { readonly status: number; readonly body: string } | 'reset';

interface ScriptedEndpoint {
  readonly url: string;
  /** Every token request's headers and form, in arrival order. */
  readonly requests: Array<{ headers: IncomingMessage['headers']; form: URLSearchParams }>;
  /** Resolves once `count` requests have arrived. */
  until(count: number): Promise<void>;
  /** Connections the gateway holds open to it now. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A token endpoint on loopback (http) whose answers the test writes byte for byte, for the answers Entra's stand-in
 * never gives: a 200 without a token, bodies that are not JSON, odd statuses. Once `answers` is used up, it issues
 * a token.
 */
async function scriptedEndpoint(answers: Scripted[]): Promise<ScriptedEndpoint> {
  const requests: ScriptedEndpoint['requests'] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => {
      requests.push({ headers: req.headers, form: new URLSearchParams(text) });
      for (const waiter of waiters.filter((one) => requests.length >= one.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const answer = answers.shift() ?? {
        status: 200,
        body: JSON.stringify({ token_type: 'Bearer', access_token: `scripted-${requests.length}`, expires_in: 3600 }),
      };
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  let open = 0;
  server.on('connection', (socket) => {
    open += 1;
    socket.on('close', () => {
      open -= 1;
    });
  });
  // Long enough that only the gateway closing its side ends a connection within a test.
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    connections: () => open,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    until: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const FAILED = 'Entra token request failed; trying again with backoff';
const json = (status: number, value: unknown): Scripted => ({ status, body: JSON.stringify(value) });

describe("the token endpoint's answers", () => {
  let endpoint: ScriptedEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  async function signingIn(answers: Scripted[], mode: 'app' | 'app-user' = 'app') {
    endpoint = await scriptedEndpoint(answers);
    const logs = captureLogs('info');
    const gw = await gateway(signInSettings(entra, mode, { authorityHost: endpoint.url }), {}, { logger: logs.logger });
    return { gw, logs, endpoint };
  }

  const failures: Array<[string, Scripted, string]> = [
    ['a 200 without a token', json(200, { expires_in: 3600 }), 'an answer 200 without access_token and expires_in'],
    [
      'a 200 with an empty token',
      json(200, { access_token: '', expires_in: 3600 }),
      'an answer 200 without access_token and expires_in',
    ],
    [
      'a 200 without expires_in',
      json(200, { access_token: 'a-token' }),
      'an answer 200 without access_token and expires_in',
    ],
    [
      'a 200 with expires_in 0',
      json(200, { access_token: 'a-token', expires_in: 0 }),
      'an answer 200 without access_token and expires_in',
    ],
    ['a 200 whose body is null', { status: 200, body: 'null' }, 'an answer 200 without access_token and expires_in'],
    [
      'a 200 that is not JSON',
      { status: 200, body: '<html>signed in</html>' },
      'an answer 200 without access_token and expires_in',
    ],
    ['a 300 with a token', json(300, { access_token: 'a-token', expires_in: 3600 }), 'Entra answered 300'],
    ['a 500 that is not JSON', { status: 500, body: '<html>oops</html>' }, 'Entra answered 500'],
    ['a 500 naming a refusal', json(500, { error: 'invalid_grant' }), 'Entra answered 500 (invalid_grant)'],
    ['a 408 naming a refusal', json(408, { error: 'invalid_grant' }), 'Entra answered 408 (invalid_grant)'],
    ['a 429 naming a refusal', json(429, { error: 'invalid_client' }), 'Entra answered 429 (invalid_client)'],
    [
      'a 400 with an error that is not a refusal',
      json(400, { error: 'invalid_request' }),
      'Entra answered 400 (invalid_request)',
    ],
    ['a 400 whose error is not text', json(400, { error: 7 }), 'Entra answered 400'],
    ['a 400 without an error', json(400, { error_codes: [70000] }), 'Entra answered 400'],
    ['a 302 naming a refusal', json(302, { error: 'invalid_grant' }), 'Entra answered 302 (invalid_grant)'],
    ['a lost connection', 'reset', 'UND_ERR_SOCKET'],
  ];
  it.each(failures)(
    'takes %s for a failure worth retrying, and signs in on the next try',
    async (_name, answer, why) => {
      const { gw, logs, endpoint: scripted } = await signingIn([answer]);
      await scripted.until(2);
      expect(logs.withMessage(FAILED).map((line) => line.why)).toEqual([why]);
      await expect.poll(async () => (await fetch(gw.url.replace('/graphql', '/ready'))).status).toBe(200);
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
      expect(body.errors).toBeUndefined();
      expect(upstream.calls.map((call) => call.headers.authorization)).toEqual(['Bearer scripted-2']);
    },
  );

  const refusals: Array<[string, Scripted, { error: string; aadsts?: string }]> = [
    [
      'the AADSTS code of error_codes',
      json(401, { error: 'invalid_client', error_codes: [7000215], error_description: 'AADSTS50076: not this one' }),
      { error: 'invalid_client', aadsts: 'AADSTS7000215' },
    ],
    [
      "the description's AADSTS code when error_codes holds no number",
      json(400, {
        error: 'invalid_grant',
        error_codes: ['x'],
        error_description: 'AADSTS700082: The refresh token has expired.',
      }),
      { error: 'invalid_grant', aadsts: 'AADSTS700082' },
    ],
    [
      'no AADSTS code when neither names one',
      json(400, { error: 'consent_required', error_description: 'AADSTS12: too short to be a code' }),
      { error: 'consent_required' },
    ],
  ];
  it.each(refusals)('reads a refusal with %s', async (_name, answer, expected) => {
    const { gw, endpoint: scripted } = await signingIn([answer]);
    await scripted.until(1);
    await expect.poll(async () => (await fetch(gw.url.replace('/graphql', '/ready'))).status).toBe(503);
    const ready = (await (await fetch(gw.url.replace('/graphql', '/ready'))).json()) as Record<string, unknown>;
    expect({ error: ready.error, aadsts: ready.aadsts }).toEqual({ error: expected.error, aadsts: expected.aadsts });
    expect(scripted.requests).toHaveLength(1);
  });

  it('keeps redeeming the refresh token it has when an answer holds one that is not text', async () => {
    // Expires at once, so the next request renews it and shows which refresh token the gateway presents.
    const { gw, endpoint: scripted } = await signingIn(
      [json(200, { access_token: 'first', expires_in: 0.001, refresh_token: 42 })],
      'app-user',
    );
    await scripted.until(1);
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    expect(body.errors).toBeUndefined();
    expect(scripted.requests.map((request) => request.form.get('refresh_token'))).toEqual([
      DEFAULT_REFRESH_TOKEN,
      DEFAULT_REFRESH_TOKEN,
    ]);
    expect(upstream.calls.map((call) => call.headers.authorization)).toEqual(['Bearer scripted-2']);
  });

  it('posts a form of the client-credentials grant, without a refresh token, asking for JSON', async () => {
    const { gw, endpoint: scripted } = await signingIn([]);
    await scripted.until(1);
    await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
    const [request] = scripted.requests;
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers.accept).toBe('application/json');
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      grant_type: 'client_credentials',
      client_id: DEFAULT_CLIENT_ID,
      client_secret: DEFAULT_CLIENT_SECRET,
      scope: 'https://api.partnercenter.microsoft.com/.default',
    });
  });
});

describe('the assembly of the sign-in', () => {
  const deps = () => ({ logger: captureLogs().logger, events: ignoredEvents, redis: undefined });

  it('makes nothing in forward mode, and refuses settings without a tenant, client id or secret', () => {
    expect(createSignIn({ ...defaultConfig, signIn: { ...signInSettings(entra), mode: 'forward' } }, deps())).toBe(
      undefined,
    );
    for (const missing of ['tenantId', 'clientId', 'clientSecret'] as const) {
      expect(() =>
        createSignIn({ ...defaultConfig, signIn: { ...signInSettings(entra), [missing]: undefined } }, deps()),
      ).toThrow('createSignIn needs the tenant, client id and client secret (config validation lets none pass)');
    }
  });

  it("asks for a token at the tenant's endpoint, its name lower-cased", async () => {
    for (const tenantId of [DEFAULT_TENANT.toUpperCase(), 'Contoso.OnMicrosoft.COM']) {
      const gw = await gateway(signInSettings(entra, 'app', { tenantId }));
      expect((await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller))).body.errors).toBeUndefined();
    }
    expect(entra.tokenRequests.map((request) => request.tenant)).toEqual([DEFAULT_TENANT, 'contoso.onmicrosoft.com']);
  });

  it('keeps the sign-in in memory when TOKEN_ENCRYPTION_KEY is set without Redis', async () => {
    const key = new SecretSetting(Buffer.alloc(32, 9).toString('base64'));
    const gw = await gateway(signInSettings(entra, 'app-user', { tokenEncryptionKey: key }));
    expect((await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller))).body.errors).toBeUndefined();
    expect(entra.tokenRequests).toHaveLength(1);
  });

  it('waits the backoff step it was given between failed tries (20 ms here, not 500)', async () => {
    entra.failNext(503, 4);
    // Four steps of 500 ms, doubled each time, would take 7.5 s, past the request's 3 s.
    const gw = await gateway(signInSettings(entra), { requestBudgetMs: 3_000 });
    expect((await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller))).body.errors).toBeUndefined();
    expect(entra.tokenRequests.map((request) => request.answer)).toEqual([503, 503, 503, 503, 200]);
  });

  it('closes its own connections to the token endpoint when it closes, and leaves a dispatcher it was given open', async () => {
    const endpoint = await scriptedEndpoint([]);
    try {
      const gw = await gateway(signInSettings(entra, 'app', { authorityHost: endpoint.url }));
      await gw.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
      expect(endpoint.connections()).toBe(1);
      gateways.splice(gateways.indexOf(gw), 1);
      await gw.close();
      // Its keep-alive connection would otherwise stay open 30 s.
      await expect.poll(() => endpoint.connections(), { timeout: 5_000 }).toBe(0);

      const given = new Agent();
      const withGiven = await gateway(
        signInSettings(entra, 'app', { authorityHost: endpoint.url }),
        {},
        {
          signIn: { dispatcher: given },
        },
      );
      await withGiven.query(QUALIFICATIONS, { id: customerId(1) }, bearer(caller));
      gateways.splice(gateways.indexOf(withGiven), 1);
      await withGiven.close();
      expect(given.closed).toBe(false);
      await given.close();
    } finally {
      await endpoint.close();
    }
  });

  it('asks Entra nothing more once closed while refused', async () => {
    entra.refuseAll('invalid_grant', 700082, 'AADSTS700082: The refresh token has expired due to inactivity.');
    const logs = captureLogs('trace');
    const gw = await gateway(signInSettings(entra), {}, { logger: logs.logger });
    await entra.untilTokenRequests(1);
    gateways.splice(gateways.indexOf(gw), 1);
    await gw.close();
    const asked = entra.tokenRequests.length;
    const lines = logs.lines.length;
    // The refused retry comes every 300 ms here; once closed it neither reaches Entra nor fails trying.
    await sleep(1_000);
    expect(entra.tokenRequests).toHaveLength(asked);
    expect(logs.lines.slice(lines)).toEqual([]);
  });
});
