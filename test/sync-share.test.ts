// The sync's share of the partner's minute (src/customer-base/share.ts): its spacing from SYNC_RATE_PER_MINUTE, less
// the requests' turns in the window (their level nine seconds in ten over the last two minutes), on a fake clock
// against a count of turns the test sets.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSyncShare } from '../src/customer-base/share';

const MINUTE = 60_000;
/** One minute over the share: at the sync's own rate (300) 2% kept back, below it none (the pacer holds the limit). */
const spacingAt = (rate: number) => (rate === 300 ? (MINUTE / rate) * 1.02 : MINUTE / rate);

let turns: number | undefined;
const share = () => createSyncShare({ rate: 300, limit: 480, minuteMs: MINUTE, turnsInWindow: async () => turns });

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
    expect(await sync.spacingMs()).toBe(spacingAt(300));
    expect(sync.recheckMs).toBe(1_000);
  });

  it("counts the sync's own turns out: 250 turns in the window, all the sync's, leave its rate whole", async () => {
    const sync = share();
    sync.sent(Date.now() - 30_000, 249);
    sync.sent(Date.now() - 1_000, 1);
    turns = 250;
    expect(await sync.spacingMs()).toBe(spacingAt(300));
  });

  it("leaves the requests' minute free: 200 request turns leave the sync 280 of 480", async () => {
    const sync = share();
    sync.sent(Date.now() - 10_000, 100);
    turns = 300;
    expect(await sync.spacingMs()).toBe(spacingAt(280));
    // 150 request turns 20 s later: of two seconds looked at, the busier (200) still counts.
    vi.advanceTimersByTime(20_000);
    turns = 250;
    expect(await sync.spacingMs()).toBe(spacingAt(280));
  });

  it('takes the level requests stay under nine seconds in ten: a moment of 400 among 250s does not count', async () => {
    const sync = share();
    turns = 400;
    expect(await sync.spacingMs()).toBe(spacingAt(80));
    // Nine seconds of 250 request turns: one second in ten was busier, and is left out.
    for (let second = 1; second <= 9; second++) {
      vi.advanceTimersByTime(1_000);
      turns = 250;
      expect(await sync.spacingMs()).toBe(second < 9 ? spacingAt(80) : spacingAt(230));
    }
  });

  it('remembers two minutes of seconds, then goes back to its own rate', async () => {
    const sync = share();
    turns = 400;
    expect(await sync.spacingMs()).toBe(spacingAt(80));
    // No look for two minutes less a second (the sync waited), then 0 requests: 400 is one second of two.
    vi.advanceTimersByTime(2 * MINUTE - 1_000);
    turns = 0;
    expect(await sync.spacingMs()).toBe(spacingAt(80));
    vi.advanceTimersByTime(1_000);
    expect(await sync.spacingMs()).toBe(spacingAt(300));
  });

  it('forgets its own turns after a minute: turns of the requests are not taken for its own', async () => {
    const sync = share();
    sync.sent(Date.now(), 100);
    vi.advanceTimersByTime(MINUTE);
    // 100 turns in the window now, none of them the sync's (its 100 are a minute old).
    turns = 100;
    expect(await sync.spacingMs()).toBe(spacingAt(300));
    turns = 280;
    expect(await sync.spacingMs()).toBe(spacingAt(200));
  });

  it('never runs faster than its own spacing: 298 left of 480 is still 300 a minute, 2% kept back', async () => {
    const sync = share();
    turns = 182;
    expect(await sync.spacingMs()).toBe(spacingAt(300));
  });

  it('makes one call a minute when requests take the whole minute', async () => {
    const sync = share();
    turns = 480;
    expect(await sync.spacingMs()).toBe(MINUTE);
    turns = 479;
    expect(await sync.spacingMs()).toBe(MINUTE);
  });

  it('keeps what it knew while the turns cannot be told (Redis did not answer), and never more than its rate', async () => {
    const sync = share();
    turns = 400;
    expect(await sync.spacingMs()).toBe(spacingAt(80));
    turns = undefined;
    expect(await sync.spacingMs()).toBe(spacingAt(80));
    const alone = createSyncShare({ rate: 300, limit: 480, minuteMs: MINUTE });
    expect(await alone.spacingMs()).toBe(spacingAt(300));
  });
});
