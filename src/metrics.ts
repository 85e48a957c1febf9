// Owns the Prometheus metrics: one prom-client registry per gateway, the
// Partner Center and quota families fed by GatewayEvents, the HTTP duration
// of GraphQL requests fed by the request log's record, and yoga's Prometheus
// plugin, which counts and times operations and serves the registry at
// /metrics.

import {
  createCounter,
  createHistogram,
  type FillLabelsFnParams,
  usePrometheus,
} from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { GatewayEvents } from './events';
import type { AnsweredRequest } from './request-log';
import { createHistogramTally, createTally } from './tally';

export interface Metrics {
  readonly registry: Registry;
  /** Counts what the client and the quota machinery report. */
  readonly events: GatewayEvents;
  /** yoga's GraphQL request metrics, and the /metrics endpoint. */
  readonly plugin: Plugin;
  /** Times a GraphQL request's HTTP exchange (graphql_yoga_http_duration); the request log calls it. */
  readonly answered: (request: AnsweredRequest) => void;
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag); main.ts turns them on. */
  processMetrics?: boolean;
}

/** Upstream latency buckets, in seconds: up to the default 8 s attempt timeout and the 20 s budget. */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10, 20];

const OPERATION_LABELS = ['operationType', 'operationName'];
/** The labels yoga's plugin gives an operation: the name and type it read from the parsed document. */
const operationLabels = (params: FillLabelsFnParams) =>
  ({ operationName: params.operationName, operationType: params.operationType }) as Record<string, string>;

export function createMetrics({ processMetrics = false }: MetricsOptions = {}): Metrics {
  // A registry of its own rather than prom-client's global one: each gateway (and each test) counts alone.
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  // What is counted and timed for every Partner Center call and every request is tallied (src/tally.ts): plain
  // numbers until scraped.
  const requests = createTally(registry, {
    name: 'partner_center_requests_total',
    help: 'HTTP attempts sent to Partner Center, retries included, by resource, method and HTTP status (or timeout, network).',
    labelNames: ['resource', 'method', 'status'],
  });
  const duration = createHistogramTally(registry, {
    name: 'partner_center_request_duration_seconds',
    help: 'Duration of each HTTP attempt sent to Partner Center, by resource.',
    labelNames: ['resource'],
    buckets: UPSTREAM_BUCKETS,
  });
  const cacheLookups = createTally(registry, {
    name: 'gateway_cache_lookups_total',
    help: 'Lookups in the cross-request cache and the coalescing map, by resource and result (hit, miss, coalesced).',
    labelNames: ['resource', 'result'],
  });
  const throttled = new Counter({
    name: 'gateway_throttled_calls_total',
    help: 'Calls held back without reaching Partner Center, by reason (window: an open 429 window; pacing: the per-minute budget).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Both reasons exist from the start, so rate() and alerts see a 0 rather than no series.
  for (const reason of ['window', 'pacing'] as const) throttled.inc({ reason }, 0);

  const events: GatewayEvents = {
    upstreamAttempt({ resource, method, status, durationSeconds }) {
      requests.inc({ resource, method, status: String(status) });
      duration.observe({ resource }, durationSeconds);
    },
    cacheLookup(resource, result) {
      cacheLookups.inc({ resource, result });
    },
    throttled(reason) {
      throttled.inc({ reason });
    },
  };

  // yoga's plugin names this histogram and would fill it too, but with hooks of its own on every request (a start
  // time and the parsed operation kept in two WeakMaps, the server context copied for each observation): about 12%
  // of a cheap request's CPU in-process (bench/README.md "Logging and metrics"). The request log already keeps
  // that record, so it feeds the same family, with the plugin's name, help, labels (`url` off) and buckets.
  const http = createHistogramTally(registry, {
    name: 'graphql_yoga_http_duration',
    help: 'Time spent on HTTP connection',
    labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
  });
  const answered = ({ operationName, operationType, method, statusCode, seconds }: AnsweredRequest): void => {
    http.observe({ operationName, operationType, method, statusCode: String(statusCode) }, seconds);
  };

  const plugin = usePrometheus({
    registry,
    endpoint: '/metrics',
    // yoga's request metrics: operations, their duration and their errors (the HTTP time is `http` above). Left out,
    // measured at about 120 µs of CPU per request together: the summary (the histogram's duplicate, and summaries
    // cannot be aggregated across replicas), deprecated-field counting (a TypeInfo walk of every document, for a
    // schema without deprecated fields), the per-phase histograms and schema changes (static schema).
    metrics: {
      // The plugin's own two families, given a label function that reads the two labels rather than the default's
      // copy-and-filter of every parameter on each observation.
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_request',
          help: 'Counts the amount of GraphQL requests executed through Envelop',
          labelNames: OPERATION_LABELS,
        },
        fillLabelsFn: operationLabels,
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_envelop_request_duration',
          help: 'Time spent on running the GraphQL operation from parse to execute',
          labelNames: OPERATION_LABELS,
        },
        fillLabelsFn: operationLabels,
      }),
      graphql_envelop_error_result: true,
      graphql_yoga_http_duration: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
    },
  });
  return { registry, events, plugin, answered };
}
