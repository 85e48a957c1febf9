// OpenTelemetry, with an in-memory exporter: a span per GraphQL operation and
// one per Partner Center call (its child, with attempts and status), the
// caller's traceparent continued, and each call's traceparent on every
// attempt. Without tracing, no span, no traceparent and no SDK loaded.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../src/observability/tracing';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { ROOT } from './support/process';
import { defaultHandler, json } from './support/upstream';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ exporter });
});
afterAll(async () => {
  await tracing.shutdown();
});
beforeEach(() => exporter.reset());

const { upstream, gatewayWith } = useUpstream();

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN_ID = 'b7ad6b7169203331';

/** The qualifications call fails once with 503; MCA status answers at once. */
function flakyQualifications() {
  upstream.setHandler((call, res, attempt) =>
    call.resource === 'qualifications' && attempt === 1
      ? json(res, 503, { code: 1, description: 'busy' })
      : defaultHandler(call, res, attempt),
  );
}

const DASHBOARD = `query Dashboard { customer(id: "${customerId(1)}") { qualifications { kind } mcaDirectlySigned } }`;

function spansOf(kind: SpanKind): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.kind === kind);
}

describe('with tracing', () => {
  it('makes a span per operation and one per upstream call, its child, with attempts and HTTP status', async () => {
    flakyQualifications();
    const gw = await gatewayWith({}, { tracing });

    await gw.query(DASHBOARD);

    const [operation, ...otherOperations] = spansOf(SpanKind.SERVER);
    expect(otherOperations).toEqual([]);
    expect(operation?.name).toBe('query Dashboard');
    expect(operation?.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Dashboard',
      'http.response.status_code': 200,
    });
    const calls = spansOf(SpanKind.CLIENT).sort((a, b) => a.name.localeCompare(b.name));
    expect(calls.map((span) => span.name)).toEqual([
      'GET /v1/customers/{customer-tenant-id}/directSignedMicrosoftCustomerAgreementStatus',
      'GET /v1/customers/{customer-tenant-id}/qualifications',
    ]);
    expect(calls.map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        'partner_center.resource': 'mca_status',
        'partner_center.attempts': 1,
        'http.request.resend_count': 0,
        'http.response.status_code': 200,
      }),
      expect.objectContaining({
        'partner_center.resource': 'qualifications',
        'partner_center.attempts': 2,
        'http.request.resend_count': 1,
        'http.response.status_code': 200,
        'http.request.method': 'GET',
        'url.full': `${upstream.url}/v1/customers/${customerId(1)}/qualifications`,
      }),
    ]);
    for (const call of calls) {
      expect(call.spanContext().traceId).toBe(operation?.spanContext().traceId);
      expect(call.parentSpanContext?.spanId).toBe(operation?.spanContext().spanId);
    }
  });

  it("continues the caller's W3C traceparent", async () => {
    const gw = await gatewayWith({}, { tracing });

    await gw.query(DASHBOARD, undefined, { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` });

    const [operation] = spansOf(SpanKind.SERVER);
    expect(operation?.spanContext().traceId).toBe(TRACE_ID);
    expect(operation?.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
    for (const call of spansOf(SpanKind.CLIENT)) expect(call.spanContext().traceId).toBe(TRACE_ID);
  });

  it("sends each call's own traceparent on every attempt of that call", async () => {
    flakyQualifications();
    const gw = await gatewayWith({}, { tracing });

    await gw.query(DASHBOARD, undefined, { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` });

    for (const span of spansOf(SpanKind.CLIENT)) {
      const resource =
        span.attributes['partner_center.resource'] === 'mca_status'
          ? 'directSignedMicrosoftCustomerAgreementStatus'
          : 'qualifications';
      const sent = upstream.callsTo(resource).map((call) => call.headers.traceparent);
      expect(sent).toEqual(
        Array(span.attributes['partner_center.attempts']).fill(`00-${TRACE_ID}-${span.spanContext().spanId}-01`),
      );
    }
    expect(upstream.calls).toHaveLength(3);
  });

  it('marks a failed call and its operation with the error code and status', async () => {
    upstream.setHandler((_call, res) => json(res, 404, { code: 600008, description: 'Not found' }));
    const gw = await gatewayWith({}, { tracing });

    await gw.query(`{ customer(id: "${customerId(2)}") { qualifications { kind } } }`);

    const [call] = spansOf(SpanKind.CLIENT);
    expect(call?.status.code).toBe(SpanStatusCode.ERROR);
    expect(call?.attributes).toMatchObject({
      'error.type': 'NOT_FOUND',
      'http.response.status_code': 404,
      'partner_center.attempts': 1,
    });
    const [operation] = spansOf(SpanKind.SERVER);
    expect(operation?.name).toBe('query');
    expect(operation?.status.code).toBe(SpanStatusCode.ERROR);
    expect(operation?.attributes['graphql.error.codes']).toEqual(['NOT_FOUND']);
  });
});

describe('without tracing', () => {
  it('sends no traceparent upstream and makes no span', async () => {
    const gw = await gatewayWith({});

    await gw.query(DASHBOARD, undefined, { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` });

    expect(upstream.calls.map((call) => call.headers.traceparent)).toEqual([undefined, undefined]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('loads no part of the OpenTelemetry SDK', async () => {
    const { stdout } = await promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['test/fixtures/loaded-modules.ts'], {
      cwd: ROOT,
    });
    const loaded = JSON.parse(stdout) as string[];
    // The capture works: yoga's CommonJS dependencies are there.
    expect(loaded.some((path) => path.includes('/node_modules/graphql/'))).toBe(true);
    // Only the API (a no-op facade another dependency loads) may be there; nothing that records or exports spans.
    const sdk = loaded.filter((path) => /@opentelemetry\/(?!api\/)/.test(path));
    expect(sdk).toEqual([]);
  });
});
