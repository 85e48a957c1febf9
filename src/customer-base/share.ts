// Owns the sync's share of the partner's minute: when its next call is due,
// from SYNC_RATE_PER_MINUTE, its own calls of the last minute and the room the
// partner's requests leave in PARTNER_CENTER_RATE_PER_MINUTE, so that a
// request's burst finds its turns free.

export interface SyncShareOptions {
  /** SYNC_RATE_PER_MINUTE. */
  readonly rate: number;
  /** PARTNER_CENTER_RATE_PER_MINUTE: every call of the partner's, the sync's and its requests', in any minute. */
  readonly limit: number;
  /** 60 000 ms unless time is compressed. */
  readonly minuteMs: number;
  /**
   * The partner's pacing turns in the minute now, every replica's (taken and reserved); undefined when it cannot be
   * told (Redis did not answer), or without pacing.
   */
  readonly turnsInWindow?: () => Promise<number | undefined>;
  /**
   * The most calls the partner's requests start at once: PARTNER_CENTER_MAX_CONCURRENCY, one token's calls in flight
   * (in the modes that sync, every request's calls go out with the gateway's one token).
   */
  readonly burst?: number;
  /** The partner's turns so far that waited for the window (src/quota/pacing.ts); undefined when it cannot be told. */
  readonly queuedTurns?: () => Promise<number | undefined>;
}

export interface SyncShare {
  /**
   * When the sync's next call may leave, as things stand now (Date.now() ms): a spacing after the last, and not while
   * the sync's calls in the last minute already reach its share of it.
   */
  nextAt(): Promise<number>;
  /** The spacing at the sync's own rate, with no request about: the shortest there is. */
  readonly baseSpacingMs: number;
  /** How often a long wait looks at the requests' share again: a second of the minute. */
  readonly recheckMs: number;
  /**
   * Records that the sync's call due at `dueAt` (what nextAt said) left at `at` with `attempts` upstream attempts (each
   * took a turn; 0 when it failed before a call).
   */
  sent(dueAt: number, at: number, attempts: number): void;
}

/**
 * 2% more than the minute over the sync's own rate: Partner Center counts a call when it arrives, and calls leave a
 * few ms late or early, so calls spaced exactly could put one more than the rate into some minute as it sees it.
 */
const KEPT_BACK = 1.02;

/** How long the requests' turns are remembered, in minutes: a dashboard refreshing twice a minute is seen. */
const MEMORY_MINUTES = 2;
/** Seconds of the minute (60 a minute): each keeps the most request turns seen in the window during it. */
const SECONDS = MEMORY_MINUTES * 60;
/** The share of those seconds whose level the requests stay under. */
const QUANTILE = 0.9;
/**
 * The part of the limit the sync leaves free beside the requests' level (10 turns of 480), or a burst of the requests'
 * calls if that is more: a request's first calls (up to a token's calls in flight) then find their turns free, though
 * the refresh a minute before frees its turns only as they go. In a full window a
 * refresh's calls take the turns of the refresh a minute before as they free, and inherit any lateness it had: a turn
 * the sync took between its waves, a slow answer, a queued turn's gap (src/quota/pacing.ts). The refresh a minute
 * later takes the free turns first, so each minute it gives back that many calls' worth of the lateness.
 */
const SLACK = 0.02;
/**
 * A turn that waited for the window (a refresh that found the minute full) leaves a minute later than it was asked
 * for, and so does the turn that takes it a minute later, and so on: SLACK gives that lateness back a burst a minute.
 * The sync gives it back at once instead: for a minute after turns waited it makes that many fewer calls, so the
 * next refresh finds as many turns free as the late ones it would otherwise wait for. It costs the sync the calls
 * that waited, only when some did.
 */
const OWED_MINUTES = 1;

/**
 * How late, in spacings, a call may leave and still keep the schedule (timers, admission, a wait while a request's
 * calls came in): the next is due a spacing after when this one was due, so the few ms each call loses do not slow the
 * rate, and two calls are never closer than half a spacing. Later than that (the first call, one after a throttle
 * window or a sign-in), the schedule starts again a spacing after it left: the sync never catches up.
 */
const FORGIVEN = 0.5;

