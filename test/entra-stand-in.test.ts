// Proves the Entra stand-in (test/support/entra.ts) over real https: token rotation and refusals, holds, and caller
// tokens that verify against its JWKS with jose, or fail to, as forged ones must. Trust comes from NODE_EXTRA_CA_CERTS.

import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  exportSPKI,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_REFRESH_TOKEN,
  DEFAULT_TENANT,
  type EntraStandIn,
  startEntra,
} from './support/entra';

const SCOPE = 'https://api.partnercenter.microsoft.com/.default offline_access';

let entra: EntraStandIn | undefined;
afterEach(async () => {
  await entra?.close();
  entra = undefined;
});

async function started(): Promise<EntraStandIn> {
  entra = await startEntra();
  return entra;
}

/** POSTs a form to the token endpoint with plain fetch: no CA is passed, so only NODE_EXTRA_CA_CERTS can trust it. */
async function token(stand: EntraStandIn, fields: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const response = await fetch(stand.tokenEndpoint(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, body: await response.json() };
}

function refreshGrant(refreshToken: string, secret = DEFAULT_CLIENT_SECRET): Record<string, string> {
  return {
    grant_type: 'refresh_token',
    client_id: DEFAULT_CLIENT_ID,
    client_secret: secret,
    refresh_token: refreshToken,
    scope: SCOPE,
  };
}

describe('the token endpoint', () => {
  it('rotates the refresh token on redemption and refuses the redeemed one with invalid_grant', async () => {
    const stand = await started();

    const first = await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN));

    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      ext_expires_in: 3600,
      refresh_token: 'refresh-token-1',
      scope: SCOPE,
    });
    const accessToken = (first.body as { access_token: string }).access_token;
    expect(decodeJwt(accessToken)).toMatchObject({ tid: DEFAULT_TENANT, idtyp: 'user', n: 1 });
    expect(stand.currentRefreshToken()).toBe('refresh-token-1');

    const replay = await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN));

    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_grant', error_codes: [70000] });
    expect((replay.body as { error_description: string }).error_description).toMatch(/^AADSTS70000: /);
    expect((await token(stand, refreshGrant('refresh-token-1'))).body).toMatchObject({
      refresh_token: 'refresh-token-2',
    });
    expect(stand.tokenRequests.map((r) => [r.grant, r.refreshToken, r.secretOk, r.answer])).toEqual([
      ['refresh_token', DEFAULT_REFRESH_TOKEN, true, 200],
      ['refresh_token', DEFAULT_REFRESH_TOKEN, true, 400],
      ['refresh_token', 'refresh-token-1', true, 200],
    ]);
  });

  it('answers a wrong client secret with invalid_client and AADSTS7000215, and records no secret', async () => {
    const stand = await started();

    const answer = await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN, 'not-the-secret'));

    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect((answer.body as { error_description: string }).error_description).toMatch(
      /^AADSTS7000215: Invalid client secret provided\./,
    );
    expect(stand.tokenRequests).toHaveLength(1);
    expect(stand.tokenRequests[0]?.secretOk).toBe(false);
    expect(JSON.stringify(stand.tokenRequests)).not.toContain('not-the-secret');
    // A refused request redeems nothing.
    expect(stand.currentRefreshToken()).toBe(DEFAULT_REFRESH_TOKEN);
  });

  it('issues app tokens for client_credentials without a refresh token', async () => {
    const stand = await started();

    const answer = await token(stand, {
      grant_type: 'client_credentials',
      client_id: DEFAULT_CLIENT_ID,
      client_secret: DEFAULT_CLIENT_SECRET,
      scope: 'https://api.partnercenter.microsoft.com/.default',
    });

    expect(answer.status).toBe(200);
    expect(answer.body).not.toHaveProperty('refresh_token');
    expect(decodeJwt((answer.body as { access_token: string }).access_token)).toMatchObject({ idtyp: 'app' });
  });

  it('holds every answer until the hold is released', async () => {
    const stand = await started();
    const release = stand.hold();
    let answered = false;

    const pending = token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN)).then((answer) => {
      answered = true;
      return answer;
    });
    await stand.untilTokenRequests(1);
    // A few round trips of the event loop on loopback: had the answer been sent, fetch would have resolved by now.
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(answered).toBe(false);
    release();
    expect((await pending).status).toBe(200);
    expect(stand.tokenRequests).toHaveLength(1);
  });

  it('answers a scripted refusal once and then accepts again', async () => {
    const stand = await started();
    stand.refuseNext('invalid_grant', 700082);

    expect((await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN))).body).toMatchObject({
      error: 'invalid_grant',
      error_codes: [700082],
    });
    expect((await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN))).status).toBe(200);
  });

  it('fails as scripted: a 503, a reset connection, then a hang that answers once released', async () => {
    const stand = await started();
    stand.failNext(503);
    stand.failNext('reset');
    stand.failNext('hang');

    expect((await token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN))).status).toBe(503);
    await expect(token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN))).rejects.toThrow(TypeError);
    const hung = token(stand, refreshGrant(DEFAULT_REFRESH_TOKEN));
    await stand.untilTokenRequests(3);
    stand.releaseHangs();

    expect((await hung).body).toMatchObject({ refresh_token: 'refresh-token-1' });
    expect(stand.tokenRequests.map((r) => r.answer)).toEqual([503, 'reset', 'hang']);
  });

  it('is reachable as localhost too, the certificate naming both', async () => {
    const stand = await started();
    const local = stand.jwksUri().replace('127.0.0.1', 'localhost');

    expect((await fetch(local)).status).toBe(200);
  });
});

