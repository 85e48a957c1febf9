// Owns every HTTP call to Partner Center: the undici pool, the headers, the
// per-attempt timeout and per-request budget, retries with backoff, reading
// 429s, and the validation of response bodies. Who may send when (windows,
// slots, pacing) is src/quota/admission.ts's business.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Config } from '../config';
import { type AttemptStatus, type GatewayEvents, ignoredEvents } from '../events';
import { type Logger, silentLogger } from '../logger';
import { type Admission, CallCancelledError, createAdmission } from '../quota/admission';
import type { TokenIdentity } from '../quota/partner-key';
import { createSlots } from '../quota/slots';
import { createThrottleWindows, MIN_WINDOW_MS } from '../quota/windows';
import type { Tracing, UpstreamSpan } from '../tracing';
import {
  CONTINUATION_HEADER,
  customerListPath,
  type ListCustomersRequest,
  parseCustomerBody,
  parseCustomerPage,
  type WireCustomer,
  type WireCustomerPage,
} from './customers';
import {
  badResponse,
  codeForStatus,
  type ErrorCode,
  parseErrorBody,
  UnauthenticatedError,
  UpstreamError,
  type UpstreamInfo,
} from './errors';
import {
  type NewQualificationBody,
  parseQualification,
  parseQualificationList,
  type WireQualification,
} from './qualifications';
import { backoffDelayMs, retryAfterSeconds } from './retry-timing';
import { BodyTooLargeError, createDispatcher, readText } from './transport';

/** What one GraphQL request lends to each of its upstream calls. */
export interface CallContext {
  /** The caller's Authorization header, forwarded unchanged; undefined means no token. */
  readonly authorization: string | undefined;
  /**
   * The token's digest and partner key, worked out once per request rather than for every call and attempt
   * (bench/README.md, "Speed"); worked out from `authorization` where absent.
   */
  readonly token?: TokenIdentity;
  readonly correlationId: string;
  /** Epoch ms after which no attempt starts and every wait gives up (the request budget). */
  readonly deadline: number;
  /** Sent as X-Locale; the configured default when undefined. */
  readonly locale?: string;
  /** Aborted when the caller goes away: queued calls are dropped and GETs in flight aborted. */
  readonly signal?: AbortSignal;
  /** What this request spent upstream, for its log line; the client and the loaders count into it. */
  readonly stats: RequestStats;
  /** The request's logger (carries the correlation id); the client's own logger when absent. */
  readonly log?: Logger;
  /** The request's operation span when tracing is on: parent of each call's span. */
  readonly trace?: ReturnType<Tracing['contextOf']>;
}

/** Per-request counters, written by the client and the loaders, read once when the request ends. */
export interface RequestStats {
  upstreamCalls: number;
  cacheHits: number;
  retries: number;
}

export function createRequestStats(): RequestStats {
  return { upstreamCalls: 0, cacheHits: 0, retries: 0 };
}

/** The Partner Center resources, named as in metrics labels (SPEC.md, "Operations"). */
export type Resource = 'qualifications' | 'mca_status' | 'customer' | 'customer_list';

export interface PartnerCenterClient {
  getQualifications(customerId: string, call: CallContext): Promise<WireQualification[]>;
  getMcaDirectlySigned(customerId: string, call: CallContext): Promise<boolean>;
  addQualification(customerId: string, body: NewQualificationBody, call: CallContext): Promise<WireQualification>;
  /** GET /customers/{id}: the customer's profile (404 is NOT_FOUND). */
  getCustomer(customerId: string, call: CallContext): Promise<WireCustomer>;
  /** GET /customers: one page, filtered by company name, or the page after a continuation token. */
  listCustomers(request: ListCustomersRequest, call: CallContext): Promise<WireCustomerPage>;
  close(): Promise<void>;
}

export type ClientConfig = Pick<
  Config,
  | 'baseUrl'
  | 'applicationName'
  | 'locale'
  | 'attemptTimeoutMs'
  | 'maxAttempts'
  | 'maxConcurrencyPerToken'
  | 'poolConnections'
  | 'httpsProxy'
  | 'httpProxy'
  | 'noProxy'
>;

export interface ClientDeps {
  /** Where requests go; tests inject their own. Defaults to a keep-alive Agent sized by poolConnections. */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** Told of every attempt (metrics); ignored by default. */
  events?: GatewayEvents;
  /** First backoff step in ms (doubled each retry, with jitter); tests may shorten it. */
  retryBaseDelayMs?: number;
  /** The jitter's source, a number in [0, 1); tests pin it to check the backoff curve. */
  random?: () => number;
  /** When tracing is on: a span per call, and its traceparent on every attempt. */
  tracing?: Tracing;
  /** Lets each attempt through (windows, slots, pacing); by default per-token slots and local windows only. */
  admission?: Admission;
}

