// Partner Center refuses App+User tokens whose sign-in lacked multi-factor
// authentication: its 401 with code 900421, or with text saying MFA is
// required, reaches the caller as UNAUTHENTICATED with reason MFA_REQUIRED and
// a message saying what to do; any other 401 stays a plain UNAUTHENTICATED.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';
import { json } from './support/upstream';

const QUALIFICATIONS = 'query ($id: ID!) { customer(id: $id) { qualifications { kind } } }';
const MESSAGE =
  'Partner Center needs an App+User token from a sign-in with multi-factor authentication (MFA): sign in again with MFA and send the new token (a gateway that signs in itself: consent again with MFA and set the new refresh token).';

describe('MFA required', () => {
  const { upstream, gw } = useGateway();

  it.each([
    ['code 900421', { code: 900421, description: 'Unauthorized', data: [], source: 'PartnerFD' }],
    ['the code as text', { code: '900421', message: 'Denied', errorName: 'Unauthorized', isRetryable: false }],
    [
      'text about multi-factor authentication',
      { code: 600001, description: 'Multi-factor authentication is required for this request.' },
    ],
    ['text naming MFA', { statusCode: 401, message: 'The token lacks the MFA claim.' }],
  ])('maps a 401 with %s to UNAUTHENTICATED MFA_REQUIRED, without retrying', async (_name, answer) => {
    upstream.setHandler((_call, res) => json(res, 401, answer));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) });
    const calls = upstream.callsTo('qualifications', customerId(1));
    expect(calls).toHaveLength(1);
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toBe(MESSAGE);
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'MFA_REQUIRED',
      upstream: { status: 401, requestId: calls[0]?.headers['ms-requestid'] },
    });
  });

  it('keeps any other 401 a plain UNAUTHENTICATED with no reason', async () => {
    upstream.setHandler((_call, res) => json(res, 401, { code: 900401, description: 'The token has expired.' }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(2) });
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.errors?.[0]?.extensions).not.toHaveProperty('reason');
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 401: The token has expired.');
  });
});
