// PARTNER_CENTER_CLOUD picks the cloud's official URL and its rules: the
// 21Vianet and US Government clouds have no MCA status, so mcaDirectlySigned
// is null with NOT_SUPPORTED_IN_CLOUD there, without an upstream call.

import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { type Cloud, ConfigError, loadConfig } from '../src/config/config';
import { useUpstream } from './support/fixtures';
import { customerId, startGateway, TOKEN } from './support/gateway';
import { unsignedJwt } from './support/tokens';

const PUBLIC_URL = 'https://api.partnercenter.microsoft.com';
const CHINA_URL = 'https://partner.partnercenterapi.microsoftonline.cn';

describe('configuration', () => {
  it('uses the 21Vianet base URL for PARTNER_CENTER_CLOUD=china', () => {
    expect(loadConfig({ PARTNER_CENTER_CLOUD: 'china' })).toMatchObject({ cloud: 'china', baseUrl: CHINA_URL });
  });

  it('uses the public base URL for usgov and public, and reads the cloud in any case', () => {
    expect(loadConfig({ PARTNER_CENTER_CLOUD: 'usgov' })).toMatchObject({ cloud: 'usgov', baseUrl: PUBLIC_URL });
    expect(loadConfig({ PARTNER_CENTER_CLOUD: 'public' })).toMatchObject({ cloud: 'public', baseUrl: PUBLIC_URL });
    expect(loadConfig({ PARTNER_CENTER_CLOUD: ' China ' })).toMatchObject({ cloud: 'china', baseUrl: CHINA_URL });
  });

  it("lets PARTNER_CENTER_BASE_URL override the cloud's URL while the cloud's rules still apply", () => {
    const config = loadConfig({
      PARTNER_CENTER_CLOUD: 'china',
      PARTNER_CENTER_BASE_URL: 'https://pc-proxy.example/v1/',
    });
    expect(config).toMatchObject({ cloud: 'china', baseUrl: 'https://pc-proxy.example' });
  });

  it('defaults to the public cloud and treats an empty cloud as unset', () => {
    expect(loadConfig({ PARTNER_CENTER_BASE_URL: PUBLIC_URL }).cloud).toBe('public');
    expect(loadConfig({ PARTNER_CENTER_CLOUD: '' })).toMatchObject({ cloud: 'public', baseUrl: undefined });
  });

  it('refuses an unknown cloud with a message naming the valid ones', () => {
    expect(() => loadConfig({ PARTNER_CENTER_CLOUD: 'germany' })).toThrow(ConfigError);
    expect(() => loadConfig({ PARTNER_CENTER_CLOUD: 'germany' })).toThrow(/public, usgov, china.*"germany"/);
  });
});

describe('the china cloud on the wire', () => {
  it('calls the 21Vianet host for qualifications and never for MCA status', async () => {
    const config = loadConfig({ PARTNER_CENTER_CLOUD: 'china' });
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get(CHINA_URL)
      .intercept({ path: `/v1/customers/${customerId(1)}/qualifications`, method: 'GET' })
      .reply(200, [{ qualification: 'StateOwnedEntity' }], { headers: { 'content-type': 'application/json' } });
    const gw = await startGateway(config.baseUrl as string, { cloud: config.cloud }, { dispatcher: agent });
    try {
      const response = await gw.query(
        `{ customer(id: "${customerId(1)}") { qualifications { kind } mcaDirectlySigned } }`,
      );
      expect(response.body.data).toEqual({
        customer: { qualifications: [{ kind: 'STATE_OWNED_ENTITY' }], mcaDirectlySigned: null },
      });
      expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_SUPPORTED_IN_CLOUD']);
      // Every interceptor was used exactly once: one qualifications call to the 21Vianet host, nothing else.
      agent.assertNoPendingInterceptors();
    } finally {
      await gw.close();
      await agent.close();
    }
  });
});

describe('cloud rules', () => {
  const { upstream, gatewayWith } = useUpstream();
  const gatewayIn = (cloud: Cloud) => gatewayWith({ cloud });
  const ids = [1, 2, 3].map(customerId);
  const READ = `{ customers(ids: ${JSON.stringify(ids)}) { id qualifications { kind } mcaDirectlySigned } }`;

  for (const cloud of ['china', 'usgov'] as const) {
    it(`answers mcaDirectlySigned with null and NOT_SUPPORTED_IN_CLOUD in ${cloud}, with no call, while qualifications resolve`, async () => {
      const gw = await gatewayIn(cloud);
      const response = await gw.query(READ);
      expect(response.body.data).toEqual({
        customers: ids.map((id) => ({ id, qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: null })),
      });
      expect(response.body.errors).toHaveLength(3);
      for (const [index, error] of (response.body.errors ?? []).entries()) {
        expect(error.path).toEqual(['customers', index, 'mcaDirectlySigned']);
        expect(error.extensions).toEqual({ code: 'NOT_SUPPORTED_IN_CLOUD' });
        expect(error.message).toContain(`${cloud} cloud`);
      }
      expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(0);
      expect(upstream.callsTo('qualifications')).toHaveLength(3);
    });

    it(`says NOT_SUPPORTED_IN_CLOUD rather than FORBIDDEN to an app-only token in ${cloud}`, async () => {
      const gw = await gatewayIn(cloud);
      const appOnly = unsignedJwt({ idtyp: 'app' });
      const response = await gw.query(`{ customer(id: "${customerId(1)}") { mcaDirectlySigned } }`, undefined, {
        authorization: appOnly,
      });
      expect(response.body.errors?.[0]?.extensions?.code).toBe('NOT_SUPPORTED_IN_CLOUD');
      expect(upstream.calls).toHaveLength(0);
    });

    it(`still adds qualifications in ${cloud}`, async () => {
      const gw = await gatewayIn(cloud);
      const response = await gw.query(
        `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      );
      expect(response.body).toEqual({
        data: { addCustomerQualification: { qualification: { kind: 'STATE_OWNED_ENTITY' } } },
      });
      expect(upstream.calls.map((call) => call.method)).toEqual(['POST']);
    });
  }

  it('reads mcaDirectlySigned in the public cloud', async () => {
    const gw = await gatewayIn('public');
    const response = await gw.query(READ, undefined, { authorization: TOKEN });
    expect(response.body.errors).toBeUndefined();
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(3);
  });
});
