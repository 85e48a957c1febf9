// Owns following the change log: a subscriber's stream of changes, the kept
// ones after its cursor first and then each new one as this replica reads it,
// in id order with no gap and no duplicate at the seam; SUBSCRIPTIONS_MAX per
// replica; the end of a stream when its caller's token expires or the
// gateway drains; and how many are open, by transport, for the gauge.

import { type ChangeFilter, changeMatches, type RecordedChange } from './change';
import { type ChangeLog, compareIds } from './change-log';

export type Transport = 'sse' | 'ws';

/** What a stream yields: a change, or the word that the caller's token expired (then it ends). */
export type FeedItem = { readonly change: RecordedChange } | { readonly expired: true };

export interface FollowOptions {
  /** Send the kept changes after this id first; without it, only new ones. */
  readonly afterId?: string;
  readonly filter: ChangeFilter;
  readonly transport: Transport;
  /** Epoch ms when the caller's token expires; the stream then yields `expired` and ends. */
  readonly expiresAt?: number;
  /** Aborted when the caller goes away. */
  readonly signal?: AbortSignal;
}

export interface ChangeFeed {
  /** A stream, or undefined when SUBSCRIPTIONS_MAX are open already. */
  follow(options: FollowOptions): AsyncGenerator<FeedItem> | undefined;
  open(): Readonly<Record<Transport, number>>;
  /** Ends every stream (SIGTERM: the drain is not held up); later ones end at once. */
  close(): void;
}

/** Changes taken from the log per step of a replay. */
const REPLAY_BATCH = 500;
/** Changes a slow subscriber may have waiting; past that its stream ends, and it resumes from its cursor. */
const MAX_WAITING = 10_000;
/** Deliveries a stream makes before it lets the event loop serve others. */
const DELIVERIES_PER_TURN = 8;
/** Timers take at most 2^31-1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

export class SubscriberTooSlowError extends Error {}

export function createChangeFeed(log: ChangeLog, max: number): ChangeFeed {
  const open: Record<Transport, number> = { sse: 0, ws: 0 };
  const closing = new AbortController();

  async function* stream(options: FollowOptions, ended: AbortSignal, started: () => void): AsyncGenerator<FeedItem> {
    started();
    // A queue with a head index: shift() would move every waiting change for each one taken.
    let waiting: RecordedChange[] = [];
    let head = 0;
    let wake: (() => void) | undefined;
    const stop = AbortSignal.any([closing.signal, ended, ...(options.signal ? [options.signal] : [])]);
    let expired = false;
    const nudge = () => {
      const resume = wake;
      wake = undefined;
      // Resumed from the event loop, not as a microtask of the recording: a burst of changes to many subscribers
      // then takes turns with the requests the replica serves instead of holding them until every delivery is made.
      if (resume) setImmediate(resume);
    };
    // Listening starts before the replay reads the log, so a change recorded meanwhile waits here and is skipped if
    // the replay sent it already: no gap and no duplicate at the seam. What the filter refuses never waits.
    const unlisten = log.listen((change) => {
      if (!changeMatches(change, options.filter)) return;
      waiting.push(change);
      nudge();
    });
    stop.addEventListener('abort', nudge);
    const timer =
      options.expiresAt === undefined
        ? undefined
        : setTimeout(
            () => {
              expired = true;
              nudge();
            },
            Math.min(MAX_TIMER_MS, Math.max(0, options.expiresAt - Date.now())),
          );
    timer?.unref();
    try {
      let last = options.afterId ?? log.newestId();
      let sinceTurn = 0;
      /** After a few deliveries in a row, the event loop gets a turn (requests, other subscribers). */
      const turn = async () => {
        if (++sinceTurn < DELIVERIES_PER_TURN) return;
        sinceTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
      };
      if (options.afterId !== undefined) {
        for (;;) {
          const page = log.after(last, REPLAY_BATCH, options.filter);
          for (const change of page.changes) {
            if (stop.aborted || expired) break;
            last = change.id;
            yield { change };
            await turn();
          }
          if (!page.more || stop.aborted || expired) break;
        }
      }
      for (;;) {
        if (stop.aborted) return;
        if (expired) {
          yield { expired: true };
          return;
        }
        if (head === waiting.length) {
          waiting = [];
          head = 0;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        if (waiting.length - head > MAX_WAITING) throw new SubscriberTooSlowError();
        const change = waiting[head++] as RecordedChange;
        if (last !== undefined && compareIds(change.id, last) <= 0) continue;
        last = change.id;
        yield { change };
        await turn();
      }
    } finally {
      unlisten();
      stop.removeEventListener('abort', nudge);
      clearTimeout(timer);
      open[options.transport]--;
    }
  }

  return {
    follow(options) {
      if (open.sse + open.ws >= max) return undefined;
      open[options.transport]++;
      let started = false;
      const ended = new AbortController();
      const generator = stream(options, ended.signal, () => {
        started = true;
      });
      const end = generator.return.bind(generator);
      generator.return = (value) => {
        // A generator waiting for the next change would take return() only after it: the wait is ended first.
        ended.abort();
        // A stream ended before its first step never runs its body (nor its finally): it is counted closed here.
        if (!started) {
          started = true;
          open[options.transport]--;
        }
        return end(value);
      };
      return generator;
    },
    open: () => ({ ...open }),
    close: () => closing.abort(),
  };
}
