// Stale answers from the cache (STALE_IF_ERROR_SECONDS with CACHE_TTL_SECONDS),
// in forward mode, where there is no snapshot: once an answer's TTL has passed
// it is never served as fresh, but it stands in, listed in extensions.stale,
// for a read Partner Center fails with 503 or 429; never for another token,
// never after the customer changed, never for a 404, never past the setting.

import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { customerId, type RunningGateway, startGateway } from './support/gateway';
import { defaultHandler, json, type RecordedCall, startUpstream, TEMPLATE_ID, type Upstream } from './support/upstream';

const QUALIFICATIONS = 'query ($id: ID!) { customer(id: $id) { qualifications { kind vettingStatus } } }';
const OTHER_TOKEN = 'Bearer another-token';

let upstream: Upstream;
let failWith: number | undefined;
let running: RunningGateway | undefined;

function handler(call: RecordedCall, res: ServerResponse, attempt: number) {
  if (failWith !== undefined && call.method === 'GET') {
    return json(res, failWith, { code: failWith, description: 'Failing on purpose.' }, { 'retry-after': '30' });
  }
  return defaultHandler(call, res, attempt);
}

beforeAll(async () => {
  upstream = await startUpstream(handler);
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.calls.length = 0;
  failWith = undefined;
});
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function gateway(staleIfErrorSeconds = 60) {
  // One attempt, so a failure is the failure of the read.
  running = await startGateway(upstream.url, { cacheTtlSeconds: 1, staleIfErrorSeconds, maxAttempts: 1 });
  return running;
}

/** Reads once (cached for 1 s), then waits the TTL out: the answer is kept, no longer fresh. */
async function readThenExpire(gw: RunningGateway, id: string) {
  const { body } = await gw.query(QUALIFICATIONS, { id });
  expect(body.errors).toBeUndefined();
  await sleep(1_100);
}

describe('stale answers from the cache', () => {
  it('serves the kept answer for a 503 after its TTL, listed in extensions.stale; a fresh read otherwise', async () => {
    const gw = await gateway();
    const id = customerId(1);
    const readAt = Date.now();
    await readThenExpire(gw, id);
    // Past its TTL it is not served as fresh: the next read goes upstream.
    const fresh = await gw.query(QUALIFICATIONS, { id });
    expect(fresh.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    await sleep(1_100);

    failWith = 503;
    const { body } = await gw.query<Record<string, unknown>>(QUALIFICATIONS, { id });
    expect(upstream.calls).toHaveLength(3);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ customer: { qualifications: [{ kind: 'EDUCATION', vettingStatus: 'APPROVED' }] } });
    const stale = (body as { extensions?: { stale?: Array<{ path: unknown[]; syncedAt: string }> } }).extensions?.stale;
    expect(stale?.map((entry) => entry.path)).toEqual([['customer', 'qualifications']]);
    // The time of the second read, the newer one.
    expect(Date.parse(stale?.[0]?.syncedAt ?? '')).toBeGreaterThan(readAt + 1_000);

    failWith = 429;
    const throttled = await gw.query(QUALIFICATIONS, { id });
    expect(throttled.body.errors).toBeUndefined();
  });

  it('never serves one token’s answer to another, nor an answer from before the customer changed', async () => {
    const gw = await gateway();
    const id = customerId(2);
    await readThenExpire(gw, id);
    failWith = 503;
    const other = await gw.query(QUALIFICATIONS, { id }, { authorization: OTHER_TOKEN });
    expect(other.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

    failWith = undefined;
    const added = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${id}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
    );
    expect(added.body.errors?.filter((error) => error.path?.[1] !== 'customer')).toBeUndefined();
    failWith = 503;
    const after = await gw.query(QUALIFICATIONS, { id });
    expect(after.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('serves mcaDirectlySigned from its kept answer for a 503 after its TTL', async () => {
    const gw = await gateway();
    const id = customerId(4);
    const MCA = 'query ($id: ID!) { customer(id: $id) { mcaDirectlySigned } }';
    const first = await gw.query(MCA, { id });
    expect(first.body).toEqual({ data: { customer: { mcaDirectlySigned: true } } });
    await sleep(1_100);

    failWith = 503;
    const { body } = await gw.query<Record<string, unknown>>(MCA, { id });
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus')).toHaveLength(2);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ customer: { mcaDirectlySigned: true } });
    const stale = (body as { extensions?: { stale?: Array<{ path: unknown[] }> } }).extensions?.stale;
    expect(stale?.map((entry) => entry.path)).toEqual([['customer', 'mcaDirectlySigned']]);
  });

  it('serves mcaAcceptance from the kept answers of both its reads for a 503 after their TTL', async () => {
    const gw = await gateway();
    const id = customerId(4);
    const MCA =
      'query ($id: ID!) { customer(id: $id) { mcaAcceptance { accepted directlySigned attestations { templateId } } } }';
    const first = await gw.query(MCA, { id });
    expect(first.body.errors).toBeUndefined();
    await sleep(1_100);
    failWith = 503;
    const { body } = await gw.query(MCA, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual(first.body.data);
    expect(body.data).toEqual({
      customer: {
        mcaAcceptance: { accepted: true, directlySigned: true, attestations: [{ templateId: TEMPLATE_ID }] },
      },
    });
    const stale = (body as { extensions?: { stale?: Array<{ path: unknown[] }> } }).extensions?.stale;
    expect(stale?.map((entry) => entry.path)).toEqual([
      ['customer', 'mcaAcceptance'],
      ['customer', 'mcaAcceptance'],
    ]);
  });

  it('never stands in for a 404, though a kept answer is within STALE_IF_ERROR_SECONDS', async () => {
    const gw = await gateway();
    const id = customerId(3);
    await readThenExpire(gw, id);
    failWith = 404;
    const missing = await gw.query(QUALIFICATIONS, { id });
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((missing.body as { extensions?: unknown }).extensions).toBeUndefined();
    // The same kept answer stands in for a 503.
    failWith = 503;
    expect((await gw.query(QUALIFICATIONS, { id })).body.errors).toBeUndefined();
  });

  it('never stands in past STALE_IF_ERROR_SECONDS', async () => {
    const gw = await gateway(1);
    const id = customerId(3);
    await readThenExpire(gw, id);
    failWith = 503;
    // Read more than a second ago, with one second allowed.
    const late = await gw.query(QUALIFICATIONS, { id });
    expect(late.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
