// Owns the Prometheus metrics: one prom-client registry per gateway, the
// Partner Center and quota families fed by GatewayEvents, the GraphQL request
// families of yoga's Prometheus plugin (same names, help, labels and label
// values) fed by the request log's record, and the /metrics endpoint.

import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { GatewayEvents } from './events';
import type { AnsweredRequest } from './request-log';
import { createHistogramTally, createTally } from './tally';

export interface Metrics {
  readonly registry: Registry;
  /**
   * Serves gateway_sync_customers and gateway_customer_base_customers from the sync's status at each scrape (the sync
   * is made after the metrics).
   */
  watchSync(status: () => SyncCounts): void;
  /** Serves gateway_subscriptions from the open subscriptions at each scrape, by transport. */
  watchSubscriptions(open: () => Readonly<Record<'sse' | 'ws', number>>): void;
  /** Counts what the client and the quota machinery report. */
  readonly events: GatewayEvents;
  /** Serves the registry at /metrics. */
  readonly plugin: Plugin;
  /** Counts and times a GraphQL request from the request log's record, as its answer goes out. */
  readonly answered: (request: AnsweredRequest) => void;
}

/** What the sync's gauges show: its progress, and the snapshot's customers by MCA acceptance. */
export interface SyncCounts {
  readonly known: number;
  readonly synced: number;
  readonly mca: { readonly accepted: number; readonly notAccepted: number; readonly unknown: number };
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag); main.ts turns them on. */
  processMetrics?: boolean;
}

/** Upstream latency buckets, in seconds: up to the default 8 s attempt timeout and the 20 s budget. */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10, 20];

