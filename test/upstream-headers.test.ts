// What Partner Center receives on every call: the caller's token unchanged,
// one correlation id per GraphQL request, a fresh request id per call, and
// the fixed identification headers, on the canonical path.

import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';
import { customerId, startGateway } from './support/gateway';
import { startUpstream } from './support/upstream';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const BOTH_RESOURCES = `query ($ids: [ID!]!) { customers(ids: $ids) { id mcaDirectlySigned qualifications { kind } } }`;

describe('upstream request headers', () => {
  const { upstream, gw } = useGateway({ applicationName: 'contoso-portal', locale: 'en-US' });

  it('forwards the Authorization header unchanged, byte for byte', async () => {
    const authorization = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzY3AiOiJ1c2VyX2ltcGVyc29uYXRpb24ifQ.c2lnbmF0dXJl';
    const response = await gw.query(BOTH_RESOURCES, { ids: [customerId(1)] }, { authorization });

    expect(response.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    for (const call of upstream.calls) expect(call.headers.authorization).toBe(authorization);
  });

  it('sends Accept: application/json, MS-PartnerCenter-Application and X-Locale on every call', async () => {
    await gw.query(BOTH_RESOURCES, { ids: [customerId(1), customerId(2)] });

    expect(upstream.calls).toHaveLength(4);
    for (const call of upstream.calls) {
      expect(call.method).toBe('GET');
      expect(call.headers.accept).toBe('application/json');
      expect(call.headers['ms-partnercenter-application']).toBe('contoso-portal');
      expect(call.headers['x-locale']).toBe('en-US');
      // A GET carries no body, so no Content-Type either.
      expect(call.headers['content-type']).toBeUndefined();
    }
  });

  it("sends the caller's MS-CorrelationId on every call and echoes it in the response", async () => {
    const correlationId = '7d3c2b1a-0000-4abc-8def-0123456789ab';
    const response = await gw.query(
      BOTH_RESOURCES,
      { ids: [customerId(1), customerId(2)] },
      { 'ms-correlationid': correlationId },
    );

    expect(response.headers.get('ms-correlationid')).toBe(correlationId);
    expect(upstream.calls).toHaveLength(4);
    for (const call of upstream.calls) expect(call.headers['ms-correlationid']).toBe(correlationId);
  });

  it('makes one new correlation id per request when the caller sends none, shared by its calls and echoed', async () => {
    const first = await gw.query(BOTH_RESOURCES, { ids: [customerId(1), customerId(2)] });
    const firstCalls = upstream.calls.splice(0);
    const second = await gw.query(BOTH_RESOURCES, { ids: [customerId(1)] });

    const echoed = first.headers.get('ms-correlationid');
    expect(echoed).toMatch(GUID);
    expect(firstCalls).toHaveLength(4);
    for (const call of firstCalls) expect(call.headers['ms-correlationid']).toBe(echoed);

    const secondEchoed = second.headers.get('ms-correlationid');
    expect(secondEchoed).toMatch(GUID);
    expect(secondEchoed).not.toBe(echoed);
    for (const call of upstream.calls) expect(call.headers['ms-correlationid']).toBe(secondEchoed);
  });

  it('replaces a correlation id that is not a GUID with a new one', async () => {
    const response = await gw.query(BOTH_RESOURCES, { ids: [customerId(1)] }, { 'ms-correlationid': 'not-a-guid' });

    const echoed = response.headers.get('ms-correlationid');
    expect(echoed).toMatch(GUID);
    for (const call of upstream.calls) expect(call.headers['ms-correlationid']).toBe(echoed);
  });

  it('echoes the correlation id even when the request makes no upstream call', async () => {
    const correlationId = '11111111-2222-4333-8444-555555555555';
    const response = await gw.query(
      `query { customer(id: "${customerId(1)}") { id } }`,
      {},
      { 'ms-correlationid': correlationId },
    );

    expect(upstream.calls).toHaveLength(0);
    expect(response.headers.get('ms-correlationid')).toBe(correlationId);
  });

  it('sends a distinct MS-RequestId GUID on every call', async () => {
    const ids = [customerId(1), customerId(2), customerId(3)];
    await gw.query(BOTH_RESOURCES, { ids });

    const requestIds = upstream.calls.map((call) => call.headers['ms-requestid']);
    expect(requestIds).toHaveLength(6);
    for (const requestId of requestIds) expect(requestId).toMatch(GUID);
    expect(new Set(requestIds).size).toBe(6);
  });

  it('calls /v1/customers/{id}/... with the canonical lower-case id for an upper-case braced id', async () => {
    const id = 'ABCDEF01-2345-4678-9ABC-DEF012345678';
    await gw.query(BOTH_RESOURCES, { ids: [`{${id}}`] });

    expect(upstream.calls.map((call) => call.path).sort()).toEqual([
      `/v1/customers/${id.toLowerCase()}/directSignedMicrosoftCustomerAgreementStatus`,
      `/v1/customers/${id.toLowerCase()}/qualifications`,
    ]);
  });
});

describe('upstream base URL with a path prefix', () => {
  it('keeps the path prefix of the configured base URL', async () => {
    const upstream = await startUpstream();
    const gw = await startGateway(`${upstream.url}/partner-center`);
    try {
      await gw.query(`query { customer(id: "${customerId(5)}") { qualifications { kind } } }`);
      expect(upstream.calls.map((call) => call.path)).toEqual([
        `/partner-center/v1/customers/${customerId(5)}/qualifications`,
      ]);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
