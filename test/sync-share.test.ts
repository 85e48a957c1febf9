// The sync's share of the partner's minute (src/customer-base/share.ts): when its next call is due, from
// SYNC_RATE_PER_MINUTE, the requests' turns in the window (their level nine seconds in ten over the last two minutes),
// 2% of the limit left free, its own calls in the last minute and the calls it owes for turns that waited, on a fake
// clock against counts of turns the test sets.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSyncShare, type SyncShare } from '../src/customer-base/share';

const MINUTE = 60_000;
/** 2% of the limit (480), rounded up: left free beside the requests. */
const FREE = 10;
/** One minute over the share: at the sync's own rate (300) 2% kept back, below it none (the pacer holds the limit). */
const spacingAt = (rate: number) => (rate === 300 ? (MINUTE / rate) * 1.02 : MINUTE / rate);

let turns: number | undefined;
const share = () => createSyncShare({ rate: 300, limit: 480, minuteMs: MINUTE, turnsInWindow: async () => turns });

/** The spacing the share would give now: a call due now that left now without an attempt, and the next one due. */
async function spacingNow(sync: SyncShare): Promise<number> {
  sync.sent(Date.now(), Date.now(), 0);
  return (await sync.nextAt()) - Date.now();
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  turns = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the sync's share of the partner's minute", () => {
  it('is its own rate while no request calls: one call every 60 / SYNC_RATE_PER_MINUTE s, 2% kept back', async () => {
    const sync = share();
    expect(sync.baseSpacingMs).toBe(spacingAt(300));
    // The first call is due at once.
    expect(await sync.nextAt()).toBeLessThanOrEqual(Date.now());
    sync.sent(Date.now(), Date.now(), 1);
    turns = 1;
    expect((await sync.nextAt()) - Date.now()).toBe(spacingAt(300));
    expect(sync.recheckMs).toBe(1_000);
  });

  it("counts the sync's own turns out: 250 turns in the window, all the sync's, leave its rate whole", async () => {
    const sync = share();
    sync.sent(Date.now() - 30_000, Date.now() - 30_000, 249);
    sync.sent(Date.now() - 1_000, Date.now() - 1_000, 1);
    turns = 250;
    expect(await sync.nextAt()).toBe(Date.now() - 1_000 + spacingAt(300));
  });

  it(`leaves the requests' minute free: 200 request turns leave the sync ${280 - FREE} of 480 (2% left free)`, async () => {
    const sync = share();
    sync.sent(Date.now() - 10_000, Date.now() - 10_000, 100);
    turns = 300;
    expect(await sync.nextAt()).toBeCloseTo(Date.now() - 10_000 + spacingAt(280 - FREE));
    // 150 request turns 20 s later: of two seconds looked at, the busier (200) still counts.
    vi.advanceTimersByTime(20_000);
    turns = 250;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(280 - FREE));
    // A limit of 1,000 leaves 20 free.
    const larger = createSyncShare({ rate: 300, limit: 1_000, minuteMs: MINUTE, turnsInWindow: async () => 800 });
    expect(await spacingNow(larger)).toBeCloseTo(spacingAt(180));
  });

  it('leaves a burst of the requests free instead when that is more than 2%: a token’s calls in flight', async () => {
    const options = { rate: 300, limit: 480, minuteMs: MINUTE, turnsInWindow: async () => 200 };
    expect(await spacingNow(createSyncShare({ ...options, burst: 32 }))).toBeCloseTo(spacingAt(280 - 32));
    expect(await spacingNow(createSyncShare({ ...options, burst: 5 }))).toBeCloseTo(spacingAt(280 - FREE));
    // With no request about, the burst costs the sync nothing: its own rate still fits.
    const idle = createSyncShare({ ...options, burst: 32, turnsInWindow: async () => 0 });
    expect(await spacingNow(idle)).toBeCloseTo(spacingAt(300));
  });

  it('takes the level requests stay under nine seconds in ten: a moment of 400 among 250s does not count', async () => {
    const sync = share();
    turns = 400;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(80 - FREE));
    // Nine seconds of 250 request turns: one second in ten was busier, and is left out.
    for (let second = 1; second <= 9; second++) {
      vi.advanceTimersByTime(1_000);
      turns = 250;
      expect(await spacingNow(sync)).toBeCloseTo(second < 9 ? spacingAt(80 - FREE) : spacingAt(230 - FREE));
    }
  });

  it('remembers two minutes of seconds, then goes back to its own rate', async () => {
    const sync = share();
    turns = 400;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(80 - FREE));
    // No look for two minutes less a second (the sync waited), then 0 requests: 400 is one second of two.
    vi.advanceTimersByTime(2 * MINUTE - 1_000);
    turns = 0;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(80 - FREE));
    vi.advanceTimersByTime(1_000);
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(300));
  });

  it('forgets its own turns after a minute: turns of the requests are not taken for its own', async () => {
    const sync = share();
    sync.sent(Date.now(), Date.now(), 100);
    vi.advanceTimersByTime(MINUTE);
    // 100 turns in the window now, none of them the sync's (its 100 are a minute old).
    turns = 100;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(300));
    turns = 280;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(200 - FREE));
  });

  it('never runs faster than its own spacing: 300 left of 480 is still 300 a minute, 2% kept back', async () => {
    const sync = share();
    turns = 180 - FREE;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(300));
  });

  it('makes one call a minute when requests take the whole minute', async () => {
    const sync = share();
    turns = 480;
    expect(await spacingNow(sync)).toBeCloseTo(MINUTE);
    vi.advanceTimersByTime(1_000);
    turns = 480 - FREE;
    expect(await spacingNow(sync)).toBeCloseTo(MINUTE);
  });

  it('keeps what it knew while the turns cannot be told (Redis did not answer), and never more than its rate', async () => {
    const sync = share();
    turns = 400;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(80 - FREE));
    turns = undefined;
    expect(await spacingNow(sync)).toBeCloseTo(spacingAt(80 - FREE));
    const alone = createSyncShare({ rate: 300, limit: 480, minuteMs: MINUTE });
    expect(await spacingNow(alone)).toBeCloseTo(spacingAt(300));
  });

  it('spaces from when a call was due, so the ms each call loses do not slow the rate; much later, from when it left', async () => {
    const sync = share();
    const dueAt = Date.now();
    // Left 5 ms late (a timer, admission): the next is due a spacing after the last was due.
    vi.advanceTimersByTime(5);
    sync.sent(dueAt, Date.now(), 1);
    turns = 1;
    expect(await sync.nextAt()).toBe(dueAt + spacingAt(300));
    // Left 100 ms late: within half a spacing (204 ms), still on time.
    const nextDue = dueAt + spacingAt(300);
    vi.setSystemTime(nextDue + 100);
    sync.sent(nextDue, Date.now(), 1);
    turns = 2;
    expect(await sync.nextAt()).toBe(nextDue + spacingAt(300));
    // Left 500 ms late (a sign-in): the schedule starts again a spacing after it left, with no catching up.
    const thirdDue = nextDue + spacingAt(300);
    vi.setSystemTime(thirdDue + 500);
    sync.sent(thirdDue, Date.now(), 1);
    turns = 3;
    expect(await sync.nextAt()).toBe(Date.now() + spacingAt(300));
  });

  it('holds its own calls in the last minute to its share: a dashboard that opens waits for none the sync made before', async () => {
    const sync = share();
    // A minute at its own rate, no request about: 294 calls, one every 204 ms.
    const first = Date.now() - MINUTE + 100;
    for (let i = 0; i < 294; i++) sync.sent(first + i * 204, first + i * 204, 1);
    turns = 294;
    const last = first + 293 * 204;
    expect(await sync.nextAt()).toBe(last + spacingAt(300));
    // Requests take 200 turns: the share is 270 a minute, and the sync has 294 in the window. Its next call waits until
    // the 25th of its last 294 leaves (270 back), not a spacing of 270 a minute after the last.
    turns = 294 + 200;
    expect(await sync.nextAt()).toBe(first + 24 * 204 + MINUTE + 1);
  });

  it('owes, for a minute, as many calls as turns waited for the window: a late refresh does not make the next late', async () => {
    let queued: number | undefined = 40;
    const sync = createSyncShare({
      rate: 300,
      limit: 480,
      minuteMs: MINUTE,
      turnsInWindow: async () => turns,
      queuedTurns: async () => queued,
    });
    // A minute at its own rate: 294 calls, one every 204 ms. The 40 turns that waited before the sync looked are
    // not its debt.
    const first = Date.now() - MINUTE + 100;
    for (let i = 0; i < 294; i++) sync.sent(first + i * 204, first + i * 204, 1);
    turns = 294;
    const last = first + 293 * 204;
    expect(await sync.nextAt()).toBe(last + spacingAt(300));
    // A refresh's 100 turns waited: the sync holds its calls in the minute to its 300 less 100, so it waits until
    // only 200 of its 294 are left in the window: the 95th leaves.
    queued = 140;
    const waitedAt = Date.now();
    expect(await sync.nextAt()).toBe(first + 94 * 204 + MINUTE + 1);
    // Seen again, the same count owes nothing more; Redis not answering keeps the debt.
    expect(await sync.nextAt()).toBe(first + 94 * 204 + MINUTE + 1);
    queued = undefined;
    expect(await sync.nextAt()).toBe(first + 94 * 204 + MINUTE + 1);
    // Counted again after Redis did not answer: 10 more waited, 110 owed, so it waits for the 105th.
    queued = 150;
    expect(await sync.nextAt()).toBe(first + 104 * 204 + MINUTE + 1);
    // A minute after the turns waited, nothing is owed: 250 of its own in the last minute, and its next call is a
    // spacing after the last, as at its own rate.
    vi.setSystemTime(waitedAt + MINUTE);
    const again = Date.now() - MINUTE + 100;
    for (let i = 0; i < 250; i++) sync.sent(again + i * 204, again + i * 204, 1);
    turns = 250;
    expect(await sync.nextAt()).toBe(again + 249 * 204 + spacingAt(300));
  });

  it('takes a smaller count of waited turns for one that started again: those it counts now are owed', async () => {
    let queued = 500;
    const sync = createSyncShare({ rate: 300, limit: 480, minuteMs: MINUTE, queuedTurns: async () => queued });
    const first = Date.now() - MINUTE + 100;
    for (let i = 0; i < 294; i++) sync.sent(first + i * 204, first + i * 204, 1);
    expect(await sync.nextAt()).toBe(first + 293 * 204 + spacingAt(300));
    // 10 owed: 290 of its own in the minute at most, so it waits for the 5th of its 294 to leave.
    queued = 10;
    expect(await sync.nextAt()).toBe(first + 4 * 204 + MINUTE + 1);
  });

  it('never makes more than SYNC_RATE_PER_MINUTE attempts in any minute, retries included', async () => {
    const sync = share();
    // 300 attempts in the last 30 s (one call retried, say, or calls due long ago): the next waits for the oldest.
    sync.sent(Date.now() - 30_000, Date.now() - 30_000, 150);
    sync.sent(Date.now() - 10_000, Date.now() - 10_000, 150);
    turns = 300;
    expect(await sync.nextAt()).toBe(Date.now() - 30_000 + MINUTE + 1);
  });
});