describe('callers tokens', () => {
  async function verifier(stand: EntraStandIn) {
    const metadata = (await (await fetch(`${stand.issuer()}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    // No cooldown: the rotation test needs the key set fetched again as soon as an unknown kid turns up.
    const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), { cooldownDuration: 0 });
    return (jwt: string) => jwtVerify(jwt, keys, { issuer: metadata.issuer, audience: DEFAULT_AUDIENCE });
  }

  it('verifies a token from signCallerToken against the published JWKS, RS256 and ES256', async () => {
    const stand = await started();
    const verify = await verifier(stand);

    const rs = await verify(await stand.signCallerToken({ roles: ['PartnerCenter.Write'], oid: undefined }));
    const es = await verify(await stand.signCallerToken({}, { alg: 'ES256' }));

    expect(rs.payload).toMatchObject({ tid: DEFAULT_TENANT, roles: ['PartnerCenter.Write'] });
    expect(rs.payload).not.toHaveProperty('oid');
    expect(rs.protectedHeader).toMatchObject({ alg: 'RS256', kid: 'stand-in-rs256-1' });
    expect(es.protectedHeader).toMatchObject({ alg: 'ES256', kid: 'stand-in-es256-1' });
    expect(stand.jwksRequests).toBe(1);
  });

  it('fails verification for each forged token, with the jose error that names why', async () => {
    const stand = await started();
    const verify = await verifier(stand);
    const { forge } = stand;

    await expect(verify(await forge.otherKey())).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    // A key set verifies asymmetric algorithms only: "none" and HS256 are refused before any key is looked at.
    await expect(verify(await forge.none())).rejects.toBeInstanceOf(errors.JOSENotSupported);
    const confused = await forge.hs256WithPublicKey();
    await expect(verify(confused)).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    // It is the real key-confusion token: a naive verifier using the published key's PEM as HMAC secret accepts it.
    const { keys } = (await (await fetch(stand.jwksUri())).json()) as { keys: Array<JWK & { kid: string }> };
    const published = keys.find((key) => key.kid === decodeProtectedHeader(confused).kid);
    if (!published) throw new Error('The forged token names a kid the JWKS does not publish.');
    const pem = await exportSPKI((await importJWK(published, 'RS256')) as CryptoKey);
    await expect(jwtVerify(confused, new TextEncoder().encode(pem))).resolves.toBeDefined();
    await expect(verify(await forge.expired())).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'exp' });
    await expect(verify(await forge.wrongAudience())).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
    await expect(verify(await forge.wrongIssuer())).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'iss',
    });
  });

  it('verifies a token under a rotated key once the JWKS is fetched again, and the old key stays published', async () => {
    const stand = await started();
    const verify = await verifier(stand);
    await verify(await stand.signCallerToken());
    const before = stand.jwksRequests;

    const kid = await stand.rotateKeys();
    const rotated = await stand.signCallerToken();

    expect(decodeProtectedHeader(rotated).kid).toBe(kid);
    expect((await verify(rotated)).protectedHeader.kid).toBe(kid);
    expect(stand.jwksRequests).toBe(before + 1);
    expect(stand.publishedKids()).toEqual(['stand-in-rs256-1', 'stand-in-es256-1', kid]);
    await expect(verify(await stand.signCallerToken({}, { kid: 'stand-in-rs256-1' }))).resolves.toBeDefined();
  });
});
