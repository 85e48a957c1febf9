import type { ServerResponse } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { startTracing } from '../src/observability/tracing';
import { ADD_STATE_OWNED } from './support/documents';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { captureLogs } from './support/logs';
import { abandonable, held, recordEvents, until } from './support/quota';
import { defaultHandler, json, type RecordedCall } from './support/upstream';

const QUALIFICATIONS_OF = /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`;

describe('cancellation', () => {
  /** Records, into this test's own list, the calls whose connection the gateway closed before they were answered. */
  const tracker = () => {
    const aborted: RecordedCall[] = [];
    const answered: RecordedCall[] = [];
    const track = (call: RecordedCall, res: ServerResponse) =>
      res.on('close', () => (res.writableFinished ? answered : aborted).push(call));
    return { aborted, answered, track };
  };
  const { upstream, gatewayWith } = useUpstream();

  it('drops the queued calls and aborts the GETs in flight of a caller that disconnects, freeing its slots', async () => {
    const { aborted: abortedByGateway, track } = tracker();
    const answers = held(defaultHandler);
    upstream.setHandler((call, res, attempt) => {
      track(call, res);
      // Only the abandoned request's customers are held; the later request is answered at once.
      return call.customerId === customerId(100)
        ? defaultHandler(call, res, attempt)
        : answers.handler(call, res, attempt);
    });
    const logs = captureLogs('info');
    const gw = await gatewayWith({ maxConcurrencyPerToken: 2 }, { logger: logs.logger });
    const ids = [1, 2, 3, 4, 5, 6].map(customerId);
    const first = abandonable(gw.url, QUALIFICATIONS_OF, { ids });
    await until('two calls are in flight', () => upstream.calls.length === 2);
    first.abandon();
    await until('both calls in flight were aborted', () => abortedByGateway.length === 2);

    // Slots are free again, and the four queued calls were dropped: had they not been, they would have gone first.
    const later = await gw.query(QUALIFICATIONS_OF, { ids: [customerId(100)] });
    expect(later.body.errors).toBeUndefined();
    answers.release();
    // The two first calls start together and may arrive in either order; nothing else came before the later one.
    const arrived = upstream.calls.map((call) => call.customerId);
    expect([...arrived.slice(0, 2)].sort()).toEqual([ids[0], ids[1]]);
    expect(arrived.slice(2)).toEqual([customerId(100)]);
    expect(gw.disconnects()).toBe(1);
    // An aborted GET is neither a failure nor retried.
    expect(logs.withMessage('partner center call failed')).toEqual([]);
  });

  it('aborts a shared GET only once every request waiting for it has gone', async () => {
    const { aborted: abortedByGateway, track } = tracker();
    const answers = held(defaultHandler);
    upstream.setHandler((call, res, attempt) => {
      track(call, res);
      return answers.handler(call, res, attempt);
    });
    const events = recordEvents();
    const gw = await gatewayWith({}, { events });
    const ids = [customerId(7)];
    const first = abandonable(gw.url, QUALIFICATIONS_OF, { ids });
    await until('the call is in flight', () => upstream.calls.length === 1);
    const second = abandonable(gw.url, QUALIFICATIONS_OF, { ids });
    await until('the second request joined the call', () => events.lookups.length === 2);
    first.abandon();
    await until('the gateway saw the first caller go', () => gw.disconnects() === 1);
    expect(abortedByGateway).toHaveLength(0);
    second.abandon();
    await until('the shared call was aborted', () => abortedByGateway.length === 1);
    expect(upstream.calls).toHaveLength(1);
    answers.release();
  });

  it('stops waiting out the backoff before a retry as soon as its caller disconnects', async () => {
    upstream.setHandler((_call, res) => json(res, 503, {}));
    const logs = captureLogs('info');
    const exporter = new InMemorySpanExporter();
    const tracing = await startTracing({ exporter });
    try {
      // The backoff before the second attempt is 5 minutes: the call's span ends in time only if that wait is cut short.
      const gw = await gatewayWith(
        { requestBudgetMs: 600_000 },
        { retryBaseDelayMs: 600_000, random: () => 0, logger: logs.logger, tracing },
      );
      const request = abandonable(gw.url, QUALIFICATIONS_OF, { ids: [customerId(10)] });
      await until('the first attempt failed', () => logs.withMessage('partner center call failed').length === 1);
      request.abandon();
      const calls = () => exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT);
      await until("the call's span ended", () => calls().length === 1);
      expect(calls()[0]?.attributes['partner_center.attempts']).toBe(1);
      expect(upstream.calls).toHaveLength(1);
    } finally {
      await tracing.shutdown();
    }
  });

  it("drops a request's remaining calls once its answer is complete: a null that bubbles up ends the request early", async () => {
    const { aborted: abortedByGateway, track } = tracker();
    const agreements = held(defaultHandler);
    upstream.setHandler((call, res, attempt) => {
      track(call, res);
      // qualifications is non-null: its refusal nulls the customer, and graphql-js answers without waiting for
      // mcaDirectlySigned, whose call is still held. Had that call gone on, a 503 would have been retried.
      if (call.resource === 'qualifications' && call.customerId === customerId(11))
        return json(res, 400, { code: 600001, description: 'Bad request' });
      return agreements.handler(call, res, attempt);
    });
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { retryBaseDelayMs: 1, random: () => 0, logger: logs.logger });
    const answer = await gw.query(
      `{ customer(id: "${customerId(11)}") { mcaDirectlySigned qualifications { kind } } }`,
    );
    expect(answer.body.data).toEqual({ customer: null });
    expect(answer.body.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    await until('the held call was aborted', () => abortedByGateway.length === 1);
    expect(abortedByGateway.map((call) => call.resource)).toEqual(['directSignedMicrosoftCustomerAgreementStatus']);
    agreements.release();
    // Nothing more is sent for the finished request: a probe's call is the next one to arrive.
    await gw.query(`{ customer(id: "${customerId(12)}") { qualifications { kind } } }`);
    const arrived = upstream.calls.map((call) => `${call.resource} ${call.customerId}`);
    expect(arrived.slice(0, 2).sort()).toEqual([
      `directSignedMicrosoftCustomerAgreementStatus ${customerId(11)}`,
      `qualifications ${customerId(11)}`,
    ]);
    expect(arrived.slice(2)).toEqual([`qualifications ${customerId(12)}`]);
    expect(logs.withMessage('partner center call failed').map((line) => line.status)).toEqual([400]);
  });

  it('never aborts a POST in flight when its caller disconnects', async () => {
    const { aborted: abortedByGateway, answered, track } = tracker();
    const answers = held(defaultHandler);
    upstream.setHandler((call, res, attempt) => {
      track(call, res);
      return answers.handler(call, res, attempt);
    });
    const gw = await gatewayWith({});
    const mutation = abandonable(gw.url, ADD_STATE_OWNED, { id: customerId(8) });
    await until('the POST is in flight', () => upstream.calls.length === 1);
    mutation.abandon();
    await until('the gateway saw the caller go', () => gw.disconnects() === 1);
    answers.release();
    // The POST is answered, and nothing is sent again.
    await until('the POST was answered or aborted', () => answered.length + abortedByGateway.length === 1);
    const probe = await gw.query(`{ customer(id: "${customerId(9)}") { id } }`);
    expect(probe.body.errors).toBeUndefined();
    expect(abortedByGateway).toHaveLength(0);
    expect(upstream.calls.map((call) => call.method)).toEqual(['POST']);
  });
});
