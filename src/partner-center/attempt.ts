// Owns one HTTP attempt at Partner Center: its timer (the attempt timeout
// within the request's budget), its cancellation when every caller has gone,
// reading the answer, reporting it (GatewayEvents), and what it came to: a
// body, a 429 with its wait, an error to retry or not, or nothing at all.
// Whether and when to try again is client.ts's loop.

import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { codeForStatus, type ErrorCode, type ParsedErrorBody, parseErrorBody, UpstreamError } from '../domain/errors';
import type { Resource } from '../domain/upstream';
import type { AttemptStatus, GatewayEvents } from '../observability/events';
import { retryAfterSeconds } from './retry-timing';
import { BodyTooLargeError, ON_WRITTEN, readText } from './transport';

/** Why an attempt's controller aborted: its own timer, or every caller went away. */
const TIMED_OUT = Symbol('timed out');
const CANCELLED = Symbol('cancelled');

/**
 * An attempt's abort switch. undici takes it as `signal` and reads `aborted` and `reason` from it as from an
 * AbortSignal (the reason is what the request rejects with), listening through `addEventListener` (Node's
 * addAbortListener); making one and listening to it costs a small fraction of an AbortController with its
 * listeners, and there is one per attempt (bench/README.md, "Speed").
 */
class AttemptController extends EventEmitter {
  aborted = false;
  reason: typeof TIMED_OUT | typeof CANCELLED | undefined;

  abort(reason: typeof TIMED_OUT | typeof CANCELLED): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  addEventListener(type: string, listener: () => void): void {
    this.once(type, listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    this.off(type, listener);
  }
}

export type Outcome =
  | { kind: 'ok'; value: unknown; status: number }
  | { kind: 'throttled'; error: UpstreamError; retryAfterMs: number }
  /** Transient with a response (5xx, 408): retried for GET only. */
  | { kind: 'transient'; error: UpstreamError }
  /** No response arrived (connect failure, reset, timeout): retried for GET and POST. */
  | { kind: 'no-response'; error: UpstreamError }
  | { kind: 'final'; error: UpstreamError }
  /** Every request waiting for this GET went away: it was aborted, never retried. */
  | { kind: 'cancelled' };

export function statusOf(outcome: Outcome | undefined): number | undefined {
  if (outcome === undefined || outcome.kind === 'cancelled') return undefined;
  return outcome.kind === 'ok' ? outcome.status : outcome.error.upstream.status;
}

export interface AttemptDeps {
  readonly dispatcher: Dispatcher;
  readonly origin: string;
  /** The base URL's path, `/v1` included, put before every resource path. */
  readonly pathPrefix: string;
  readonly attemptTimeoutMs: number;
  readonly events: GatewayEvents;
}

/** Makes the function that sends one attempt and says what it came to. */
export function createAttempt({ dispatcher, origin, pathPrefix, attemptTimeoutMs, events }: AttemptDeps) {
  return async function attemptOnce(
    resource: Resource,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    payload: string | undefined,
    deadline: number,
    upstream: { requestId: string; correlationId: string },
    signal: AbortSignal | undefined,
    /** Called when the request is written to its socket (the dispatcher is tellingWrites'). */
    onWritten?: () => void,
  ): Promise<Outcome> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { kind: 'final', error: timeoutError(upstream, 'the request budget ran out') };
    }
    const timeoutMs = Math.min(attemptTimeoutMs, remaining);
    // The one timer of this attempt. undici's own headersTimeout and bodyTimeout are switched off below, so a slow
    // answer always ends here as UPSTREAM_TIMEOUT, never as an undici error read as UPSTREAM_UNAVAILABLE.
    const controller = new AttemptController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    const cancel = () => controller.abort(CANCELLED);
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    const started = performance.now();
    let status: number | undefined;
    const report = (ended: AttemptStatus) =>
      events.upstreamAttempt({
        resource,
        method,
        status: ended,
        durationSeconds: (performance.now() - started) / 1000,
      });
    try {
      const response = await dispatcher.request({
        origin,
        path: `${pathPrefix}${path}`,
        method,
        headers,
        body: payload,
        signal: controller,
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(onWritten ? { [ON_WRITTEN]: onWritten } : {}),
      });
      status = response.statusCode;
      const text = await readText(response.body);
      report(status);
      const info = { ...upstream, status };
      if (status >= 200 && status < 300) {
        try {
          return { kind: 'ok', value: JSON.parse(text), status };
        } catch {
          return {
            kind: 'final',
            error: new UpstreamError(
              'UPSTREAM_BAD_RESPONSE',
              `Partner Center answered ${status} with a body that is not JSON.`,
              info,
            ),
          };
        }
      }
      const parsed = parseErrorBody(text, headers.authorization);
      const detail = parsed.description ? `: ${parsed.description}` : '.';
      const code: ErrorCode = codeForStatus(status);
      const error =
        status === 401 && mfaRequired(parsed)
          ? new UpstreamError(
              'UNAUTHENTICATED',
              MFA_MESSAGE,
              { ...info, code: parsed.code },
              { reason: 'MFA_REQUIRED' },
            )
          : new UpstreamError(
              code,
              `Partner Center answered ${status}${detail}`,
              { ...info, code: parsed.code },
              status === 429 ? { retryAfterSeconds: retryAfterSeconds(response.headers['retry-after'], text) } : {},
            );
      if (status === 429) {
        return { kind: 'throttled', error, retryAfterMs: (error.extensions.retryAfterSeconds as number) * 1000 };
      }
      if (status >= 500 || status === 408) return { kind: 'transient', error };
      return { kind: 'final', error };
    } catch (cause) {
      const why = controller.reason;
      report(why === TIMED_OUT ? 'timeout' : status === undefined ? 'network' : status);
      const info = { ...upstream, ...(status === undefined ? {} : { status }) };
      if (cause instanceof BodyTooLargeError) {
        return { kind: 'final', error: new UpstreamError('UPSTREAM_BAD_RESPONSE', cause.message, info) };
      }
      if (why === CANCELLED) return { kind: 'cancelled' };
      const kind = status === undefined ? 'no-response' : 'transient';
      if (why === TIMED_OUT) {
        return { kind, error: timeoutError(info, `no answer within ${timeoutMs} ms`) };
      }
      const reason = (cause as { code?: string }).code ?? (cause as Error).name;
      return {
        kind,
        error: new UpstreamError('UPSTREAM_UNAVAILABLE', `Partner Center could not be reached (${reason}).`, info),
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  };
}

/** Partner Center's code for an App+User token whose sign-in did not use multi-factor authentication. */
const MFA_CODE = 900421;

const MFA_MESSAGE =
  'Partner Center needs an App+User token from a sign-in with multi-factor authentication (MFA): sign in again with MFA and send the new token (a gateway that signs in itself: consent again with MFA and set the new refresh token).';

/** A 401 that says MFA is missing: code 900421, or text that says multi-factor authentication is required. */
function mfaRequired(parsed: ParsedErrorBody): boolean {
  if (Number(parsed.code) === MFA_CODE) return true;
  return /multi-?factor|\bMFA\b/i.test(parsed.description ?? '');
}

function timeoutError(upstream: object, why: string): UpstreamError {
  return new UpstreamError('UPSTREAM_TIMEOUT', `Partner Center gave no answer in time (${why}).`, upstream);
}
