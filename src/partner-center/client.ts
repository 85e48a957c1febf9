// Owns every call to Partner Center: the undici pool, the headers, the
// per-request budget, retries with backoff, waiting out 429s, and the
// validation of response bodies. One HTTP attempt (its timeout, reading and
// classifying the answer) is attempt.ts's; who may send when (windows,
// slots, pacing) is the admission port's business (admission-port.ts), which
// src/quota/admission.ts implements.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { badResponse, UnauthenticatedError, UpstreamError, type UpstreamInfo } from '../domain/errors';
import type { Resource } from '../domain/upstream';
import { type GatewayEvents, ignoredEvents } from '../observability/events';
import { type Logger, silentLogger } from '../observability/logger';
import type { Tracing, UpstreamSpan } from '../observability/tracing';
import { type Admission, CallCancelledError, MIN_WINDOW_MS } from './admission-port';
import { MCA_TYPE, parseAgreementList, parseCreatedAgreement, parseCurrentTemplate } from './agreements';
import { createAttempt, type Outcome, statusOf } from './attempt';
import { CONTINUATION_HEADER, customerListPath, parseCustomerBody, parseCustomerPage } from './customers';
import { parseQualification, parseQualificationList } from './qualifications';
import { backoffDelayMs } from './retry-timing';
import { createDispatcher, tellingWrites } from './transport';
import type { CallContext, ClientConfig, PartnerCenterClient } from './types';

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
  /** Lets each attempt through: windows, slots and pacing (src/quota/quota.ts builds it). */
  admission: Admission;
}

export function createPartnerCenterClient(config: ClientConfig, deps: ClientDeps): PartnerCenterClient {
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
  const attemptOnce = createAttempt({
    dispatcher: tellingWrites(dispatcher),
    origin,
    pathPrefix,
    attemptTimeoutMs: config.attemptTimeoutMs,
    events,
  });
  const admission = deps.admission;

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
    const authorization = ctx.signIn ? await ctx.signIn(ctx.deadline) : ctx.authorization;
    if (!authorization) throw new UnauthenticatedError();
    // The request's child logger is only made when a line is written: the happy path writes none here.
    const log = () => ctx.log ?? logger.child({ correlationId: ctx.correlationId });
    // One MS-RequestId per logical call, kept on every attempt so Partner Center can deduplicate retries.
    const requestId = randomUUID();
    const upstream = { requestId, correlationId: ctx.correlationId };
    const headers: Record<string, string> = {
      authorization,
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
    const maxAttempts = ctx.background ? 1 : config.maxAttempts;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
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
        background: ctx.background === true,
      });
      ctx.stats.upstreamCalls++;
      ctx.stats.sentAt = Date.now();
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
          admitted.written,
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
    async getAgreements(customerId, ctx) {
      const { body, upstream } = await call(
        'agreements',
        'GET',
        `/customers/${customerId}/agreements?agreementType=${MCA_TYPE}`,
        customerId,
        ctx,
      );
      return parseAgreementList(body, upstream, customerId);
    },
    async getCurrentAgreementTemplate(ctx) {
      // The partner's metadata, no customer's: a 429 on it holds this resource (and, with another window, the partner).
      const { body, upstream } = await call(
        'agreement_metadata',
        'GET',
        `/agreements?agreementType=${MCA_TYPE}`,
        'agreement_metadata',
        ctx,
      );
      return parseCurrentTemplate(body, upstream);
    },
    async confirmAgreement(customerId, agreement, ctx) {
      let answer: { body: unknown; upstream: UpstreamInfo };
      try {
        answer = await call('agreements', 'POST', `/customers/${customerId}/agreements`, customerId, ctx, agreement);
      } catch (error) {
        // Partner Center's description of a refused contact may quote it, and a contact is personal data: the client
        // sees the status and the code, never that text.
        if (error instanceof UpstreamError && error.upstream.status !== undefined && error.code !== 'UNAUTHENTICATED') {
          const { code: _code, upstream: _upstream, ...extra } = error.extensions;
          const plain = new UpstreamError(
            error.code,
            `Partner Center answered ${error.upstream.status} to the agreement confirmation.`,
            error.upstream,
            extra,
          );
          plain.retryAfterMs = error.retryAfterMs;
          throw plain;
        }
        throw error;
      }
      const created = parseCreatedAgreement(answer.body, answer.upstream);
      // Logged because it cannot be undone; never the contact.
      (ctx.log ?? logger.child({ correlationId: ctx.correlationId })).info(
        {
          customerId,
          templateId: created.templateId,
          status: answer.upstream.status,
          requestId: answer.upstream.requestId,
        },
        'partner center confirmed a customer agreement',
      );
      return created;
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
