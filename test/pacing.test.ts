import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerIds } from './support/gateway';
import { recordEvents } from './support/quota';

const QUALIFICATIONS_OF = /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`;

describe('pacing', () => {
  const { upstream, gatewayWith } = useUpstream();

  it('sends at most PARTNER_CENTER_RATE_PER_MINUTE calls and fails the rest at once with UPSTREAM_THROTTLED, without a call', async () => {
    const events = recordEvents();
    const gw = await gatewayWith({ ratePerMinute: 3, requestBudgetMs: 3_000 }, { events });
    const { body } = await gw.query(QUALIFICATIONS_OF, { ids: customerIds(5, 1) });
    expect(upstream.calls).toHaveLength(3);
    const throttled = body.errors ?? [];
    expect(throttled.map((error) => error.extensions?.code)).toEqual(['UPSTREAM_THROTTLED', 'UPSTREAM_THROTTLED']);
    for (const error of throttled) {
      expect(error.extensions?.retryAfterSeconds).toBeGreaterThan(55);
      expect(error.extensions?.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    expect(events.throttles).toEqual(['pacing', 'pacing']);

    // The minute is spent for the partner: a later request makes no call at all.
    const later = await gw.query(QUALIFICATIONS_OF, { ids: customerIds(1, 10) });
    expect(later.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(upstream.calls).toHaveLength(3);
  });

  it('makes a call beyond the rate wait for its turn when it comes within the budget', async () => {
    // A 1 s window stands for the minute (time compressed, as in bench/quota.ts): 2 calls per second.
    const gw = await gatewayWith({ ratePerMinute: 2, requestBudgetMs: 10_000 }, { quota: { pacingWindowMs: 1_000 } });
    const { body } = await gw.query(QUALIFICATIONS_OF, { ids: customerIds(6, 20) });
    expect(body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(6);
    const at = upstream.calls.map((call) => call.at);
    // The gateway lets the third call go a full window after the first; arrival adds only the loopback send delay,
    // which this bound allows for generously.
    for (let i = 0; i + 2 < at.length; i++) expect((at[i + 2] as number) - (at[i] as number)).toBeGreaterThan(800);
  });

  it('paces per partner: another tenant keeps its own budget', async () => {
    const gw = await gatewayWith({ ratePerMinute: 1, requestBudgetMs: 3_000 });
    await gw.query(QUALIFICATIONS_OF, { ids: customerIds(1, 30) }, { authorization: 'Bearer pacing-tenant-one' });
    const other = await gw.query(
      QUALIFICATIONS_OF,
      { ids: customerIds(1, 31) },
      { authorization: 'Bearer pacing-tenant-two' },
    );
    expect(other.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
  });
});
