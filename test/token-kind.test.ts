// mcaDirectlySigned and addCustomerQualification need an App+User token. A
// JWT that is plainly app-only is refused on those fields with FORBIDDEN and
// no upstream call; qualifications (App-only accepted) still resolve.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { unsignedJwt } from './support/tokens';

/** An unsigned JWT (header.payload.signature, base64url) carrying the given claims. */
function jwt(claims: Record<string, unknown>): string {
  return unsignedJwt({ aud: 'https://api.partnercenter.microsoft.com', ...claims }, { alg: 'none', typ: 'JWT' });
}

const APP_ONLY: Record<string, string> = {
  'idtyp app': jwt({ idtyp: 'app', appid: 'a1b2', roles: ['Partner.Read'] }),
  'appid and roles, no scp, no user claims': jwt({ appid: 'a1b2', roles: ['Partner.Read'], tid: 't' }),
  'azp only (v2 token), no scp': jwt({ azp: 'a1b2', tid: 't' }),
  'idtyp app, two spaces after Bearer': jwt({ idtyp: 'app', appid: 'a1b2' }).replace('Bearer ', 'Bearer  '),
};

const APP_USER: Record<string, string> = {
  'scp and upn': jwt({ appid: 'a1b2', scp: 'user_impersonation', upn: 'admin@contoso.onmicrosoft.com' }),
  'idtyp user': jwt({ idtyp: 'user', azp: 'a1b2' }),
  'appid with a user claim but no scp': jwt({ appid: 'a1b2', preferred_username: 'admin@contoso.com' }),
};

const NOT_A_JWT: Record<string, string> = {
  'an opaque token': 'Bearer opaque-token-123',
  'a payload that is not JSON': 'Bearer aGVhZGVy.bm90IGpzb24.c2ln',
  'claims that are not an object': `Bearer eyJhbGciOiJub25lIn0.${Buffer.from('"app"').toString('base64url')}.c2ln`,
};

const { upstream, gw } = useGateway();

const READ = `{ customers(ids: ["${customerId(1)}", "${customerId(2)}"]) { id qualifications { kind } mcaDirectlySigned } }`;
const ADD = `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: EDUCATION, educationSegment: K12 }) { qualification { kind vettingStatus } } }`;

describe('app-only tokens', () => {
  for (const [name, token] of Object.entries(APP_ONLY)) {
    it(`refuses mcaDirectlySigned with FORBIDDEN and no call, and still reads qualifications (${name})`, async () => {
      const response = await gw.query(READ, undefined, { authorization: token });
      expect(response.body.data).toEqual({
        customers: [
          { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: null },
          { id: customerId(2), qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: null },
        ],
      });
      expect(response.body.errors).toHaveLength(2);
      for (const [index, error] of (response.body.errors ?? []).entries()) {
        expect(error.path).toEqual(['customers', index, 'mcaDirectlySigned']);
        expect(error.extensions?.code).toBe('FORBIDDEN');
        expect(error.message).toBe('mcaDirectlySigned needs an App+User token; the token sent is app-only.');
      }
      expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(0);
      expect(upstream.callsTo('qualifications')).toHaveLength(2);
      for (const call of upstream.calls) expect(call.headers.authorization).toBe(token);
    });

    it(`refuses addCustomerQualification with FORBIDDEN and posts nothing (${name})`, async () => {
      const response = await gw.query(ADD, undefined, { authorization: token });
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors?.[0]?.path).toEqual(['addCustomerQualification']);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(response.body.errors?.[0]?.message).toMatch(/needs an App\+User token/);
      expect(upstream.calls).toHaveLength(0);
    });
  }

  it('still checks the input first: a bad id is BAD_USER_INPUT whatever the token', async () => {
    const response = await gw.query(
      'mutation { addCustomerQualification(input: { customerId: "nope", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }',
      undefined,
      { authorization: APP_ONLY['idtyp app'] as string },
    );
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('App+User tokens and tokens the gateway cannot read', () => {
  for (const [name, token] of Object.entries({ ...APP_USER, ...NOT_A_JWT })) {
    it(`reads mcaDirectlySigned and posts the mutation (${name})`, async () => {
      const read = await gw.query(READ, undefined, { authorization: token });
      expect(read.body).toEqual({
        data: {
          customers: [
            { id: customerId(1), qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: true },
            { id: customerId(2), qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: true },
          ],
        },
      });
      expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(2);
      const add = await gw.query(ADD, undefined, { authorization: token });
      expect(add.body).toEqual({
        data: { addCustomerQualification: { qualification: { kind: 'EDUCATION', vettingStatus: 'IN_REVIEW' } } },
      });
      expect(upstream.callsTo('qualifications').filter((call) => call.method === 'POST')).toHaveLength(1);
      for (const call of upstream.calls) expect(call.headers.authorization).toBe(token);
    });
  }
});
