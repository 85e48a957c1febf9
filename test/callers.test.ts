// Callers of a gateway that signs in itself: tokens signed for real (RS256,
// ES256) verify; forged, expired, wrongly addressed, missing and malformed
// ones are UNAUTHENTICATED with no upstream call; roles from `roles` or `scp`
// decide reading and writing (FORBIDDEN, MISSING_ROLE); a key rotation is
// followed at most once a minute; the audit line names the verified caller.

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallerSettings } from '../src/config/sign-in-settings';
import { DEFAULT_CALLER, DEFAULT_TENANT, type EntraStandIn, startEntra } from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { captureLogs } from './support/logs';
import { sampleValue, scrape } from './support/prometheus';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { startUpstream, type Upstream } from './support/upstream';

const READ = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;
const WRITE = `mutation { addCustomerQualification(input: { customerId: "${customerId(2)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`;

let entra: EntraStandIn;
let upstream: Upstream;
let gw: RunningGateway;
const logs = captureLogs('info');

beforeAll(async () => {
  upstream = await startUpstream();
  entra = await startEntra();
  gw = await startSignedInGateway(upstream.url, signInSettings(entra), {}, { logger: logs.logger });
});
afterAll(async () => {
  await gw.close();
  await entra.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.calls.length = 0;
  logs.lines.length = 0;
});

