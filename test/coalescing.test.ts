import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { abandonable, held, recordEvents, until } from './support/quota';
import { defaultHandler } from './support/upstream';

const BOTH_FIELDS = /* GraphQL */ `query ($id: ID!) { customer(id: $id) { id qualifications { kind } mcaDirectlySigned } }`;
const ANSWER = (id: string) => ({
  data: { customer: { id, qualifications: [{ kind: 'EDUCATION' }], mcaDirectlySigned: true } },
});

describe('coalescing', () => {
  const { upstream, gatewayWith } = useUpstream();

  it('shares one upstream call per resource among five concurrent requests of one token for the same customer', async () => {
    const answers = held(defaultHandler);
    upstream.setHandler(answers.handler);
    const events = recordEvents();
    const gw = await gatewayWith({}, { events });
    const id = customerId(1);
    const responses = Promise.all(Array.from({ length: 5 }, () => gw.query(BOTH_FIELDS, { id })));
    await until('all five requests asked for both resources', () => events.lookups.length === 10);
    answers.release();
    for (const { body } of await responses) expect(body).toEqual(ANSWER(id));
    expect(upstream.callsTo('qualifications', id)).toHaveLength(1);
    expect(upstream.callsTo('directSignedMicrosoftCustomerAgreementStatus', id)).toHaveLength(1);
    expect(events.lookups.filter((lookup) => lookup.result === 'miss')).toHaveLength(2);
    expect(events.lookups.filter((lookup) => lookup.result === 'coalesced')).toHaveLength(8);
  });

  it('never shares a call between two tokens', async () => {
    const answers = held(defaultHandler);
    upstream.setHandler(answers.handler);
    const events = recordEvents();
    const gw = await gatewayWith({}, { events });
    const id = customerId(2);
    const responses = Promise.all([
      gw.query(BOTH_FIELDS, { id }, { authorization: 'Bearer coalescing-one' }),
      gw.query(BOTH_FIELDS, { id }, { authorization: 'Bearer coalescing-two' }),
    ]);
    await until('both requests asked', () => events.lookups.length === 4);
    answers.release();
    for (const { body } of await responses) expect(body).toEqual(ANSWER(id));
    expect(upstream.calls).toHaveLength(4);
    expect(new Set(upstream.calls.map((call) => call.headers.authorization))).toEqual(
      new Set(['Bearer coalescing-one', 'Bearer coalescing-two']),
    );
  });

  it('keeps a shared call going for the request still waiting when the request that started it goes away', async () => {
    const answers = held(defaultHandler);
    let closedUnanswered = 0;
    upstream.setHandler(async (call, res, attempt) => {
      res.on('close', () => {
        if (!res.writableFinished) closedUnanswered++;
      });
      await answers.handler(call, res, attempt);
    });
    const events = recordEvents();
    const gw = await gatewayWith({}, { events });
    const id = customerId(3);
    const first = abandonable(gw.url, BOTH_FIELDS, { id });
    await until('the first request called Partner Center', () => upstream.calls.length === 2);
    const second = gw.query(BOTH_FIELDS, { id });
    await until('the second request joined', () => events.lookups.length === 4);
    first.abandon();
    await until('the gateway saw the first caller go', () => gw.disconnects() === 1);
    answers.release();
    expect((await second).body).toEqual(ANSWER(id));
    expect(upstream.calls).toHaveLength(2);
    expect(closedUnanswered).toBe(0);
  });
});