/** Why an attempt's controller aborted: its own timer, or every caller went away. */
const TIMED_OUT = Symbol('timed out');
const CANCELLED = Symbol('cancelled');

/**
 * An attempt's abort switch. undici takes an EventEmitter as `signal` and reads `aborted` and `reason` from it as
 * from an AbortSignal (the reason is what the request rejects with); making one and listening to it costs a small
 * fraction of an AbortController with its listeners, and there is one per attempt (bench/README.md, "Speed").
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
}

export function createPartnerCenterClient(config: ClientConfig, deps: ClientDeps = {}): PartnerCenterClient {
  if (!config.baseUrl) throw new Error('createPartnerCenterClient needs config.baseUrl');
  const baseUrl = new URL(`${config.baseUrl}/v1`);
  const origin = baseUrl.origin;
  const pathPrefix = baseUrl.pathname;
  const ownsDispatcher = deps.dispatcher === undefined;
  const dispatcher = deps.dispatcher ?? createDispatcher(config);
  const logger = deps.logger ?? silentLogger;
  const tracing = deps.tracing;
  const events = deps.events ?? ignoredEvents;
  const retryBaseDelayMs = deps.retryBaseDelayMs ?? 200;
  const random = deps.random ?? Math.random;
  const admission =
    deps.admission ??
    createAdmission({
      slots: createSlots(config.maxConcurrencyPerToken),
      windows: createThrottleWindows(),
      events,
    });

  /**
   * Resolves with the parsed 2xx body and what is known of the call, for errors about the body's shape. `scope` is
   * what a 429 on this call holds besides the whole partner: its customer, or its resource.
   */
  function call(
    resource: Resource,
    method: 'GET' | 'POST',
    path: string,
    scope: string,
    ctx: CallContext,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ body: unknown; upstream: UpstreamInfo }> {
    if (!tracing) return send(resource, method, path, scope, ctx, body, extraHeaders);
    return tracing.upstreamCall({ resource, method, origin, path: `${pathPrefix}${path}` }, ctx.trace, (span) =>
      send(resource, method, path, scope, ctx, body, extraHeaders, span),
    );
  }

  async function send(
    resource: Resource,
    method: 'GET' | 'POST',
    path: string,
    scope: string,
    ctx: CallContext,
    body: unknown,
    extraHeaders: Record<string, string>,
    span?: UpstreamSpan,
  ): Promise<{ body: unknown; upstream: UpstreamInfo }> {
    const authorization = ctx.authorization;
    if (!authorization) throw new UnauthenticatedError();
    // The request's child logger is only made when a line is written: the happy path writes none here.
    const log = () => ctx.log ?? logger.child({ correlationId: ctx.correlationId });
    // One MS-RequestId per logical call, kept on every attempt so Partner Center can deduplicate retries.
    const requestId = randomUUID();
    const upstream = { requestId, correlationId: ctx.correlationId };
    const headers: Record<string, string> = {
      authorization: ctx.authorization,
      accept: 'application/json',
      'ms-correlationid': ctx.correlationId,
      'ms-requestid': requestId,
      'ms-partnercenter-application': config.applicationName,
      'x-locale': ctx.locale ?? config.locale,
      ...extraHeaders,
    };
    if (span) Object.assign(headers, span.headers);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    // The headers go through pino's redact: the token is written as [redacted].
    if (logger.isLevelEnabled('trace')) log().trace({ method, path, resource, headers }, 'partner center call');

    let last: UpstreamError | undefined;
    for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
      // After a 429 the window itself is the wait (admission.enter below), so no backoff is added.
      if (attempt > 1 && last?.code !== 'UPSTREAM_THROTTLED') {
        // Exponential backoff with jitter, never past the budget: Partner Center asks callers not to retry at once.
        const delay = backoffDelayMs(retryBaseDelayMs, attempt, random());
        if (Date.now() + delay >= ctx.deadline) break;
        try {
          await sleep(delay, undefined, ctx.signal ? { signal: ctx.signal } : {});
        } catch {
          throw new CallCancelledError();
        }
      }
      const admitted = await admission.enter({
        authorization,
        token: ctx.token,
        scope,
        deadline: ctx.deadline,
        signal: ctx.signal,
        upstream,
      });
      ctx.stats.upstreamCalls++;
      if (attempt > 1) ctx.stats.retries++;
      span?.attempt();
      let outcome: Outcome | undefined;
      try {
        // A POST in flight is never aborted: Partner Center may apply it whether or not anyone waits for the answer.
        outcome = await attemptOnce(
          resource,
          method,
          path,
          headers,
          payload,
          ctx.deadline,
          upstream,
          method === 'GET' ? ctx.signal : undefined,
        );
      } finally {
        admitted.done({
          status: statusOf(outcome),
          retryAfterMs: outcome?.kind === 'throttled' ? outcome.retryAfterMs : undefined,
        });
      }
      if (outcome.kind === 'cancelled') throw new CallCancelledError();
      if (outcome.kind === 'ok') return { body: outcome.value, upstream: { ...upstream, status: outcome.status } };
      last = outcome.error;
      // Never the error's message: it quotes Partner Center's description, which may echo what the caller sent.
      log().warn(
        { method, path, resource, attempt, code: last.code, status: last.upstream.status, requestId },
        'partner center call failed',
      );
      if (outcome.kind === 'throttled') {
        // Wait only when the window closes within this request's budget; otherwise fail at once.
        if (method === 'GET' && Date.now() + Math.max(MIN_WINDOW_MS, outcome.retryAfterMs) < ctx.deadline) continue;
        break;
      }
      // A POST goes again only when no response at all arrived; a GET on 5xx, 408, timeouts and lost connections.
      const retry = method === 'GET' ? outcome.kind !== 'final' : outcome.kind === 'no-response';
      if (!retry) break;
    }
    throw (
      last ??
      new UpstreamError('UPSTREAM_TIMEOUT', 'The request budget ran out before Partner Center was called.', upstream)
    );
  }

  type Outcome =
    | { kind: 'ok'; value: unknown; status: number }
    | { kind: 'throttled'; error: UpstreamError; retryAfterMs: number }
    /** Transient with a response (5xx, 408): retried for GET only. */
    | { kind: 'transient'; error: UpstreamError }
    /** No response arrived (connect failure, reset, timeout): retried for GET and POST. */
    | { kind: 'no-response'; error: UpstreamError }
    | { kind: 'final'; error: UpstreamError }
    /** Every request waiting for this GET went away: it was aborted, never retried. */
    | { kind: 'cancelled' };

  function statusOf(outcome: Outcome | undefined): number | undefined {
    if (outcome === undefined || outcome.kind === 'cancelled') return undefined;
    return outcome.kind === 'ok' ? outcome.status : outcome.error.upstream.status;
  }

  async function attemptOnce(
    resource: Resource,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    payload: string | undefined,
    deadline: number,
    upstream: { requestId: string; correlationId: string },
    signal: AbortSignal | undefined,
  ): Promise<Outcome> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { kind: 'final', error: timeoutError(upstream, 'the request budget ran out') };
    }
    const timeoutMs = Math.min(config.attemptTimeoutMs, remaining);
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
      const error = new UpstreamError(
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
  }

  return {
    async getQualifications(customerId, ctx) {
      const { body, upstream } = await call(
        'qualifications',
        'GET',
        `/customers/${customerId}/qualifications`,
        customerId,
        ctx,
      );
      return parseQualificationList(body, upstream, customerId);
    },
    async getMcaDirectlySigned(customerId, ctx) {
      const { body, upstream } = await call(
        'mca_status',
        'GET',
        `/customers/${customerId}/directSignedMicrosoftCustomerAgreementStatus`,
        customerId,
        ctx,
      );
      const isSigned = (body as { isSigned?: unknown } | null)?.isSigned;
      if (typeof isSigned !== 'boolean') {
        throw badResponse(
          upstream,
          'expected {"isSigned": true|false} from directSignedMicrosoftCustomerAgreementStatus',
        );
      }
      return isSigned;
    },
    async addQualification(customerId, newQualification, ctx) {
      const { body, upstream } = await call(
        'qualifications',
        'POST',
        `/customers/${customerId}/qualifications`,
        customerId,
        ctx,
        newQualification,
      );
      const item = parseQualification(body);
      if (!item) throw badResponse(upstream, 'expected the created qualification object from POST qualifications');
      // Logged because it cannot be undone: whatever happens to the rest of the request, Partner Center applied it.
      (ctx.log ?? logger.child({ correlationId: ctx.correlationId })).info(
        { customerId, qualification: item.qualification, status: upstream.status, requestId: upstream.requestId },
        'partner center added a qualification',
      );
      return item;
    },
    async getCustomer(customerId, ctx) {
      const { body, upstream } = await call('customer', 'GET', `/customers/${customerId}`, customerId, ctx);
      return parseCustomerBody(body, customerId, upstream);
    },
    async listCustomers(request, ctx) {
      const token = request.continuationToken;
      const headers: Record<string, string> = token ? { [CONTINUATION_HEADER]: token } : {};
      // The list has no customer: a 429 on it holds the list (and, with another open window, the whole partner).
      const { body, upstream } = await call(
        'customer_list',
        'GET',
        customerListPath(request),
        'customer_list',
        ctx,
        undefined,
        headers,
      );
      return parseCustomerPage(body, upstream);
    },
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function timeoutError(upstream: object, why: string): UpstreamError {
  return new UpstreamError('UPSTREAM_TIMEOUT', `Partner Center gave no answer in time (${why}).`, upstream);
}
