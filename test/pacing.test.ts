import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/observability/logger';
import { createPacer, type Pacer } from '../src/quota/pacing';
import { createSharedRedis } from '../src/quota/redis';
import { startFaultProxy } from './support/fault-proxy';
import { useUpstream } from './support/fixtures';
import { customerIds } from './support/gateway';
import { recordEvents } from './support/quota';
import { type RedisServer, startRedis } from './support/redis-server';
import { defaultHandler, json } from './support/upstream';

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

  it('gives the turn of a call answered 401 back: the next call of the minute goes', async () => {
    const gw = await gatewayWith({ ratePerMinute: 1, requestBudgetMs: 3_000, maxAttempts: 1 });
    let refuse = true;
    upstream.setHandler((call, res, attempt) => {
      if (!refuse) return defaultHandler(call, res, attempt);
      refuse = false;
      return json(res, 401, { code: 900, description: 'Token is expired' });
    });
    const refused = await gw.query(QUALIFICATIONS_OF, { ids: customerIds(1, 40) });
    expect(refused.body.errors?.[0]?.extensions?.code).not.toBe('UPSTREAM_THROTTLED');
    const next = await gw.query(QUALIFICATIONS_OF, { ids: customerIds(1, 41) });
    expect(next.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
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

describe("the partner's turns in the window (what the sync leaves free for requests)", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Takes `n` turns of the partner (partner-a), each allowed to wait up to a minute. */
  const take = async (pacer: ReturnType<typeof createPacer>, n: number, partner = 'partner-a') => {
    for (let i = 0; i < n; i++) {
      const reservation = await pacer.reserve(partner, 60_000);
      if (!('turn' in reservation)) throw new Error('no turn');
    }
  };

  it('counts taken and reserved turns, per partner, and drops those a window old', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 3, windowMs: 300 });
      // 3 taken now, 2 reserved for when the first ones leave the window.
      await take(pacer, 5);
      expect(await pacer.turnsInWindow('partner-a')).toBe(5);
      expect(await pacer.turnsInWindow('partner-b')).toBe(0);
      // The 2 reserved ones waited for the window; a turn refused is not counted.
      expect(await pacer.queuedTurns('partner-a')).toBe(2);
      expect('refusedMs' in (await pacer.reserve('partner-a', 0))).toBe(true);
      expect(await pacer.queuedTurns('partner-a')).toBe(2);
      expect(await pacer.queuedTurns('partner-b')).toBe(0);
      // A turn stamped at ms m counts through m + 300 (its call left somewhere in that ms).
      vi.advanceTimersByTime(300);
      expect(await pacer.turnsInWindow('partner-a')).toBe(5);
      vi.advanceTimersByTime(1);
      // The 3 first left the window; the 2 reserved ones (for 311 ms from the start: a queued turn comes 10 ms after
      // the one it waits for frees) count through 611 ms.
      expect(await pacer.turnsInWindow('partner-a')).toBe(2);
      vi.advanceTimersByTime(310);
      expect(await pacer.turnsInWindow('partner-a')).toBe(2);
      vi.advanceTimersByTime(1);
      expect(await pacer.turnsInWindow('partner-a')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('moves a turn whose call leaves late to when it left, and keeps one that leaves on time', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 1, windowMs: 1_000 });
      const first = await pacer.reserve('partner-a', 0);
      if (!('turn' in first)) throw new Error('no turn');
      expect(first.turn.at).toBe(1_000_000);
      // Its call leaves 30 ms late (a timer or the event loop ran late): the next turn is a minute after that, 1 ms
      // more (a call stamped at ms m left somewhere in it: one stamped m + 1000 could leave less than 1 s later), and
      // the 10 ms a queued turn waits past the one it waits for.
      vi.advanceTimersByTime(30);
      first.turn.leaving();
      const second = await pacer.reserve('partner-a', 5_000);
      if (!('turn' in second)) throw new Error('no turn');
      expect(second.turn.at).toBe(1_000_000 + 30 + 1_001 + 10);
      // This one leaves on time: the next counts from its turn.
      vi.setSystemTime(second.turn.at);
      second.turn.leaving();
      const third = await pacer.reserve('partner-a', 5_000);
      expect('turn' in third && third.turn.at).toBe(second.turn.at + 1_011);
      // A turn moved is still the one a refund gives back.
      vi.setSystemTime(second.turn.at + 10);
      if ('turn' in third) third.turn.refund();
      expect(await pacer.turnsInWindow('partner-a')).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('puts a late turn back in order before a turn reserved after it', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 1, windowMs: 1_000 });
      const first = await pacer.reserve('partner-a', 0);
      const second = await pacer.reserve('partner-a', 5_000);
      if (!('turn' in first) || !('turn' in second)) throw new Error('no turn');
      expect(second.turn.at).toBe(1_000_000 + 1_011);
      // The first call leaves 30 ms late: its turn moves to then, still before the second, so the third waits for
      // the second (the last one), not for the moved first.
      vi.advanceTimersByTime(30);
      first.turn.leaving();
      const third = await pacer.reserve('partner-a', 5_000);
      expect('turn' in third && third.turn.at).toBe(second.turn.at + 1_011);
      expect(await pacer.turnsInWindow('partner-a')).toBe(3);
      // Past the moved first's window, the second and third still count.
      vi.advanceTimersByTime(1_010);
      expect(await pacer.turnsInWindow('partner-a')).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('puts a late turn back after the turns that left before it and before those reserved later', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 2, windowMs: 1_000 });
      const turns = [];
      for (let i = 0; i < 4; i++) {
        const reservation = await pacer.reserve('partner-a', 5_000);
        if (!('turn' in reservation)) throw new Error('no turn');
        turns.push(reservation.turn);
      }
      expect(turns.map((turn) => turn.at)).toEqual([1_000_000, 1_000_000, 1_001_011, 1_001_011]);
      // The second leaves 30 ms late; the first left on time.
      vi.advanceTimersByTime(30);
      turns[1]?.leaving();
      // The first leaves the window first, then the moved second, and the two reserved ones stay.
      vi.setSystemTime(1_001_001);
      expect(await pacer.turnsInWindow('partner-a')).toBe(3);
      vi.setSystemTime(1_001_031);
      expect(await pacer.turnsInWindow('partner-a')).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives a new turn no earlier than the last one reserved, after the turns before it were given back', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 2, windowMs: 1_000 });
      const turns = [];
      for (let i = 0; i < 3; i++) {
        const reservation = await pacer.reserve('partner-a', 5_000);
        if (!('turn' in reservation)) throw new Error('no turn');
        turns.push(reservation.turn);
      }
      expect(turns.map((turn) => turn.at)).toEqual([1_000_000, 1_000_000, 1_001_011]);
      turns[0]?.refund();
      turns[1]?.refund();
      const next = await pacer.reserve('partner-a', 5_000);
      expect('turn' in next && next.turn.at).toBe(1_001_011);
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves a forgotten log forgotten: a late turn of a partner the LRU dropped brings nothing back', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pacer = createPacer({ limit: 5, windowMs: 1_000, maxPartners: 1 });
      const old = await pacer.reserve('partner-a', 0);
      if (!('turn' in old)) throw new Error('no turn');
      // partner-b's turn pushes partner-a's log out; partner-a then starts a new one.
      await pacer.reserve('partner-b', 0);
      vi.advanceTimersByTime(20);
      for (let i = 0; i < 3; i++) await pacer.reserve('partner-a', 0);
      old.turn.leaving();
      expect(await pacer.turnsInWindow('partner-a')).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('moves a late turn in Redis too, to Redis’s clock', async () => {
    const redis = createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 });
    try {
      await new Promise<void>((resolve) => redis.onReconnect(resolve));
      const pacer = createPacer({ limit: 10, redis });
      const reservation = await pacer.reserve('partner-late', 0);
      if (!('turn' in reservation)) throw new Error('no turn');
      const [, planned] = await server.client.zrange('pcgw:pace:partner-late', 0, -1, 'WITHSCORES');
      await new Promise((resolve) => setTimeout(resolve, 40));
      reservation.turn.leaving();
      let moved = Number(planned);
      for (let tries = 0; tries < 100 && moved === Number(planned); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        moved = Number((await server.client.zrange('pcgw:pace:partner-late', 0, -1, 'WITHSCORES'))[1]);
      }
      expect(moved - Number(planned)).toBeGreaterThanOrEqual(40);
    } finally {
      await redis.close();
    }
  });

  it('queues a turn in Redis 10 ms past the minute after the one it waits for, and a free one not at all', async () => {
    const redis = createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 });
    try {
      await new Promise<void>((resolve) => redis.onReconnect(resolve));
      const pacer = createPacer({ limit: 2, windowMs: 1_000, redis });
      // Two free turns: both now, by Redis's clock. The third waits for the first to leave the window.
      for (let i = 0; i < 3; i++) {
        const reservation = await pacer.reserve('partner-gap', 5_000);
        if (!('turn' in reservation)) throw new Error('no turn');
      }
      const scores = (await server.client.zrange('pcgw:pace:partner-gap', 0, -1, 'WITHSCORES'))
        .filter((_, index) => index % 2 === 1)
        .map(Number);
      expect(scores).toHaveLength(3);
      expect((scores[1] as number) - (scores[0] as number)).toBeLessThan(50);
      expect((scores[2] as number) - (scores[0] as number)).toBe(1_000 + 1 + 10);
    } finally {
      await redis.close();
    }
  });

  it('gives a queued turn in Redis for when it comes, and gives a turn back in Redis', async () => {
    const redis = createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 });
    try {
      await new Promise<void>((resolve) => redis.onReconnect(resolve));
      const pacer = createPacer({ limit: 1, windowMs: 1_000, redis });
      const first = await pacer.reserve('partner-back', 5_000);
      const second = await pacer.reserve('partner-back', 5_000);
      if (!('turn' in first) || !('turn' in second)) throw new Error('no turn');
      expect(second.turn.at - first.turn.at).toBeGreaterThan(900);
      expect(second.turn.at - first.turn.at).toBeLessThan(1_100);
      expect(await pacer.turnsInWindow('partner-back')).toBe(2);
      second.turn.refund();
      let count = await pacer.turnsInWindow('partner-back');
      for (let tries = 0; tries < 100 && count !== 1; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        count = await pacer.turnsInWindow('partner-back');
      }
      expect(count).toBe(1);
    } finally {
      await redis.close();
    }
  });

  it('paces locally while Redis does not answer, and writes the turn it took to Redis once it answers', async () => {
    const proxy = await startFaultProxy({ port: server.port });
    const redis = createSharedRedis(proxy.url, silentLogger, { commandTimeoutMs: 100, backgroundTimeoutMs: 200 });
    try {
      await new Promise<void>((resolve) => redis.onReconnect(resolve));
      const pacer = createPacer({ limit: 5, windowMs: 60_000, redis });
      proxy.blackhole();
      const reservation = await pacer.reserve('partner-away', 0);
      if (!('turn' in reservation)) throw new Error('no turn');
      expect(await pacer.queuedTurns('partner-away')).toBeUndefined();
      expect(await server.client.zcard('pcgw:pace:partner-away')).toBe(0);
      proxy.heal();
      let scores: string[] = [];
      for (let tries = 0; tries < 200 && scores.length === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        scores = await server.client.zrange('pcgw:pace:partner-away', 0, -1, 'WITHSCORES');
      }
      expect(scores).toHaveLength(2);
      expect(Number(scores[1])).toBe(reservation.turn.at);
      // The log lives as long as that turn counts: a window and a ms past it, no longer.
      const ttl = await server.client.pttl('pcgw:pace:partner-away');
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_001);
    } finally {
      await redis.close();
      await proxy.close();
    }
  });

  it('counts the turns that waited for the window, every replica’s through Redis', async () => {
    const redis = [0, 1].map(() => createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 }));
    try {
      await Promise.all(redis.map((r) => new Promise<void>((resolve) => r.onReconnect(resolve))));
      const [a, b] = redis.map((r) => createPacer({ limit: 2, windowMs: 60_000, redis: r })) as [Pacer, Pacer];
      expect(await a.queuedTurns('partner-q')).toBe(0);
      // Two turns now, then one from each replica that waits for the window; a turn refused (too far) is not one.
      await take(a, 2, 'partner-q');
      expect(await b.queuedTurns('partner-q')).toBe(0);
      for (const pacer of [a, b]) expect('turn' in (await pacer.reserve('partner-q', 120_000))).toBe(true);
      expect('refusedMs' in (await b.reserve('partner-q', 0))).toBe(true);
      expect(await a.queuedTurns('partner-q')).toBe(2);
      expect(await b.queuedTurns('partner-q')).toBe(2);
      expect(await b.queuedTurns('partner-other')).toBe(0);
    } finally {
      await Promise.all(redis.map((r) => r.close()));
    }
  });

  it('counts every replica’s turns through Redis', async () => {
    const redis = [0, 1].map(() => createSharedRedis(server.url, silentLogger, { commandTimeoutMs: 2_000 }));
    try {
      await Promise.all(redis.map((r) => new Promise<void>((resolve) => r.onReconnect(resolve))));
      const [a, b] = redis.map((r) => createPacer({ limit: 10, redis: r }));
      await take(a as ReturnType<typeof createPacer>, 4);
      await take(b as ReturnType<typeof createPacer>, 3);
      expect(await a?.turnsInWindow('partner-a')).toBe(7);
      expect(await b?.turnsInWindow('partner-a')).toBe(7);
      expect(await b?.turnsInWindow('partner-b')).toBe(0);
    } finally {
      await Promise.all(redis.map((r) => r.close()));
    }
  });
});
