// The change log itself and following it, without a gateway around them: in
// memory, ids of Redis's shape that keep their order when the clock stands
// still or goes back, trimming by CHANGES_MAX and by age (vitest's fake clock),
// a cursor's standing (kept, expired, never issued), paging, filters and
// listeners; as a Redis Stream on a real redis-server, its trimming, entries
// any replica wrote read back in order, entries it cannot read skipped, and
// changes recorded while Redis is away written once it answers; the feed a
// subscription reads: replay then live with no duplicate at the seam,
// SUBSCRIPTIONS_MAX, the drain, expiry, a subscriber too far behind, turns.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NewChange, RecordedChange } from '../src/customer-base/change';
import { createChangeFeed, type FeedItem, SubscriberTooSlowError } from '../src/customer-base/change-feed';
import {
  type ChangeLog,
  compareIds,
  createMemoryChangeLog,
  createStreamChangeLog,
  isChangeId,
} from '../src/customer-base/change-log';
import { silentLogger } from '../src/observability/logger';
import { createSharedRedis, type SharedRedis } from '../src/quota/redis';
import { customerId } from './support/gateway';
import { captureLogs } from './support/logs';
import { type RedisServer, startRedis } from './support/redis-server';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const change = (n: number, overrides: Partial<NewChange> = {}): NewChange => ({
  kind: 'QUALIFICATION_ADDED',
  source: 'GATEWAY',
  customerId: customerId(n),
  companyName: `Company ${n}`,
  qualification: 'StateOwnedEntity',
  qualificationKind: 'STATE_OWNED_ENTITY',
  vettingStatus: 'IN_REVIEW',
  ...overrides,
});
const recorded = (id: string, n: number, overrides: Partial<NewChange> = {}): RecordedChange => ({
  ...change(n, overrides),
  id,
  at: Number(id.split('-')[0]),
});
const ids = (changes: readonly RecordedChange[]) => changes.map((c) => c.id);

describe('change ids', () => {
  it('compares by ms, then by sequence, as numbers', () => {
    expect(compareIds('2-0', '10-0')).toBeLessThan(0);
    expect(compareIds('10-0', '2-0')).toBeGreaterThan(0);
    expect(compareIds('5-2', '5-10')).toBeLessThan(0);
    expect(compareIds('5-10', '5-2')).toBeGreaterThan(0);
    expect(compareIds('5-3', '5-3')).toBe(0);
    expect(compareIds('6-0', '5-99')).toBeGreaterThan(0);
  });

  it('takes `<ms>-<seq>` of 1 to 16 digits each and nothing else', () => {
    expect(['0-0', '1700000000000-12', '1234567890123456-1234567890123456'].map(isChangeId)).toEqual([
      true,
      true,
      true,
    ]);
    expect(
      ['', '1', '1-', '-1', '1-a', 'x1-1', '1-1x', '12345678901234567-0', '0-12345678901234567', '1-1-1'].map(
        isChangeId,
      ),
    ).toEqual(Array(10).fill(false));
  });
});

