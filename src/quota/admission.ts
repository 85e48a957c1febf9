// Owns the way in for every upstream attempt, implementing the client's
// admission port (src/partner-center/admission-port.ts): throttle window (wait
// or fail fast), the token's concurrency slot, the partner's pacing turn, a
// last look at the window, and the background sync kept behind every request
// of its partner still on its way in; and the way out: a 429 opens a window
// before the slot is handed on, a 401 gives its pacing turn back.

import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamError, type UpstreamInfo } from '../domain/errors';
import { type GatewayEvents, ignoredEvents } from '../observability/events';
import {
  type Admission,
  type AdmissionRequest,
  type Admitted,
  CallCancelledError,
} from '../partner-center/admission-port';
import { type Pacer, QUEUED_TURN_PAST_MINUTE_MS, type Turn } from './pacing';
import { partnerKey, tokenDigest } from './partner-key';
import type { Slots } from './slots';
import type { ThrottleWindows } from './windows';

export interface AdmissionOptions {
  readonly slots: Slots;
  readonly windows: ThrottleWindows;
  readonly pacer?: Pacer;
  readonly events?: GatewayEvents;
}

export function createAdmission(options: AdmissionOptions): Admission {
  const { slots, windows, pacer } = options;
  const events = options.events ?? ignoredEvents;

  /** Waits out an open window when it closes within the budget; otherwise fails at once, without a call. */
  async function waitOutWindow(partner: string, scope: string, request: AdmissionRequest): Promise<boolean> {
    let waited = false;
    for (;;) {
      const left = await windows.remainingMs(partner, scope);
      if (left <= 0) return waited;
      if (request.background || Date.now() + left >= request.deadline) {
        events.throttled('window');
        throw heldBack(
          'Partner Center is throttling these calls; the throttle window ends after this request’s budget.',
          request.upstream,
          left,
        );
      }
      await pause(left, request.signal);
      waited = true;
    }
  }

  /** Takes the partner's next pacing turn and waits for it, or fails at once when it comes after the budget. */
  async function takeTurn(partner: string, request: AdmissionRequest): Promise<Turn | undefined> {
    if (!pacer) return undefined;
    // A background call never queues for a turn: a turn in the future is one a waiting request could use.
    const reservation = await pacer.reserve(partner, request.background ? 0 : request.deadline - Date.now() - 1);
    if ('refusedMs' in reservation) {
      events.throttled('pacing');
      throw heldBack(
        'The partner’s call rate (PARTNER_CENTER_RATE_PER_MINUTE) is spent; its next turn comes after this request’s budget.',
        request.upstream,
        reservation.refusedMs,
        // Whole seconds for the caller, less the ms a queued turn comes past the minute (./pacing.ts): told 60, a
        // caller that comes back then waits those ms within its budget.
        Math.max(1, Math.ceil((reservation.refusedMs - QUEUED_TURN_PAST_MINUTE_MS) / 1000)),
      );
    }
    const { turn } = reservation;
    try {
      // A loop: timers count from the event loop's time, which lags the clock after a long turn of the loop, so a
      // wait can end a few ms early; a call that left early could share a minute with the turn a minute before it.
      for (let left = turn.at - Date.now(); left > 0; left = turn.at - Date.now()) await pause(left, request.signal);
    } catch (error) {
      turn.refund();
      throw error;
    }
    return turn;
  }

  /**
   * Requests' calls of each partner still on their way in (a window, a slot, a pacing turn): the sync waits for none.
   * Counted only with pacing, which the sync needs: a gateway without it pays nothing for this on the request path.
   */
  const arriving = pacer ? new Map<string, number>() : undefined;

  async function enterCounted(
    arrivals: Map<string, number>,
    request: AdmissionRequest,
    digest: string,
    partner: string,
  ) {
    arrivals.set(partner, (arrivals.get(partner) ?? 0) + 1);
    try {
      return await admit(request, digest, partner);
    } finally {
      const left = (arrivals.get(partner) ?? 1) - 1;
      if (left > 0) arrivals.set(partner, left);
      else arrivals.delete(partner);
    }
  }

  return {
    enter(request) {
      const digest = request.token?.digest ?? tokenDigest(request.authorization);
      const partner = request.token?.partner ?? partnerKey(request.authorization, digest);
      if (!request.background) {
        return arriving ? enterCounted(arriving, request, digest, partner) : admit(request, digest, partner);
      }
      // Requests first: while one of the partner's calls waits for anything, the sync takes no slot and no turn.
      // Not counted as throttled: the sync only waits its turn, and no call of anyone's is held back.
      if (arriving?.has(partner)) {
        return Promise.reject(
          heldBack(
            'Requests of this partner are waiting: the background sync lets them go first.',
            request.upstream,
            50,
          ),
        );
      }
      return admit(request, digest, partner);
    },
  };

  async function admit(request: AdmissionRequest, digest: string, partner: string): Promise<Admitted> {
    const scope = request.scope;
    const errors = {
      timeout: () =>
        new UpstreamError(
          'UPSTREAM_TIMEOUT',
          'Partner Center gave no answer in time (no free upstream slot for this token within the request budget).',
          request.upstream,
        ),
      cancelled: () => new CallCancelledError(),
    };
    for (;;) {
      let waited = await waitOutWindow(partner, scope, request);
      const queuedAt = Date.now();
      const release = await slots.acquire(digest, request.deadline, request.signal, errors);
      let turn: Turn | undefined;
      try {
        turn = await takeTurn(partner, request);
        waited ||= Date.now() > queuedAt;
        // A window may have opened while this call queued: it is waited out too, with slot and turn given back.
        if (waited && (await windows.remainingMs(partner, scope)) > 0) {
          turn?.refund();
          release();
          continue;
        }
      } catch (error) {
        release();
        throw error;
      }
      const taken = turn;
      return {
        ...(taken ? { written: () => taken.leaving() } : {}),
        done(outcome) {
          // The window opens before the slot is handed on, so a queued call cannot slip into it.
          if (outcome.status === 429) void windows.open(partner, scope, outcome.retryAfterMs ?? 0);
          // A 401 proves nothing about the tenant the token claims: it spends none of that tenant's budget.
          if (outcome.status === 401) taken?.refund();
          release();
        },
      };
    }
  }
}

/** UPSTREAM_THROTTLED for a call held back without being sent: whole seconds for clients, the exact ms for the sync. */
function heldBack(message: string, upstream: UpstreamInfo, ms: number, seconds = Math.ceil(ms / 1000)): UpstreamError {
  const error = new UpstreamError('UPSTREAM_THROTTLED', message, upstream, { retryAfterSeconds: seconds });
  error.retryAfterMs = ms;
  return error;
}

/** Sleeps, or rejects with CallCancelledError as soon as `signal` aborts. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch {
    throw new CallCancelledError();
  }
}