describe('callers of a gateway that signs in itself', () => {
  it.each(['RS256', 'ES256'] as const)('serves a caller whose %s token verifies', async (alg) => {
    const token = await entra.signCallerToken({}, { alg });
    const { body } = await gw.query(READ, undefined, bearer(token));
    expect(body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(upstream.calls).toHaveLength(1);
  });

  it('accepts an audience from a comma-separated list and a token whose exp passed less than 60 s ago', async () => {
    const token = await entra.signCallerToken({ exp: Math.floor(Date.now() / 1000) - 30 });
    expect((await gw.query(READ, undefined, bearer(token))).body.errors).toBeUndefined();
    const early = await entra.signCallerToken({ nbf: Math.floor(Date.now() / 1000) + 30 });
    expect((await gw.query(READ, undefined, bearer(early))).body.errors).toBeUndefined();
  });

  const refusals: Array<[string, (entra: EntraStandIn) => Promise<string | null>, string]> = [
    ['no token at all', async () => null, 'A bearer token is required'],
    ['a token that is not a JWT', async () => 'Bearer opaque-token', 'not a JWT'],
    ['a token signed by another key', async (stand) => `Bearer ${await stand.forge.otherKey()}`, 'signature is wrong'],
    [
      'an unsigned token (alg none)',
      async (stand) => `Bearer ${await stand.forge.none()}`,
      'did not verify (its algorithm is not allowed)',
    ],
    [
      'an HS256 token keyed with the public key',
      async (stand) => `Bearer ${await stand.forge.hs256WithPublicKey()}`,
      'did not verify (its algorithm is not allowed)',
    ],
    [
      'a token naming a key the issuer does not publish',
      async (stand) => `Bearer ${await stand.signCallerToken({}, { kid: 'a-kid-never-published' })}`,
      'did not verify (no key of the issuer matches it)',
    ],
    ['three parts that are not JSON', async () => 'Bearer aaa.bbb.ccc', 'did not verify (ERR_JWS_INVALID)'],
    [
      'a token without exp',
      async (stand) => `Bearer ${await stand.signCallerToken({ exp: undefined })}`,
      'did not verify (claim exp: missing)',
    ],
    ['a Basic header', async () => 'Basic dXNlcjpwYXNzd29yZA==', 'The bearer token is not a JWT.'],
    [
      'a scheme that only ends in Bearer',
      async (stand) => `NotBearer ${await stand.signCallerToken()}`,
      'The bearer token is not a JWT.',
    ],
    [
      'a token followed by more text',
      async (stand) => `Bearer ${await stand.signCallerToken()} more`,
      'The bearer token is not a JWT.',
    ],
    [
      'a token after a character no JWT holds',
      async (stand) => `Bearer !${await stand.signCallerToken()}`,
      'The bearer token is not a JWT.',
    ],
    [
      'a token before a character no JWT holds',
      async (stand) => `Bearer ${await stand.signCallerToken()}!`,
      'The bearer token is not a JWT.',
    ],
    ['an expired token', async (stand) => `Bearer ${await stand.forge.expired()}`, 'has expired'],
    ['a token for another audience', async (stand) => `Bearer ${await stand.forge.wrongAudience()}`, 'claim aud'],
    ['a token of another issuer', async (stand) => `Bearer ${await stand.forge.wrongIssuer()}`, 'claim iss'],
    [
      'a token not valid for two more minutes',
      async (stand) => `Bearer ${await stand.signCallerToken({ nbf: Math.floor(Date.now() / 1000) + 120 })}`,
      'claim nbf',
    ],
  ];
  it.each(refusals)('refuses %s with UNAUTHENTICATED and no upstream call', async (_name, make, says) => {
    const authorization = await make(entra);
    const { body } = await gw.query(READ, undefined, { authorization });
    expect(body.data).toEqual({ customer: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(body.errors?.[0]?.message).toContain(says);
    expect(upstream.calls).toHaveLength(0);
  });

  it('reads the scheme in any case, with any run of spaces before the token', async () => {
    const token = await entra.signCallerToken();
    for (const authorization of [`bearer ${token}`, `BEARER  ${token}`, `Bearer \t${token}`]) {
      const { body } = await gw.query(READ, undefined, { authorization });
      expect(body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    }
    expect(upstream.calls).toHaveLength(3);
  });

  it('refuses a reader without the role with FORBIDDEN, MISSING_ROLE and the roles that would do', async () => {
    const token = await entra.signCallerToken({ roles: ['Something.Else'] });
    const { body } = await gw.query(READ, undefined, bearer(token));
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'MISSING_ROLE' });
    expect(body.errors?.[0]?.message).toBe(
      "Reading customers needs one of the roles PartnerCenter.Read, PartnerCenter.Write (in the token's roles or scp); the caller holds none of them.",
    );
    expect(upstream.calls).toHaveLength(0);
  });

  it('reads the roles from scp as well as from roles', async () => {
    const token = await entra.signCallerToken({ roles: undefined, scp: 'openid PartnerCenter.Read' });
    expect((await gw.query(READ, undefined, bearer(token))).body.errors).toBeUndefined();
  });

  it('lets only a writer add a qualification, and writes one audit line for each attempt', async () => {
    const reader = await entra.signCallerToken({ preferred_username: 'reader@contoso.test' });
    const refused = await gw.query(WRITE, undefined, bearer(reader));
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'MISSING_ROLE' });
    expect(upstream.calls).toHaveLength(0);

    const writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'], upn: 'writer@contoso.test' });
    const added = await gw.query(WRITE, undefined, bearer(writer));
    expect(added.body).toEqual({
      data: { addCustomerQualification: { qualification: { kind: 'STATE_OWNED_ENTITY' } } },
    });
    expect(upstream.calls.map((call) => call.method)).toEqual(['POST']);

    const audit = logs.withMessage('qualification change');
    expect(audit).toEqual([
      expect.objectContaining({
        level: 'info',
        caller: { oid: DEFAULT_CALLER.oid, tid: DEFAULT_TENANT, preferred_username: 'reader@contoso.test' },
        customerId: customerId(2),
        qualification: 'STATE_OWNED_ENTITY',
        outcome: 'FORBIDDEN',
        correlationId: expect.any(String),
      }),
      expect.objectContaining({
        caller: { oid: DEFAULT_CALLER.oid, tid: DEFAULT_TENANT, upn: 'writer@contoso.test' },
        outcome: 'added',
        correlationId: upstream.calls[0]?.headers['ms-correlationid'],
      }),
    ]);
    expect(logs.lines.join('\n')).not.toContain(writer);
  });

  it('names a caller without a textual oid by its sub in the audit line, skipping claims that are not text', async () => {
    const token = await entra.signCallerToken({ oid: 7, preferred_username: 42, upn: 'reader@contoso.test' });
    const { body } = await gw.query(WRITE, undefined, bearer(token));
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'MISSING_ROLE' });
    expect(logs.withMessage('qualification change').map((line) => line.caller)).toEqual([
      { sub: DEFAULT_CALLER.sub, tid: DEFAULT_TENANT, upn: 'reader@contoso.test' },
    ]);
  });

  it('counts callers by result in gateway_caller_auth_total', async () => {
    const before = await scrape(gw);
    const count = (samples: typeof before, result: string) =>
      sampleValue(samples, 'gateway_caller_auth_total', { result }) ?? 0;
    await gw.query(READ, undefined, bearer(await entra.signCallerToken()));
    await gw.query(READ, undefined, bearer(await entra.forge.expired()));
    await gw.query(READ, undefined, { authorization: null });
    await gw.query(READ, undefined, bearer(await entra.forge.otherKey()));
    await gw.query(READ, undefined, bearer('opaque-token'));
    await gw.query(READ, undefined, bearer(await entra.signCallerToken({ roles: [] })));
    const after = await scrape(gw);
    expect(
      ['ok', 'expired', 'missing', 'invalid', 'forbidden'].map(
        (result) => count(after, result) - count(before, result),
      ),
    ).toEqual([2, 1, 1, 2, 1]);
  });
});

