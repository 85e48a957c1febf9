// Owns OpenTelemetry tracing: a span per GraphQL operation (continuing the
// caller's W3C traceparent) and a span per Partner Center call (attempts and
// status on it), whose traceparent every attempt carries. Only types are
// imported at the top: the API and the SDK load inside startTracing, so a
// gateway without OTEL_EXPORTER_OTLP_ENDPOINT loads none of it and pays nothing.

import type { Context as TraceContext } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Resource } from '../domain/upstream';
import { exportsOf } from '../runtime/interop';

/** One upstream call as the client describes it to its span. */
export interface UpstreamCallInfo {
  readonly resource: Resource;
  readonly method: 'GET' | 'POST';
  /** Origin of the Partner Center URL, e.g. https://api.partnercenter.microsoft.com */
  readonly origin: string;
  /** Full path, customer id included. */
  readonly path: string;
}

/** What the client's retry loop sees of its call's span. */
export interface UpstreamSpan {
  /** `traceparent` (and `tracestate` when any) naming this call's span: sent on every attempt. */
  readonly headers: Readonly<Record<string, string>>;
  /** Counts one HTTP attempt. */
  attempt(): void;
}

export interface Tracing {
  /** yoga plugin: the span per GraphQL operation. */
  readonly plugin: Plugin;
  /** The operation span's context of a request, parent of its upstream calls. */
  contextOf(request: Request): TraceContext | undefined;
  /** Runs one upstream call, all its attempts, inside a CLIENT span. */
  upstreamCall<T extends { upstream: { status?: number } }>(
    call: UpstreamCallInfo,
    parent: TraceContext | undefined,
    run: (span: UpstreamSpan) => Promise<T>,
  ): Promise<T>;
  /** Exports the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /**
   * Where spans go. Default: OTLP over HTTP with JSON bodies, configured by the
   * standard OTEL_EXPORTER_OTLP_* variables, batched. A given exporter (tests:
   * InMemorySpanExporter) gets each span as it ends.
   */
  exporter?: SpanExporter;
  /** The GraphQL path whose requests get operation spans. */
  graphqlEndpoint?: string;
}

const SERVICE_NAME = 'partner-center-gateway';

/**
 * Loads the OpenTelemetry SDK and returns the gateway's tracing. The tracer
 * provider is this gateway's own, not registered globally, so tests can run
 * many gateways; parents travel explicitly (request -> CallContext.trace).
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing> {
  const [api, core, base, resources] = await Promise.all([
    import('@opentelemetry/api').then((module) => exportsOf(module, 'trace')),
    import('@opentelemetry/core').then((module) => exportsOf(module, 'W3CTraceContextPropagator')),
    import('@opentelemetry/sdk-trace').then((module) => exportsOf(module, 'TracerProvider')),
    import('@opentelemetry/resources').then((module) => exportsOf(module, 'resourceFromAttributes')),
  ]);
  const { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } = api;
  const exporter =
    options.exporter ??
    new (exportsOf(await import('@opentelemetry/exporter-trace-otlp-http'), 'OTLPTraceExporter').OTLPTraceExporter)();
  const processor = options.exporter
    ? new base.SimpleSpanProcessor({ exporter })
    : new base.BatchSpanProcessor({ exporter });
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the built-in name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': SERVICE_NAME }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new base.TracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer(SERVICE_NAME);
  const propagator = new core.W3CTraceContextPropagator();
  const headersGetter = {
    get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
    keys: (carrier: Headers) => [...carrier.keys()],
  };
  const graphqlEndpoint = options.graphqlEndpoint ?? '/graphql';

  const operations = new WeakMap<Request, { span: ReturnType<typeof tracer.startSpan>; context: TraceContext }>();

  const plugin: Plugin = {
    onRequest({ request, url }) {
      if (url.pathname !== graphqlEndpoint || request.method === 'OPTIONS') return;
      // A caller's valid traceparent makes this span its child; anything else starts a new trace.
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, headersGetter);
      const span = tracer.startSpan(
        'GraphQL Operation',
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': url.pathname } },
        parent,
      );
      operations.set(request, { span, context: trace.setSpan(parent, span) });
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const operation = request && operations.get(request);
      if (!operation) return;
      const definition = getOperationAST(args.document, args.operationName);
      if (!definition) return;
      const name = definition.name?.value;
      operation.span.updateName(name ? `${definition.operation} ${name}` : definition.operation);
      operation.span.setAttribute('graphql.operation.type', definition.operation);
      if (name) operation.span.setAttribute('graphql.operation.name', name);
    },
    onResultProcess({ request, result }) {
      const operation = operations.get(request);
      if (!operation || Symbol.asyncIterator in result) return;
      const codes = [result]
        .flat()
        .flatMap((single) => single.errors ?? [])
        .map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
      if (codes.length === 0) return;
      operation.span.setAttribute('graphql.error.codes', [...new Set(codes)]);
      operation.span.setStatus({ code: SpanStatusCode.ERROR, message: [...new Set(codes)].join(', ') });
    },
    onResponse({ request, response }) {
      const operation = operations.get(request);
      if (!operation) return;
      operations.delete(request);
      operation.span.setAttribute('http.response.status_code', response.status);
      operation.span.end();
    },
  };

  return {
    plugin,
    contextOf: (request) => operations.get(request)?.context,
    async upstreamCall(call, parent, run) {
      const url = new URL(call.path, call.origin);
      const span = tracer.startSpan(
        `${call.method} ${call.path.replace(/\/customers\/[^/]+/, '/customers/{customer-tenant-id}')}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': call.method,
            'url.full': url.href,
            'server.address': url.hostname,
            'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
            'partner_center.resource': call.resource,
          },
        },
        parent ?? ROOT_CONTEXT,
      );
      const headers: Record<string, string> = {};
      propagator.inject(trace.setSpan(parent ?? ROOT_CONTEXT, span), headers, {
        set: (carrier, key, value) => {
          carrier[key] = value;
        },
      });
      let attempts = 0;
      try {
        const result = await run({
          headers,
          attempt: () => {
            attempts++;
          },
        });
        if (result.upstream.status !== undefined)
          span.setAttribute('http.response.status_code', result.upstream.status);
        return result;
      } catch (error) {
        const failure = error as { code?: string; name?: string; upstream?: { status?: number } };
        if (failure.upstream?.status !== undefined)
          span.setAttribute('http.response.status_code', failure.upstream.status);
        span.setAttribute('error.type', failure.code ?? failure.name ?? 'Error');
        span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code });
        throw error;
      } finally {
        span.setAttribute('partner_center.attempts', attempts);
        span.setAttribute('http.request.resend_count', Math.max(0, attempts - 1));
        span.end();
      }
    },
    shutdown: () => provider.shutdown(),
  };
}
