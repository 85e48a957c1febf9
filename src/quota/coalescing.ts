// Owns answers shared across GraphQL requests of one token: a cached answer
// when there is one, else the upstream call already in flight for the same
// (resource, customer), in this process or (with Redis) in another replica,
// else a new call that later requests may join. A call is aborted only when
// every request waiting for it has gone.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from '../domain/upstream';
import { type GatewayEvents, ignoredEvents } from '../observability/events';
import { CallCancelledError } from '../partner-center/admission-port';
import type { CallContext } from '../partner-center/types';
import type { AnswerCache, AnswerKey, Stamp } from './cache';
import { tokenDigest } from './partner-key';

export interface SharedCalls {
  /**
   * The answer for (resource, customer) as the caller's token sees it. `fetch` makes the upstream call with the
   * context it is given: the first caller's, with a signal that aborts only when no caller waits any more.
   */
  load<V>(
    resource: Resource,
    customer: string,
    call: CallContext,
    fetch: (call: CallContext) => Promise<V>,
  ): Promise<V>;
  /** After a change: drops cached answers for every token and keeps later requests off calls already in flight. */
  invalidate(resource: Resource, customer: string): Promise<void>;
  /** The last answer the cache kept for (resource, customer) as the caller's token saw it (STALE_IF_ERROR_SECONDS). */
  lastGood(
    resource: Resource,
    customer: string,
    call: CallContext,
  ): Promise<{ value: unknown; at: number } | undefined>;
}

interface InFlight {
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
  readonly stamp: Stamp;
  waiters: number;
  /** Settled calls are never aborted: the last waiter leaving after the answer changes nothing. */
  settled: boolean;
}

export interface SharedCallsOptions {
  readonly cache: AnswerCache;
  readonly events?: GatewayEvents;
}

/** How often a replica waiting for another replica's fetch looks for its answer in the cache. */
const REPLICA_POLL_MS = 20;

/** The waiters of each request's signal, called in the order they started waiting. */
const waitersBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` when `signal` aborts; returns what stops that. A request's signal is shared by every call it
 * makes (200 for 100 customers), and an EventTarget scans all its listeners on every add and remove, so the signal
 * gets one listener that calls a set (bench/README.md, "Speed").
 */
function whenAborted(signal: AbortSignal, listener: () => void): () => void {
  let waiters = waitersBySignal.get(signal);
  if (waiters === undefined) {
    const all = new Set<() => void>();
    waiters = all;
    waitersBySignal.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        for (const waiter of [...all]) waiter();
        all.clear();
      },
      { once: true },
    );
  }
  const own = waiters;
  own.add(listener);
  return () => own.delete(listener);
}

export function createSharedCalls(options: SharedCallsOptions): SharedCalls {
  const { cache } = options;
  const events = options.events ?? ignoredEvents;
  // Holds only calls in flight: an entry leaves when its call settles or its last waiter goes.
  const inFlight = new Map<string, InFlight>();

  /** Waits for a shared call on behalf of one request; leaving early aborts it only if nobody else waits. */
  function wait<V>(key: string, shared: InFlight, signal: AbortSignal | undefined): Promise<V> {
    shared.waiters++;
    return new Promise<V>((resolve, reject) => {
      let waiting = true;
      let stopListening: (() => void) | undefined;
      const leave = () => {
        if (!waiting) return;
        waiting = false;
        stopListening?.();
        if (--shared.waiters === 0 && !shared.settled && !shared.controller.signal.aborted) {
          shared.controller.abort();
          if (inFlight.get(key) === shared) inFlight.delete(key);
        }
      };
      const onAbort = () => {
        leave();
        reject(new CallCancelledError());
      };
      if (signal?.aborted) return onAbort();
      if (signal) stopListening = whenAborted(signal, onAbort);
      shared.promise.then(
        (value) => {
          leave();
          resolve(value as V);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }

  return {
    async load(resource, customer, call, fetch) {
      // No token: the client refuses before any call; there is nothing to share. A gateway that signs in itself
      // always has one: its calls are shared under the partner's identity.
      const authorization = call.authorization;
      if (!authorization && !call.signIn) return fetch(call);
      const digest = call.token?.digest ?? tokenDigest(authorization ?? '');
      const answerKey = { resource, customer, digest };
      const lookup = await cache.get(answerKey);
      if (lookup.hit) {
        events.cacheLookup(resource, 'hit');
        call.stats.cacheHits++;
        return lookup.value as never;
      }
      const key = `${resource}\u0000${customer}\u0000${digest}`;
      const running = inFlight.get(key);
      // A call that started before the customer changed is not joined: its answer may predate the change.
      if (running && cache.current(resource, customer, running.stamp)) {
        events.cacheLookup(resource, 'coalesced');
        call.stats.cacheHits++;
        return wait(key, running, call.signal);
      }
      events.cacheLookup(resource, 'miss');
      const controller = new AbortController();
      const promise = obtain(answerKey, lookup.stamp, withSignal(call, controller.signal), fetch);
      const shared: InFlight = { promise, controller, stamp: lookup.stamp, waiters: 0, settled: false };
      // Nobody may be listening when the last waiter has left before the call settled.
      promise.catch(() => undefined);
      const settled = () => {
        shared.settled = true;
        if (inFlight.get(key) === shared) inFlight.delete(key);
      };
      promise.then(settled, settled);
      inFlight.set(key, shared);
      return wait(key, shared, call.signal);
    },
    invalidate: (resource, customer) => cache.invalidate(resource, customer),
    async lastGood(resource, customer, call) {
      if (!call.authorization && !call.signIn) return undefined;
      return cache.lastGood({
        resource,
        customer,
        digest: call.token?.digest ?? tokenDigest(call.authorization ?? ''),
      });
    },
  };

  /**
   * Fetches and caches the answer, unless another replica is fetching it already: then its answer is awaited in the
   * cache, and fetched here only if that replica's lease ends without one (its call failed: errors are not cached)
   * or this request's budget would run out waiting.
   */
  async function obtain<V>(
    key: AnswerKey,
    stamp: Stamp,
    own: CallContext,
    fetch: (call: CallContext) => Promise<V>,
  ): Promise<V> {
    let release = await cache.claim(key);
    let current = stamp;
    while (!release) {
      try {
        await sleep(REPLICA_POLL_MS, undefined, own.signal ? { signal: own.signal } : {});
      } catch {
        throw new CallCancelledError();
      }
      const lookup = await cache.get(key);
      if (lookup.hit) return lookup.value as V;
      current = lookup.stamp;
      release = await cache.claim(key);
      if (!release && Date.now() + REPLICA_POLL_MS >= own.deadline) release = async () => {};
    }
    try {
      const value = await fetch(own);
      await cache.set(key, value, current);
      return value;
    } finally {
      // Not awaited: the answer is in the cache already, and waiting replicas find it there without the release.
      void release();
    }
  }
}

/**
 * The caller's CallContext with the shared call's own signal. Not a spread: that would run the context's lazy
 * getters (the request's child logger, the token's identity) for every call, whether or not they are used. Every
 * field is named, so each shared call's context has one shape (Object.create's prototype chain measured slower).
 */
function withSignal(call: CallContext, signal: AbortSignal): CallContext {
  return {
    authorization: call.authorization,
    signIn: call.signIn,
    guard: call.guard,
    background: call.background,
    get token() {
      return call.token;
    },
    correlationId: call.correlationId,
    deadline: call.deadline,
    locale: call.locale,
    signal,
    stats: call.stats,
    get log() {
      return call.log;
    },
    trace: call.trace,
  };
}