describe('the change log in memory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("numbers changes `<ms>-<seq>`: a new ms starts at 0, the same ms counts on, a clock gone back stays behind the newest's ms", () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 100, retentionMs: DAY });
    expect(log.newestId()).toBeUndefined();
    log.record([change(1), change(2)]);
    log.record([change(3)]);
    vi.setSystemTime(T0 + 5);
    log.record([change(4)]);
    vi.setSystemTime(T0 + 2);
    log.record([change(5), change(6)]);
    const all = log.after(undefined, 100).changes;
    expect(all.map((c) => [c.id, c.at, c.customerId])).toEqual([
      [`${T0}-0`, T0, customerId(1)],
      [`${T0}-1`, T0, customerId(2)],
      [`${T0}-2`, T0, customerId(3)],
      [`${T0 + 5}-0`, T0 + 5, customerId(4)],
      [`${T0 + 5}-1`, T0 + 2, customerId(5)],
      [`${T0 + 5}-2`, T0 + 2, customerId(6)],
    ]);
    expect(log.newestId()).toBe(`${T0 + 5}-2`);
    expect(log.entries()).toEqual(all);
  });

  it('starts from the snapshot in id order, and numbers what it records after the newest kept', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 100, retentionMs: DAY }, [
      recorded(`${T0 - 10}-1`, 2),
      recorded(`${T0 + 20}-0`, 3),
      recorded(`${T0 - 10}-0`, 1),
    ]);
    expect(ids(log.entries() as RecordedChange[])).toEqual([`${T0 - 10}-0`, `${T0 - 10}-1`, `${T0 + 20}-0`]);
    expect(log.newestId()).toBe(`${T0 + 20}-0`);
    log.record([change(4)]);
    expect(log.newestId()).toBe(`${T0 + 20}-1`);
  });

  it('keeps at most CHANGES_MAX, the oldest dropped first, and each change no longer than the retention', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 3, retentionMs: 1_000 });
    for (let n = 1; n <= 5; n++) {
      log.record([change(n)]);
      vi.advanceTimersByTime(100);
    }
    expect(log.entries().map((c) => c.customerId)).toEqual([3, 4, 5].map(customerId));
    // The third was recorded at T0 + 200: kept until T0 + 1200, dropped after.
    vi.setSystemTime(T0 + 1_200);
    expect(log.after(undefined, 10).changes.map((c) => c.customerId)).toEqual([3, 4, 5].map(customerId));
    vi.setSystemTime(T0 + 1_201);
    expect(log.after(undefined, 10).changes.map((c) => c.customerId)).toEqual([4, 5].map(customerId));
    vi.setSystemTime(T0 + 5_000);
    expect(log.after(undefined, 10)).toEqual({ changes: [], more: false });
    // The newest id is still known: its cursor is expired, not never issued.
    expect(log.newestId()).toBe(`${T0 + 400}-0`);
    expect(log.standing(`${T0 + 400}-0`)).toBe('expired');
  });

  it('drops a snapshot’s changes older than the retention as it starts', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 100, retentionMs: 1_000 }, [
      recorded(`${T0 - 1_001}-0`, 1),
      recorded(`${T0 - 1_000}-0`, 2),
    ]);
    expect(log.entries().map((c) => c.customerId)).toEqual([customerId(2)]);
  });

  it('tells a kept cursor from an expired one and from one never issued', () => {
    vi.useFakeTimers({ now: T0 });
    const empty = createMemoryChangeLog({ max: 2, retentionMs: DAY });
    expect(empty.standing(`${T0}-0`)).toBe('unknown');
    const log = createMemoryChangeLog({ max: 2, retentionMs: DAY });
    log.record([change(1), change(2)]);
    vi.setSystemTime(T0 + 10);
    log.record([change(3)]);
    // Kept: T0-1 and T0+10-0; dropped: T0-0.
    expect(log.standing(`${T0}-1`)).toBe('kept');
    expect(log.standing(`${T0 + 10}-0`)).toBe('kept');
    expect(log.standing(`${T0}-0`)).toBe('expired');
    expect(log.standing(`${T0 - 1}-5`)).toBe('expired');
    // Between two kept ones, or newer than the newest: never issued.
    expect(log.standing(`${T0 + 5}-0`)).toBe('unknown');
    expect(log.standing(`${T0}-2`)).toBe('unknown');
    expect(log.standing(`${T0 + 10}-1`)).toBe('unknown');
    expect(log.standing(`${T0 + 11}-0`)).toBe('unknown');
  });

  it('pages after an id, kept or not, at most `limit` and says whether more follow; a filter skips what it refuses', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 100, retentionMs: DAY });
    for (let n = 1; n <= 6; n++) {
      log.record([change(n, n % 2 === 0 ? { kind: 'MCA_ACCEPTED' } : {})]);
      vi.advanceTimersByTime(10);
    }
    const at = (n: number) => `${T0 + (n - 1) * 10}-0`;
    const page = (after: string | undefined, limit: number, filter = {}) => {
      const { changes, more } = log.after(after, limit, filter);
      return { customers: changes.map((c) => Number(c.customerId.slice(-3))), more };
    };
    expect(page(undefined, 2)).toEqual({ customers: [1, 2], more: true });
    expect(page(at(2), 2)).toEqual({ customers: [3, 4], more: true });
    expect(page(at(4), 2)).toEqual({ customers: [5, 6], more: false });
    expect(page(at(6), 2)).toEqual({ customers: [], more: false });
    expect(page(at(1), 10)).toEqual({ customers: [2, 3, 4, 5, 6], more: false });
    // An id between two kept ones: the page starts at the next kept one.
    expect(page(`${T0 + 15}-0`, 10)).toEqual({ customers: [3, 4, 5, 6], more: false });
    expect(page(`${T0 - 1}-0`, 1)).toEqual({ customers: [1], more: true });
    // The filtered page counts only what matches, and says more only when a match follows.
    expect(page(undefined, 2, { kinds: ['MCA_ACCEPTED'] })).toEqual({ customers: [2, 4], more: true });
    expect(page(at(4), 1, { kinds: ['MCA_ACCEPTED'] })).toEqual({ customers: [6], more: false });
    expect(page(at(5), 1, { kinds: ['QUALIFICATION_ADDED'] })).toEqual({ customers: [], more: false });
  });

  it('stays in order and pages alike when it has dropped far more than it keeps', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 1_000, retentionMs: DAY });
    for (let n = 1; n <= 3_500; n++) {
      log.record([change(n)]);
      vi.advanceTimersByTime(1);
    }
    const kept = log.entries();
    expect(kept).toHaveLength(1_000);
    expect(kept[0]?.id).toBe(`${T0 + 2_500}-0`);
    expect(kept.at(-1)?.id).toBe(`${T0 + 3_499}-0`);
    expect(log.after(undefined, 1).changes[0]?.id).toBe(`${T0 + 2_500}-0`);
    expect(ids(log.after(`${T0 + 3_000}-0`, 3).changes)).toEqual([
      `${T0 + 3_001}-0`,
      `${T0 + 3_002}-0`,
      `${T0 + 3_003}-0`,
    ]);
    expect(log.standing(`${T0 + 2_499}-0`)).toBe('expired');
    expect(log.standing(`${T0 + 2_500}-0`)).toBe('kept');
    expect(log.standing(`${T0 + 3_200}-0`)).toBe('kept');
  });

  it('takes an accepted entry only when it is newer than the newest, and tells its listeners each change in order until they stop', () => {
    vi.useFakeTimers({ now: T0 });
    const log = createMemoryChangeLog({ max: 100, retentionMs: DAY });
    const told: string[][] = [[], []];
    const stopFirst = log.listen((c) => told[0]?.push(c.id));
    log.listen((c) => told[1]?.push(c.id));
    log.accept(recorded(`${T0}-3`, 1));
    log.accept(recorded(`${T0}-3`, 2));
    log.accept(recorded(`${T0}-2`, 3));
    log.accept(recorded(`${T0 - 1}-9`, 4));
    log.record([change(5)]);
    stopFirst();
    log.accept(recorded(`${T0 + 1}-0`, 6));
    expect(told).toEqual([
      [`${T0}-3`, `${T0}-4`],
      [`${T0}-3`, `${T0}-4`, `${T0 + 1}-0`],
    ]);
    expect(log.entries().map((c) => c.customerId)).toEqual([1, 5, 6].map(customerId));
  });
});