/**
 * The sync's rate is the smaller of its own and what the partner's requests leave: the limit less the requests' turns
 * in the window, at the level they stay under nine seconds in ten over the last two minutes, less a slack (2%, or a
 * burst of the requests' calls).
 * Before each of its calls the sync looks at the partner's turns in the window less its own; each second keeps the
 * most it saw. Spread evenly at that rate, the sync's calls and the requests' minute fit in the limit together, so a
 * request's burst finds its turns free rather than queued behind turns the sync took before it came. The tenth part
 * left out is the moments a window holds the ends of two refreshes a minute apart (a slow one and a fast one): the few
 * turns those lack free up as the older refresh leaves the window, within its own length. The sync's own calls in the
 * last minute are held to that rate too: when the requests' level rises (a dashboard opens), the sync waits until the
 * calls it made before it knew leave the window, instead of spending the minute the requests' next burst needs. With
 * no room at all the sync makes one call a minute, and still only with a turn free now.
 */
export function createSyncShare(options: SyncShareOptions): SyncShare {
  const { rate, limit, minuteMs } = options;
  const slack = Math.max(Math.ceil(limit * SLACK), options.burst ?? 0);
  const baseSpacingMs = (minuteMs / rate) * KEPT_BACK;
  const secondMs = minuteMs / 60;
  /** When the sync's own attempts of the last minute left, oldest first. */
  const own: number[] = [];
  /** When the last call was due and when it left. */
  let lastDueAt = Number.NEGATIVE_INFINITY;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  /** A ring of the last SECONDS seconds: which second each slot holds, and the most request turns seen in it. */
  const secondOf: number[] = new Array(SECONDS).fill(Number.NEGATIVE_INFINITY);
  const mostIn: number[] = new Array(SECONDS).fill(0);
  /** The count of waited turns last seen, and the calls owed for those that waited since, by when they were seen. */
  let queuedSeen: number | undefined;
  const owed: Array<{ at: number; calls: number }> = [];

  /** Calls the sync owes now: turns that waited within the last minute. */
  function owedNow(queued: number | undefined, now: number): number {
    if (queued !== undefined) {
      // The first count is where the sync starts; a smaller one is a count that started again (Redis forgot it).
      const waited = queuedSeen === undefined ? 0 : queued >= queuedSeen ? queued - queuedSeen : queued;
      queuedSeen = queued;
      if (waited > 0) owed.push({ at: now, calls: waited });
    }
    while (owed.length > 0 && (owed[0] as { at: number }).at <= now - minuteMs * OWED_MINUTES) owed.shift();
    return owed.reduce((sum, entry) => sum + entry.calls, 0);
  }

  /** The requests' level: what the seconds of the last two minutes with a look stay at or under, nine in ten. */
  function requestsLevel(second: number): number {
    const levels: number[] = [];
    for (let slot = 0; slot < SECONDS; slot++) {
      if (second - (secondOf[slot] as number) < SECONDS) levels.push(mostIn[slot] as number);
    }
    if (levels.length === 0) return 0;
    levels.sort((a, b) => a - b);
    return levels[Math.ceil(QUANTILE * levels.length) - 1] as number;
  }

  return {
    baseSpacingMs,
    recheckMs: secondMs,
    sent(dueAt, at, attempts) {
      lastDueAt = dueAt;
      lastSentAt = at;
      for (let i = 0; i < attempts; i++) own.push(at);
    },
    async nextAt() {
      const [turns, queued] = await Promise.all([options.turnsInWindow?.(), options.queuedTurns?.()]);
      const now = Date.now();
      while (own.length > 0 && (own[0] as number) <= now - minuteMs) own.shift();
      const second = Math.floor(now / secondMs);
      if (turns !== undefined) {
        const slot = second % SECONDS;
        const requests = Math.max(0, turns - own.length);
        if (secondOf[slot] !== second) {
          secondOf[slot] = second;
          mostIn[slot] = requests;
        } else {
          mostIn[slot] = Math.max(mostIn[slot] as number, requests);
        }
      }
      const left = Math.max(1, limit - slack - requestsLevel(second));
      // Below its own rate the share needs no 2% kept back (the pacer holds the partner's minute to the limit), but
      // never runs faster than the sync's own spacing.
      const spacingMs = Math.max(baseSpacingMs, minuteMs / left);
      const spaced = (lastSentAt - lastDueAt <= spacingMs * FORGIVEN ? lastDueAt : lastSentAt) + spacingMs;
      // At most that many of its own in any minute, less what it owes: the next when the one that many calls back
      // leaves the window. Owing does not change the spacing: after the pause the sync goes on at its share.
      const most = Math.max(1, Math.floor(Math.min(rate, left)) - owedNow(queued, now));
      const counted = own.length >= most ? (own[own.length - most] as number) + minuteMs + 1 : spaced;
      return Math.max(spaced, counted);
    },
  };
}
