// Owns the background sync of the whole customer base: passes that read the
// customer list (500 a page, continuation tokens), then each customer whose
// data is missing or older than SYNC_MAX_AGE_MINUTES (an accepted MCA's two
// reads: SYNC_SETTLED_MAX_AGE_HOURS), at most
// SYNC_RATE_PER_MINUTE calls in any 60 s, spread evenly, behind every waiting
// request (src/quota/admission.ts) and slower while requests need the minute
// (./share.ts), after a 429 nothing before Retry-After.
// A failed customer is left for the next pass; an interrupted pass goes on
// where it stopped.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config';
import { GatewayError, UpstreamError } from '../domain/errors';
import type { Resource, TokenIdentity } from '../domain/upstream';
import type { GatewayEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import type { WireCustomer, WireCustomerPage } from '../partner-center/customers';
import type { CallContext, PartnerCenterClient } from '../partner-center/types';
import { heldAlways, type SyncLease } from './lease';
import type { SyncShare } from './share';
import { type CustomerStore, mcaAcceptedOf, type StoredCustomer } from './store';

/** Partner Center's largest page of GET /customers. */
export const SYNC_PAGE_SIZE = 500;

export interface SyncStatus {
  readonly known: number;
  readonly synced: number;
  /** The snapshot's customers by MCA acceptance. */
  readonly mca: { readonly accepted: number; readonly notAccepted: number; readonly unknown: number };
  readonly lastPassCompletedAt: number | undefined;
  readonly oldestSyncedAt: number | undefined;
}

export interface CustomerBaseSync {
  status(): SyncStatus;
  /** Starts the passes in the background. */
  start(): void;
  /** Stops after the call in flight; resolves once the loop has ended and the store is written. */
  close(): Promise<void>;
}

export interface SyncDeps {
  readonly config: Config;
  readonly client: PartnerCenterClient;
  readonly store: CustomerStore;
  readonly identity: TokenIdentity;
  readonly signIn: (deadline: number) => Promise<string>;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  /** Which replica syncs, when replicas share the snapshot through Redis; this one always, by default. */
  readonly lease?: SyncLease;
  /** The sync's spacing: its rate, less what the partner's requests need. */
  readonly share: SyncShare;
  /** Not a setting: tests shorten how old data may get (SYNC_MAX_AGE_MINUTES otherwise). */
  readonly maxAgeMs?: number;
}

/** How often the sync asks for the current MCA template (answered from the hour-long cache in between). */
const TEMPLATE_RECHECK_MS = 60_000;

/** How often a replica that does not hold the lease looks whether it does now. */
const LEASE_CHECK_MS = 250;

/** Whether the MCA status and agreements are read at all: App+User tokens only, and the public cloud only. */
const readsMca = (config: Config) => config.signIn.mode === 'app-user' && config.cloud === 'public';

export function createCustomerBaseSync(deps: SyncDeps): CustomerBaseSync {
  const { config, client, store, logger, events } = deps;
  const lease = deps.lease ?? heldAlways;
  const maxAgeMs = deps.maxAgeMs ?? config.syncMaxAgeMinutes * 60_000;
  const settledMaxAgeMs = config.syncSettledMaxAgeHours * 3_600_000;
  /** How long the MCA's two reads stay fresh: an accepted MCA is settled, and spends no calls for a day. */
  const mcaMaxAgeMs = (customer: StoredCustomer) =>
    mcaAcceptedOf(customer) === true ? Math.max(maxAgeMs, settledMaxAgeMs) : maxAgeMs;
  /** When each of its reads falls due; the earliest is when the customer does. */
  const dueAtOf = (customer: StoredCustomer) => {
    const mcaAge = mcaMaxAgeMs(customer);
    return Math.min(
      (customer.qualificationsAt ?? 0) + maxAgeMs,
      (customer.mcaAt ?? 0) + mcaAge,
      (customer.agreementsAt ?? 0) + mcaAge,
    );
  };
  const { share } = deps;
  const spacingMs = share.baseSpacingMs;
  const stop = new AbortController();
  /** When the last call left, and when its answer came: the next leaves a spacing after the one, a quarter after the other. */
  let lastCallAt = Number.NEGATIVE_INFINITY;
  let lastAnswerAt = Number.NEGATIVE_INFINITY;
  /** Calls sent, for the pass's log line. */
  let callCount = 0;
  let loop: Promise<void> | undefined;

  const fresh = (at: number | undefined, now: number, ageMs = maxAgeMs) => at !== undefined && now - at <= ageMs;
  const mcaFresh = (customer: StoredCustomer, now: number) =>
    fresh(customer.mcaAt, now, mcaMaxAgeMs(customer)) && fresh(customer.agreementsAt, now, mcaMaxAgeMs(customer));
  const due = (customer: StoredCustomer, now: number) =>
    !fresh(customer.qualificationsAt, now) || !mcaFresh(customer, now);
  /** The oldest of its reads, when every one is within its own age. */
  const syncedAt = (customer: StoredCustomer, now: number) => {
    if (due(customer, now)) return undefined;
    return Math.min(customer.qualificationsAt ?? 0, customer.mcaAt ?? 0, customer.agreementsAt ?? 0);
  };

  const status = (): SyncStatus => {
    const now = Date.now();
    let synced = 0;
    let oldest: number | undefined;
    const all = store.all();
    const mca = { accepted: 0, notAccepted: 0, unknown: 0 };
    for (const customer of all) {
      const acceptance = mcaAcceptedOf(customer);
      if (acceptance === true) mca.accepted++;
      else if (acceptance === false) mca.notAccepted++;
      else mca.unknown++;
      const at = syncedAt(customer, now);
      if (at === undefined) continue;
      synced++;
      oldest = oldest === undefined ? at : Math.min(oldest, at);
    }
    return {
      known: all.length,
      synced,
      mca,
      lastPassCompletedAt: store.state().lastPassCompletedAt,
      oldestSyncedAt: oldest,
    };
  };

  const context = (correlationId: string): CallContext => ({
    authorization: undefined,
    signIn: deps.signIn,
    token: deps.identity,
    correlationId,
    deadline: Date.now() + config.attemptTimeoutMs + 1_000,
    // A call still waiting to be sent when the lease runs out (Redis away) is dropped: the new holder goes on.
    signal: AbortSignal.any([stop.signal, lease.signal()]),
    stats: { upstreamCalls: 0, cacheHits: 0, retries: 0 },
    log: logger,
    background: true,
  });

  /** A call of the sync's, due at `dueAt`, was answered: the share spaces the next from it and from when it left. */
  function answered(ctx: CallContext, dueAt: number, startedAt: number, resource: Resource, status: string) {
    lastCallAt = ctx.stats.sentAt ?? startedAt;
    lastAnswerAt = Date.now();
    share.sent(dueAt, lastCallAt, ctx.stats.upstreamCalls);
    callCount++;
    events.syncCall(resource, status);
  }

  /**
   * One call at the sync's pace: not before its even spacing allows, never while a throttle window is open or while
   * requests wait for pacing turns (it waits and tries again, without a call). A failure with an answer counts.
   */
  async function paced<T>(
    resource: Resource,
    correlationId: string,
    call: (ctx: CallContext) => Promise<T>,
  ): Promise<{ value: T } | { error: GatewayError }> {
    for (;;) {
      // A spacing after the last call was due (./share.ts), so a call's own time does not slow the rate; never right
      // after an answer, so calls that left late do not go in a burst.
      const dueAt = Math.max(await share.nextAt(), lastAnswerAt + spacingMs / 4);
      const wait = dueAt - Date.now();
      if (wait > 0) {
        // Rounded up: timers take whole milliseconds, and a shorter wait would run the rate a few percent fast. A long
        // wait (requests took the minute) is looked at again every second, as the requests' share changes.
        await sleep(Math.min(Math.ceil(wait), share.recheckMs), undefined, { signal: stop.signal });
        if (wait > share.recheckMs) continue;
      }
      // A replica whose lease ran out while it waited makes no further call: the new holder goes on.
      if (!lease.held()) throw new LeaseLost();
      const ctx = context(correlationId);
      const startedAt = Date.now();
      try {
        const value = await call(ctx);
        if (ctx.stats.upstreamCalls > 0) answered(ctx, dueAt, startedAt, resource, '200');
        return { value };
      } catch (error) {
        if (stop.signal.aborted) throw error;
        if (!(error instanceof GatewayError)) throw error;
        const sent = ctx.stats.upstreamCalls > 0;
        if (sent) answered(ctx, dueAt, startedAt, resource, attemptStatusOf(error));
        if (error.code === 'UPSTREAM_THROTTLED') {
          // Held back without a call (an open window, pacing turns that requests wait for): nothing before the wait
          // is over, known to the ms. A 429 answered: nothing before its Retry-After, at least 100 ms.
          const exactMs = error instanceof UpstreamError ? error.retryAfterMs : undefined;
          const seconds = Number(error.extensions.retryAfterSeconds);
          const waitMs =
            !sent && exactMs !== undefined
              ? Math.max(1, exactMs)
              : Math.max(100, (Number.isFinite(seconds) ? seconds : 1) * 1000);
          await sleep(waitMs, undefined, { signal: stop.signal });
          if (!sent) continue;
        }
        // A failure without a call (the gateway's credentials refused) still takes the turn: the loop never spins.
        if (!sent) {
          lastCallAt = Date.now();
          share.sent(dueAt, lastCallAt, 0);
        }
        return { error };
      }
    }
  }

  async function readList(correlationId: string): Promise<boolean> {
    const items: WireCustomer[] = [];
    let continuationToken: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const token: string | null = continuationToken;
      const outcome: { value: WireCustomerPage } | { error: GatewayError } = await paced(
        'customer_list',
        correlationId,
        (ctx) => client.listCustomers({ size: SYNC_PAGE_SIZE, ...(token ? { continuationToken: token } : {}) }, ctx),
      );
      if ('error' in outcome) {
        logger.warn(
          { code: outcome.error.code },
          'customer-base sync: the customer list could not be read; trying again',
        );
        return false;
      }
      items.push(...outcome.value.items);
      continuationToken = outcome.value.continuationToken;
      if (continuationToken === null) break;
    }
    store.replaceList(items, Date.now());
    return true;
  }

  async function readCustomer(customer: StoredCustomer, correlationId: string): Promise<void> {
    const now = Date.now();
    if (!fresh(customer.qualificationsAt, now)) {
      const outcome = await paced('qualifications', correlationId, (ctx) => client.getQualifications(customer.id, ctx));
      if ('error' in outcome) {
        // A customer gone since the list was read is dropped with the next list; other failures wait for the next pass.
        return;
      }
      store.update(customer.id, { qualifications: outcome.value, qualificationsAt: Date.now() });
    }
    if (mcaFresh(customer, now)) return;
    if (!readsMca(config)) {
      // App-only tokens cannot read them and other clouds do not have them: an answer (unknown), kept like any other.
      const at = Date.now();
      store.update(customer.id, { mca: null, mcaAt: at, agreements: null, agreementsAt: at });
      return;
    }
    // Both of the MCA's reads, stored together, so that its acceptance is judged on facts of the same moment (and a
    // change of acceptance is recorded once, not through a state that never was).
    const status = await paced('mca_status', correlationId, (ctx) => client.getMcaDirectlySigned(customer.id, ctx));
    if ('error' in status && status.error.code !== 'FORBIDDEN') return;
    const mcaAt = Date.now();
    await readTemplate(correlationId);
    const agreements = await paced('agreements', correlationId, (ctx) => client.getAgreements(customer.id, ctx));
    if ('error' in agreements && agreements.error.code !== 'FORBIDDEN') return;
    store.update(customer.id, {
      // A 403 (no reseller relationship) is an answer: unknown, kept like any other.
      mca: 'error' in status ? null : status.value,
      mcaAt,
      agreements: 'error' in agreements ? null : agreements.value,
      agreementsAt: Date.now(),
    });
  }

  /**
   * The current MCA template, which the snapshot's attestations are judged by: through the hour-long metadata cache,
   * so a pass pays at most one call an hour for it. A failure keeps the template last read.
   */
  let templateReadAt = Number.NEGATIVE_INFINITY;
  async function readTemplate(correlationId: string): Promise<void> {
    if (Date.now() - templateReadAt < TEMPLATE_RECHECK_MS) return;
    templateReadAt = Date.now();
    const outcome = await paced('agreement_metadata', correlationId, (ctx) => client.getCurrentAgreementTemplate(ctx));
    if ('value' in outcome) store.templateRead(outcome.value);
  }

  /** One pass; false when the list could not be read (the next pass waits a little). */
  async function pass(): Promise<boolean> {
    const started = Date.now();
    const correlationId = randomUUID();
    const state = store.state();
    // An interrupted pass (restart, crash) goes on with the list it read, when that list is still fresh.
    const resuming =
      state.listedAt !== undefined &&
      (state.lastPassCompletedAt === undefined || state.lastPassCompletedAt < state.listedAt) &&
      fresh(state.listedAt, started);
    const before = callCount;
    try {
      if (!resuming && !(await readList(correlationId))) return false;
      for (const customer of store.all()) {
        if (stop.signal.aborted) return false;
        if (due(customer, Date.now())) await readCustomer(customer, correlationId);
      }
    } catch (error) {
      // A replica that lost the lease stops at once: the new holder goes on where it stopped.
      if (error instanceof LeaseLost) return false;
      throw error;
    }
    store.passCompleted(Date.now());
    store.flush();
    logger.info(
      { customers: store.all().length, calls: callCount - before, durationMs: Date.now() - started, correlationId },
      'customer-base sync pass completed',
    );
    return true;
  }

  async function run(): Promise<void> {
    while (!stop.signal.aborted) {
      try {
        if (!lease.held()) {
          await sleep(LEASE_CHECK_MS, undefined, { signal: stop.signal });
          continue;
        }
        if (!(await pass())) {
          if (!lease.held()) continue;
          await sleep(Math.max(spacingMs, 5_000), undefined, { signal: stop.signal });
          continue;
        }
        // A new pass when some data is due; else sleep until the first customer falls due.
        const now = Date.now();
        // A loop, not Math.min(...all): tens of thousands of arguments would overflow the stack.
        let nextDue = (store.state().listedAt ?? 0) + maxAgeMs;
        for (const customer of store.all()) nextDue = Math.min(nextDue, dueAtOf(customer));
        if (nextDue > now) await sleep(nextDue - now, undefined, { signal: stop.signal });
        else if (Date.now() - lastCallAt < spacingMs) await sleep(spacingMs, undefined, { signal: stop.signal });
      } catch (error) {
        if (stop.signal.aborted) return;
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'customer-base sync pass failed');
        await sleep(spacingMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
  }

  return {
    status,
    start() {
      loop ??= run().catch(() => undefined);
    },
    async close() {
      stop.abort();
      await loop;
      // The last changes are written before the lease is given back, so the next holder reads them.
      await store.close();
      await lease.close();
    },
  };
}

/** Thrown before a call when the lease is no longer this replica's. */
class LeaseLost extends Error {}

/** The attempt's HTTP status, or `timeout` / `network`, as the metric labels it. */
function attemptStatusOf(error: GatewayError): string {
  if (error instanceof UpstreamError && error.upstream.status !== undefined) return String(error.upstream.status);
  return error.code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'network';
}