describe('key rotation', () => {
  let rotating: EntraStandIn;
  let rotated: RunningGateway;
  afterAll(async () => {
    await rotated.close();
    await rotating.close();
  });

  it('fetches the keys again for a token naming an unknown kid, at most once a cooldown (a minute; 400 ms here)', async () => {
    // Started in the test, not in a hook, so that mutation testing counts the verifier's set-up as reached by it.
    rotating = await startEntra();
    rotated = await startSignedInGateway(
      upstream.url,
      signInSettings(rotating),
      {},
      { signIn: { keysCooldownMs: 400 } },
    );
    const first = await rotating.signCallerToken();
    expect((await rotated.query(READ, undefined, bearer(first))).body.errors).toBeUndefined();
    expect(rotating.jwksRequests).toBe(1);

    // The clock (jose's cooldown reads Date) stands still from here, so a slow key generation cannot end it.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      // A new kid right after the keys were fetched: refused without fetching them again.
      await rotating.rotateKeys();
      const rotatedToken = await rotating.signCallerToken();
      const tooSoon = await rotated.query(READ, undefined, bearer(rotatedToken));
      expect(tooSoon.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(rotating.jwksRequests).toBe(1);

      // A cooldown after the clock stood still (and so after the fetch): the unknown kid fetches the keys once.
      vi.setSystemTime(Date.now() + 400);
      expect((await rotated.query(READ, undefined, bearer(rotatedToken))).body.errors).toBeUndefined();
      expect(
        (await rotated.query(READ, undefined, bearer(await rotating.signCallerToken()))).body.errors,
      ).toBeUndefined();
      expect(rotating.jwksRequests).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a simulated gateway signing in without the AUTH_* settings', () => {
  // The simulator plays Entra, so AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE may be missing: a tokenless request is
  // the development user, and no caller's token can verify, whichever of the three is missing.
  const missing: Array<[string, Partial<CallerSettings>]> = [
    ['AUTH_JWKS_URL', { jwksUrl: undefined }],
    ['AUTH_ISSUER', { issuer: undefined }],
    ['AUTH_AUDIENCE', { audiences: [] }],
  ];
  it.each(missing)('without %s serves the development user and refuses every token', async (_name, callers) => {
    // App mode: client credentials, so the refresh token the other gateway of this file redeemed does not matter.
    const settings = signInSettings(entra, 'app');
    const simulated = await startSignedInGateway(
      upstream.url,
      {
        ...settings,
        callers: { ...settings.callers, ...callers },
      },
      { simulator: true },
    );
    try {
      const tokenless = await simulated.query(READ, undefined, { authorization: null });
      expect(tokenless.body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
      expect(upstream.calls).toHaveLength(1);

      const { body } = await simulated.query(READ, undefined, bearer(await entra.signCallerToken()));
      expect(body.data).toEqual({ customer: null });
      expect(body.errors?.map((error) => [error.message, error.extensions])).toEqual([
        [
          'The bearer token cannot be verified: the gateway has no AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE.',
          { code: 'UNAUTHENTICATED' },
        ],
      ]);
      expect(upstream.calls).toHaveLength(1);
      const samples = await scrape(simulated);
      expect(['ok', 'invalid'].map((result) => sampleValue(samples, 'gateway_caller_auth_total', { result }))).toEqual([
        1, 1,
      ]);
    } finally {
      await simulated.close();
    }
  });
});