describe('the change log as a Redis Stream', () => {
  let server: RedisServer;
  const opened: Array<{ log: ChangeLog; redis: SharedRedis }> = [];
  let digest = 0;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const { log, redis } of opened.splice(0)) {
      await log.close();
      await redis.close();
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A replica's log on the partner `partner`: its local copy, and the Stream log over it. */
  const replica = (
    partner: string,
    options = { max: 100, retentionMs: DAY },
    initial: RecordedChange[] = [],
    logger = silentLogger,
  ) => {
    const redis = createSharedRedis(server.url, logger, { commandTimeoutMs: 2_000 });
    const local = createMemoryChangeLog(options, initial);
    const log = createStreamChangeLog(local, redis, partner, logger, options);
    opened.push({ log, redis });
    return { log, local };
  };
  const partner = () => `partner-${++digest}`;
  const keyOf = (partnerDigest: string) => `pcgw:cb:${partnerDigest}:changes-log`;
  const customersOf = (log: ChangeLog) => log.entries().map((c) => c.customerId);

  it("records through the Stream: every replica reads the same changes under Redis's ids, in order", async () => {
    const p = partner();
    const one = replica(p);
    const two = replica(p);
    const told: string[] = [];
    two.log.listen((c) => told.push(c.customerId));
    one.log.record([change(1), change(2)]);
    two.log.record([change(3, { kind: 'MCA_ACCEPTED', qualification: undefined })]);
    await expect.poll(() => customersOf(one.log).length, { timeout: 5_000 }).toBe(3);
    await expect.poll(() => customersOf(two.log).length, { timeout: 5_000 }).toBe(3);
    const stream = await server.client.xrange(keyOf(p), '-', '+');
    expect(one.log.entries().map((c) => c.id)).toEqual(stream.map(([id]) => id));
    expect(two.log.entries()).toEqual(one.log.entries());
    expect(told).toEqual(customersOf(one.log));
    const first = one.log.entries().find((c) => c.customerId === customerId(1)) as RecordedChange;
    expect(first).toEqual({ ...change(1), id: first.id, at: Number(first.id.split('-')[0]) });
    expect(one.log.newestId()).toBe(stream.at(-1)?.[0]);
    expect(one.log.standing(stream[0]?.[0] as string)).toBe('kept');
    expect(one.log.after(undefined, 10, { kinds: ['MCA_ACCEPTED'] }).changes.map((c) => c.customerId)).toEqual([
      customerId(3),
    ]);
  });

  it('keeps at most CHANGES_MAX in the Stream, and drops entries older than the retention when it writes', async () => {
    const p = partner();
    const old = Date.now() - 60_000;
    await server.client.xadd(keyOf(p), `${old}-0`, 'c', JSON.stringify(change(1)));
    const { log } = replica(p, { max: 3, retentionMs: 30_000 });
    log.record([change(2)]);
    await expect.poll(() => customersOf(log), { timeout: 5_000 }).toEqual([customerId(2)]);
    expect(await server.client.xlen(keyOf(p))).toBe(1);
    log.record([2, 3, 4, 5, 6].map((n) => change(n)));
    await expect.poll(() => customersOf(log).at(-1), { timeout: 5_000 }).toBe(customerId(6));
    const stream = await server.client.xrange(keyOf(p), '-', '+');
    expect(stream.map(([, values]) => (JSON.parse(values[1] as string) as NewChange).customerId)).toEqual(
      [4, 5, 6].map(customerId),
    );
  });

  it('reads what the Stream holds from the start, after the newest the snapshot kept, and skips entries it cannot read', async () => {
    const p = partner();
    const base = Date.now() - 1_000;
    await server.client.xadd(keyOf(p), `${base}-0`, 'c', JSON.stringify(change(1)));
    await server.client.xadd(keyOf(p), `${base}-1`, 'c', 'not json');
    await server.client.xadd(keyOf(p), `${base}-2`, 'x', '1', 'c', JSON.stringify(change(3)));
    await server.client.xadd(keyOf(p), `${base}-3`, 'c', JSON.stringify(change(4)));
    const fresh = replica(p);
    await expect.poll(() => customersOf(fresh.log), { timeout: 5_000 }).toEqual([1, 3, 4].map(customerId));
    expect(fresh.log.entries()[1]).toEqual({ ...change(3), id: `${base}-2`, at: base });

    // A replica whose snapshot kept up to the second entry reads on from there.
    const told: string[] = [];
    const restarted = replica(p, undefined, [recorded(`${base}-2`, 3)]);
    restarted.log.listen((c) => told.push(c.id));
    restarted.log.record([change(5)]);
    await expect.poll(() => customersOf(restarted.log), { timeout: 5_000 }).toEqual([3, 4, 5].map(customerId));
    expect(told).toEqual([`${base}-3`, restarted.log.newestId()]);
  });

  it('keeps what it records while Redis is away, says so once, and writes it in order when Redis answers', async () => {
    const p = partner();
    const logs = captureLogs('debug');
    const { log } = replica(p, undefined, [], logs.logger);
    log.record([change(1)]);
    await expect.poll(() => customersOf(log), { timeout: 5_000 }).toEqual([customerId(1)]);
    await server.kill();
    const WAITING = 'customer changes: Redis cannot take them now; kept to write later';
    try {
      await expect
        .poll(
          () => logs.withMessage('Redis is unreachable: shared state is local to this process until it is back').length,
          { timeout: 10_000 },
        )
        .toBeGreaterThan(0);
      for (const n of [2, 3, 4]) log.record([change(n)]);
      // Once as it started (the first record came before the connection), once now, for the three waiting.
      await expect
        .poll(() => logs.withMessage(WAITING).map((line) => line.waiting), { timeout: 5_000 })
        .toEqual([1, 3]);
      // The blocking read fails too, and says so at debug.
      await expect
        .poll(() => logs.withMessage('customer changes: read failed').length, { timeout: 5_000 })
        .toBeGreaterThan(0);
    } finally {
      await server.restart();
    }
    await expect.poll(() => customersOf(log), { timeout: 10_000 }).toEqual([1, 2, 3, 4].map(customerId));
    const stream = await server.client.xrange(keyOf(p), '-', '+');
    expect(stream.map(([, values]) => (JSON.parse(values[1] as string) as NewChange).customerId)).toEqual(
      [2, 3, 4].map(customerId),
    );
    expect(logs.withMessage(WAITING)).toHaveLength(2);
  });

  it('keeps a batch Redis refuses, and writes it whole, in order, once Redis takes it', async () => {
    const p = partner();
    const logs = captureLogs('debug');
    const { log } = replica(p, undefined, [], logs.logger);
    log.record([change(1)]);
    await expect.poll(() => customersOf(log), { timeout: 5_000 }).toEqual([customerId(1)]);
    // Redis answers, but refuses the XADDs (the key is not a Stream now): nothing is taken for written.
    await server.client.del(keyOf(p));
    await server.client.set(keyOf(p), 'not a stream');
    log.record([change(2), change(3)]);
    await expect
      .poll(() => logs.withMessage('customer changes: Redis cannot take them now; kept to write later').length, {
        timeout: 5_000,
      })
      .toBeGreaterThan(0);
    expect(await server.client.type(keyOf(p))).toBe('string');
    await server.client.del(keyOf(p));
    log.record([change(4)]);
    await expect
      .poll(
        async () =>
          (await server.client.xrange(keyOf(p), '-', '+')).map(
            ([, values]) => (JSON.parse(values[1] as string) as NewChange).customerId,
          ),
        { timeout: 5_000 },
      )
      .toEqual([2, 3, 4].map(customerId));
  });

  it('writes what is still waiting when it closes', async () => {
    const p = partner();
    const { log } = replica(p);
    log.record([change(1)]);
    await expect.poll(() => customersOf(log), { timeout: 5_000 }).toEqual([customerId(1)]);
    log.record([change(2)]);
    log.record([change(3)]);
    await log.close();
    const stream = await server.client.xrange(keyOf(p), '-', '+');
    expect(stream.map(([, values]) => (JSON.parse(values[1] as string) as NewChange).customerId)).toEqual(
      [1, 2, 3].map(customerId),
    );
  });
});