export function createMetrics({ processMetrics = false }: MetricsOptions = {}): Metrics {
  // A registry of its own rather than prom-client's global one: each gateway (and each test) counts alone.
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  // What is counted and timed for every Partner Center call and every request is tallied (src/observability/tally.ts): plain
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
  const tokenRequests = new Counter({
    name: 'gateway_token_requests_total',
    help: "Requests to Entra's token endpoint for the gateway's own Partner Center token, by grant (refresh_token, client_credentials) and result (ok, refused, error).",
    labelNames: ['grant', 'result'] as const,
    registers: [registry],
  });
  const callerAuth = new Counter({
    name: 'gateway_caller_auth_total',
    help: "Callers' bearer tokens checked by a gateway that signs in itself, by result (ok, missing, invalid, expired, forbidden: verified but without the role).",
    labelNames: ['result'] as const,
    registers: [registry],
  });

  const syncCalls = new Counter({
    name: 'gateway_sync_calls_total',
    help: 'Upstream attempts of the background sync of the customer base, by resource and HTTP status (or timeout, network).',
    labelNames: ['resource', 'status'] as const,
    registers: [registry],
  });
  let syncStatus: (() => SyncCounts) | undefined;
  new Gauge({
    name: 'gateway_customer_base_customers',
    help: 'Customers of the customer-base snapshot by MCA acceptance: accepted (signed directly or attested), not_accepted (orders fail) and unknown (not read yet, refused or not supported).',
    labelNames: ['mca'] as const,
    registers: [registry],
    collect() {
      if (!syncStatus) return;
      const { mca } = syncStatus();
      this.set({ mca: 'accepted' }, mca.accepted);
      this.set({ mca: 'not_accepted' }, mca.notAccepted);
      this.set({ mca: 'unknown' }, mca.unknown);
    },
  });
  new Gauge({
    name: 'gateway_sync_customers',
    help: 'Customers of the customer-base snapshot: known (in the latest list read) and synced (with every fact within its age: SYNC_MAX_AGE_MINUTES, SYNC_SETTLED_MAX_AGE_HOURS for an accepted MCA).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (!syncStatus) return;
      const { known, synced } = syncStatus();
      this.set({ state: 'known' }, known);
      this.set({ state: 'synced' }, synced);
    },
  });

  let openSubscriptions: (() => Readonly<Record<'sse' | 'ws', number>>) | undefined;
  new Gauge({
    name: 'gateway_subscriptions',
    help: 'Open GraphQL subscriptions (customerChanges) on this replica, by transport: sse (GraphQL over SSE) or ws (graphql-transport-ws).',
    labelNames: ['transport'] as const,
    registers: [registry],
    collect() {
      const open = openSubscriptions?.() ?? { sse: 0, ws: 0 };
      this.set({ transport: 'sse' }, open.sse);
      this.set({ transport: 'ws' }, open.ws);
    },
  });
  const customerChanges = new Counter({
    name: 'gateway_customer_changes_total',
    help: 'Changes of the customer base recorded by this replica, by kind (CUSTOMER_LISTED, QUALIFICATION_ADDED, VETTING_STATUS_CHANGED, MCA_ACCEPTED, ...).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const responseCache = new Counter({
    name: 'gateway_response_cache_total',
    help: 'Operations the response cache may answer (customerBase summary and customers), by result: hit (served from it, no resolver ran) or miss (executed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });

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
    tokenRequest(grant, result) {
      tokenRequests.inc({ grant, result });
    },
    callerAuth(result) {
      callerAuth.inc({ result });
    },
    syncCall(resource, status) {
      syncCalls.inc({ resource, status });
    },
    customerChange(kind) {
      customerChanges.inc({ kind });
    },
  };

  // yoga's Prometheus plugin (@graphql-yoga/plugin-prometheus) names these four families, and they keep its names,
  // help, labels, buckets and label values (test/metrics.test.ts holds them to what the plugin served). It is not
  // installed: its hooks on every request (the parsed operation copied, filtered and kept in WeakMaps, closures per
  // phase, prom-client's label checks) were about half of what metrics cost the cheapest request
  // (bench/README.md "Logging and metrics"), and the request log already keeps that record.
  const operations = createTally(registry, {
    name: 'graphql_envelop_request',
    help: 'Counts the amount of GraphQL requests executed through Envelop',
    labelNames: ['operationName', 'operationType'],
  });
  const operationTime = createHistogramTally(registry, {
    name: 'graphql_envelop_request_duration',
    help: 'Time spent on running the GraphQL operation from parse to execute',
    labelNames: ['operationName', 'operationType'],
  });
  const errors = createTally(registry, {
    name: 'graphql_envelop_error_result',
    help: 'Counts the amount of errors reported from all phases',
    labelNames: ['operationName', 'operationType', 'phase', 'path'],
  });
  const http = createHistogramTally(registry, {
    name: 'graphql_yoga_http_duration',
    help: 'Time spent on HTTP connection',
    labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
  });
  const answered = (request: AnsweredRequest): void => {
    // The plugin's label values, "undefined" included for a document that did not parse.
    const operation = { operationName: String(request.operationName), operationType: String(request.operationType) };
    if (request.failedPhase) errors.inc({ ...operation, phase: request.failedPhase });
    if (request.responseCache) responseCache.inc({ result: request.responseCache });
    // Only a request whose document parsed is timed over HTTP (the plugin's rule).
    if (request.failedPhase !== 'parse') {
      const { method } = request;
      http.observe({ ...operation, method, statusCode: String(request.statusCode) }, request.seconds);
    }
    if (request.executed) {
      operations.inc(operation);
      operationTime.observe(operation, request.executed.seconds);
      for (const path of request.executed.errorPaths)
        errors.inc(path ? { ...operation, phase: 'execute', path } : { ...operation, phase: 'execute' });
    }
  };

  const plugin: Plugin = {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics') return;
      return registry.metrics().then((text) => {
        endResponse(new fetchAPI.Response(text, { headers: { 'content-type': registry.contentType } }));
      });
    },
  };
  return {
    registry,
    events,
    plugin,
    answered,
    watchSync: (status) => {
      syncStatus = status;
    },
    watchSubscriptions: (open) => {
      openSubscriptions = open;
    },
  };
}
