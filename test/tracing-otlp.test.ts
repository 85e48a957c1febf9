// Tracing as an operator switches it on, with the standard OTEL_* variables:
// the real gateway process exports its spans as OTLP/HTTP JSON to a loopback
// receiver, and the upstream sees the traceparent of the call's span.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config';
import { customerId, TOKEN } from './support/gateway';
import { startGatewayProcess, stopGatewayProcess } from './support/process';
import { startUpstream, type Upstream } from './support/upstream';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** An OTLP/HTTP receiver on loopback that records every POST it gets. */
async function startReceiver() {
  const posts: Array<{ path: string; contentType: string | undefined; body: string }> = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    posts.push({
      path: req.url ?? '',
      contentType: req.headers['content-type'],
      body: Buffer.concat(chunks).toString(),
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

describe('OTLP/HTTP JSON export', () => {
  let upstream: Upstream | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterEach(async () => {
    await upstream?.close();
    await receiver?.close();
  });

  // The compiled build too: its OpenTelemetry SDK is a chunk of the bundle, imported only when tracing is on.
  it.each([
    ['the sources', false],
    ['the compiled build', true],
  ])(
    'sends the spans to OTEL_EXPORTER_OTLP_ENDPOINT as JSON, under OTEL_SERVICE_NAME, flushed on SIGTERM (%s)',
    async (_, compiled) => {
      receiver = await startReceiver();
      upstream = await startUpstream();
      const gateway = startGatewayProcess(
        {
          PORT: '0',
          PARTNER_CENTER_BASE_URL: upstream.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_SERVICE_NAME: 'gateway-under-test',
        },
        { compiled },
      );
      const base = await gateway.listening();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: TOKEN,
          traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`,
        },
        body: JSON.stringify({ query: `query One { customer(id: "${customerId(1)}") { qualifications { kind } } }` }),
      });
      expect(response.status).toBe(200);
      expect(await stopGatewayProcess(gateway.child)).toBe(0);

      expect(receiver.posts.map((post) => [post.path, post.contentType])).toEqual([['/v1/traces', 'application/json']]);
      const exported = JSON.parse(receiver.posts[0]?.body ?? '{}') as OtlpExport;
      const [resourceSpans] = exported.resourceSpans;
      expect(resourceSpans?.resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'gateway-under-test' },
      });
      const spans = resourceSpans?.scopeSpans.flatMap((scope) => scope.spans) ?? [];
      const operation = spans.find((span) => span.name === 'query One');
      const call = spans.find((span) => span.name === 'GET /v1/customers/{customer-tenant-id}/qualifications');
      expect(operation).toMatchObject({ traceId: TRACE_ID, parentSpanId: CALLER_SPAN_ID });
      expect(call).toMatchObject({ traceId: TRACE_ID, parentSpanId: operation?.spanId });
      expect(call?.attributes).toContainEqual({ key: 'partner_center.attempts', value: { intValue: 1 } });
      expect(upstream.calls.map((received) => received.headers.traceparent)).toEqual([
        `00-${TRACE_ID}-${call?.spanId}-01`,
      ]);
    },
  );
});

describe('the OTEL_* settings', () => {
  it('turns tracing on with OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT only', () => {
    expect(loadConfig({}).tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).tracing).toBe(true);
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
    ).toBe(false);
  });

  it('refuses a protocol other than http/json, naming the variable', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json.*"grpc"/);
  });
});