describe('following the change log (what a subscription reads)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const logWith = (n: number) => {
    const log = createMemoryChangeLog({ max: 100_000, retentionMs: DAY });
    for (let i = 1; i <= n; i++) log.record([change(i)]);
    return log;
  };
  const customerOf = (item: IteratorResult<FeedItem> | undefined) =>
    item?.value && 'change' in item.value ? item.value.change.customerId : item?.done ? 'done' : item?.value;

  it('replays what was kept after the cursor, page after page, then goes on live: no gap, no duplicate at the seam', async () => {
    const log = logWith(1_200);
    const feed = createChangeFeed(log, 10);
    const first = log.after(undefined, 1).changes[0] as RecordedChange;
    const stream = feed.follow({ afterId: first.id, filter: {}, transport: 'sse' }) as AsyncGenerator<FeedItem>;
    const received: string[] = [];
    for (let i = 0; i < 1_199; i++) {
      received.push(customerOf(await stream.next()) as string);
      // Recorded while the replay is on its first page: it is both in a later page and waiting live.
      if (i === 0) log.record([change(5_000)]);
    }
    expect(received).toEqual(Array.from({ length: 1_199 }, (_, i) => customerId(i + 2)));
    expect(customerOf(await stream.next())).toBe(customerId(5_000));
    const next = stream.next();
    log.record([change(5_001)]);
    expect(customerOf(await next)).toBe(customerId(5_001));
    expect(feed.open()).toEqual({ sse: 1, ws: 0 });
    await stream.return(undefined);
    expect(feed.open()).toEqual({ sse: 0, ws: 0 });
  });

  it('without a cursor sends only what is recorded after it started, and only what its filter takes', async () => {
    const log = logWith(3);
    const feed = createChangeFeed(log, 10);
    const stream = feed.follow({
      filter: { kinds: ['MCA_ACCEPTED'] },
      transport: 'ws',
    }) as AsyncGenerator<FeedItem>;
    const next = stream.next();
    log.record([change(4), change(5, { kind: 'MCA_ACCEPTED' })]);
    expect(customerOf(await next)).toBe(customerId(5));
    expect(feed.open()).toEqual({ sse: 0, ws: 1 });
    await stream.return(undefined);
  });

  it('with a cursor and a filter replays only what the filter takes', async () => {
    const log = createMemoryChangeLog({ max: 100, retentionMs: DAY });
    for (let n = 1; n <= 5; n++) log.record([change(n, n % 2 ? {} : { kind: 'MCA_ACCEPTED' })]);
    const feed = createChangeFeed(log, 10);
    const stream = feed.follow({
      afterId: log.after(undefined, 1).changes[0]?.id,
      filter: { kinds: ['MCA_ACCEPTED'] },
      transport: 'sse',
    }) as AsyncGenerator<FeedItem>;
    expect([customerOf(await stream.next()), customerOf(await stream.next())]).toEqual([2, 4].map(customerId));
    const next = stream.next();
    log.record([change(6), change(7, { kind: 'MCA_ACCEPTED' })]);
    expect(customerOf(await next)).toBe(customerId(7));
    await stream.return(undefined);
  });

  it('serves at most SUBSCRIPTIONS_MAX streams, counted by transport until each ends, started or not', async () => {
    const log = logWith(1);
    const feed = createChangeFeed(log, 2);
    const one = feed.follow({ filter: {}, transport: 'sse' }) as AsyncGenerator<FeedItem>;
    const two = feed.follow({ filter: {}, transport: 'ws' }) as AsyncGenerator<FeedItem>;
    expect(feed.follow({ filter: {}, transport: 'sse' })).toBeUndefined();
    expect(feed.open()).toEqual({ sse: 1, ws: 1 });
    // Never started: counted closed when it is ended.
    await two.return(undefined);
    expect(feed.open()).toEqual({ sse: 1, ws: 0 });
    const three = feed.follow({ filter: {}, transport: 'ws' }) as AsyncGenerator<FeedItem>;
    expect(three).toBeDefined();
    // Started and waiting for a change: ended at once.
    const waiting = one.next();
    await one.return(undefined);
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(feed.open()).toEqual({ sse: 0, ws: 1 });
    await three.return(undefined);
    await three.return(undefined);
    expect(feed.open()).toEqual({ sse: 0, ws: 0 });
  });

  it('ends every stream when the gateway drains, and a later one at once; a caller gone ends its own', async () => {
    const log = logWith(1);
    const feed = createChangeFeed(log, 10);
    const gone = new AbortController();
    const own = feed.follow({ filter: {}, transport: 'sse', signal: gone.signal }) as AsyncGenerator<FeedItem>;
    const other = feed.follow({ filter: {}, transport: 'sse' }) as AsyncGenerator<FeedItem>;
    const ownNext = own.next();
    const otherNext = other.next();
    gone.abort();
    expect(await ownNext).toEqual({ done: true, value: undefined });
    expect(feed.open()).toEqual({ sse: 1, ws: 0 });
    log.record([change(2)]);
    expect(customerOf(await otherNext)).toBe(customerId(2));
    const afterThat = other.next();
    feed.close();
    expect(await afterThat).toEqual({ done: true, value: undefined });
    const later = feed.follow({ afterId: log.after(undefined, 1).changes[0]?.id, filter: {}, transport: 'ws' });
    expect(await later?.next()).toEqual({ done: true, value: undefined });
    expect(feed.open()).toEqual({ sse: 0, ws: 0 });
  });

  it("says `expired` and ends when the caller's token expires, not before", async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const log = logWith(2);
    const feed = createChangeFeed(log, 10);
    const stream = feed.follow({ filter: {}, transport: 'sse', expiresAt: T0 + 60_000 }) as AsyncGenerator<FeedItem>;
    const next = stream.next();
    vi.advanceTimersByTime(59_999);
    log.record([change(3)]);
    expect(customerOf(await next)).toBe(customerId(3));
    const expiring = stream.next();
    vi.advanceTimersByTime(1);
    expect(await expiring).toEqual({ done: false, value: { expired: true } });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(feed.open()).toEqual({ sse: 0, ws: 0 });

    // Expired already: ended at the first turn; and a token valid for years does not expire at once.
    const late = feed.follow({
      filter: {},
      transport: 'sse',
      expiresAt: T0,
    }) as AsyncGenerator<FeedItem>;
    const lateFirst = late.next();
    vi.advanceTimersByTime(0);
    expect(await lateFirst).toEqual({ done: false, value: { expired: true } });
    const lasting = feed.follow({
      filter: {},
      transport: 'sse',
      expiresAt: Date.now() + 10 * 365 * DAY,
    }) as AsyncGenerator<FeedItem>;
    const lastingNext = lasting.next();
    vi.advanceTimersByTime(60_000);
    log.record([change(4)]);
    expect(customerOf(await lastingNext)).toBe(customerId(4));
    await lasting.return(undefined);
  });

  it('ends a subscriber more than 10,000 changes behind with SubscriberTooSlowError; what its filter refuses never counts', async () => {
    const log = logWith(0);
    const feed = createChangeFeed(log, 10);
    const behind = (count: number, refused: number) => {
      const stream = feed.follow({
        filter: { kinds: ['QUALIFICATION_ADDED'] },
        transport: 'ws',
      }) as AsyncGenerator<FeedItem>;
      const next = stream.next();
      const changes = Array.from({ length: count }, (_, i) => change(i + 1));
      log.record([...Array.from({ length: refused }, () => change(0, { kind: 'MCA_ACCEPTED' })), ...changes]);
      return { stream, next };
    };
    const atBound = behind(10_000, 5);
    expect(customerOf(await atBound.next)).toBe(customerId(1));
    await atBound.stream.return(undefined);
    const past = behind(10_001, 0);
    await expect(past.next).rejects.toBeInstanceOf(SubscriberTooSlowError);
    expect(feed.open()).toEqual({ sse: 0, ws: 0 });
  });

  it('lets the event loop take a turn after every 8 deliveries', async () => {
    const log = logWith(20);
    const feed = createChangeFeed(log, 10);
    const stream = feed.follow({
      afterId: log.after(undefined, 1).changes[0]?.id,
      filter: {},
      transport: 'sse',
    }) as AsyncGenerator<FeedItem>;
    const received: FeedItem[] = [];
    const turns: number[] = [];
    const watch = () =>
      setImmediate(() => {
        turns.push(received.length);
        if (received.length < 19) watch();
      });
    watch();
    while (received.length < 19) received.push((await stream.next()).value as FeedItem);
    await stream.return(undefined);
    expect(turns.slice(0, 2)).toEqual([8, 16]);
  });
});
