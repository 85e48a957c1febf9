// /metrics serves Prometheus text: one count per Partner Center attempt by
// resource, method and status (HTTP status, timeout or network), their
// durations, cache lookups and held-back calls, and yoga's GraphQL request
// metrics. Each gateway has its own registry; METRICS=false turns it off.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import type { UpstreamAttempt } from '../src/observability/events';
import { createMetrics } from '../src/observability/metrics';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useUpstream } from './support/fixtures';
import { customerId, type GraphQLResponse, startGateway, TOKEN } from './support/gateway';
import { parseSamples, sampleValue, scrape } from './support/prometheus';
import { defaultHandler, json, startUpstream } from './support/upstream';

const { upstream, gatewayWith } = useUpstream();

const attempts = (resource: string, method: string, status: string) => ({ resource, method, status });

describe('Partner Center attempts', () => {
  it('labels the customer list and a customer profile by their resources', async () => {
    const gw = await gatewayWith({});
    const { body } = await gw.query(
      `{ customerList(first: 1) { nodes { id } } customer(id: "${customerId(2)}") { companyName } }`,
    );
    expect(body.errors).toBeUndefined();
    const samples = await scrape(gw);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('customer_list', 'GET', '200'))).toBe(1);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('customer', 'GET', '200'))).toBe(1);
    expect(samples.filter((sample) => sample.name === 'partner_center_requests_total')).toHaveLength(2);
  });

  it('counts a 503 and the 200 of its retry as two attempts, each with its status', async () => {
    upstream.setHandler((call, res, attempt) =>
      attempt === 1 ? json(res, 503, { code: 1, description: 'busy' }) : defaultHandler(call, res, attempt),
    );
    const gw = await gatewayWith({});
    const started = performance.now();
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(1) });
    const elapsedSeconds = (performance.now() - started) / 1000;
    expect(body.errors).toBeUndefined();

    const samples = await scrape(gw);
    // Durations are in seconds, and both attempts happened inside the request.
    const durations = sampleValue(samples, 'partner_center_request_duration_seconds_sum', {
      resource: 'qualifications',
    });
    expect(durations).toBeGreaterThan(0);
    expect(durations).toBeLessThanOrEqual(elapsedSeconds);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'GET', '503'))).toBe(1);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'GET', '200'))).toBe(1);
    expect(samples.filter((sample) => sample.name === 'partner_center_requests_total')).toHaveLength(2);
    expect(sampleValue(samples, 'partner_center_request_duration_seconds_count', { resource: 'qualifications' })).toBe(
      2,
    );
    expect(
      sampleValue(samples, 'partner_center_request_duration_seconds_bucket', {
        resource: 'qualifications',
        le: '+Inf',
      }),
    ).toBe(2);
  });

  it('labels MCA status reads mca_status and the mutation POST with its 201', async () => {
    const gw = await gatewayWith({});
    await gw.query(`{ customer(id: "${customerId(2)}") { mcaDirectlySigned } }`);
    await gw.query(ADD_STATE_OWNED, { id: customerId(3) });

    const samples = await scrape(gw);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('mca_status', 'GET', '200'))).toBe(1);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'POST', '201'))).toBe(1);
    expect(samples.filter((sample) => sample.name === 'partner_center_requests_total')).toHaveLength(2);
  });

  it('counts attempts that got no answer in time as timeout', async () => {
    upstream.setHandler(() => {});
    const gw = await gatewayWith({ attemptTimeoutMs: 100, requestBudgetMs: 10_000 });
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(4) });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');

    const samples = await scrape(gw);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'GET', 'timeout'))).toBe(3);
  });

  it('counts an attempt whose connection broke after the status arrived with that status, not as network', async () => {
    upstream.setHandler((_call, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[{"qualification"');
      setImmediate(() => res.socket?.destroy());
    });
    const gw = await gatewayWith({});
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(6) });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstream: { status: 200 } });

    const samples = await scrape(gw);
    expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'GET', '200'))).toBe(3);
    expect(samples.filter((sample) => sample.name === 'partner_center_requests_total')).toHaveLength(1);
  });

  it('counts attempts that could not connect as network', async () => {
    const closed = await startUpstream();
    await closed.close();
    const gw = await startGateway(closed.url);
    try {
      await gw.query(QUALIFICATIONS, { id: customerId(5) });
      const samples = await scrape(gw);
      expect(sampleValue(samples, 'partner_center_requests_total', attempts('qualifications', 'GET', 'network'))).toBe(
        3,
      );
    } finally {
      await gw.close();
    }
  });

  it('keeps the counts of each gateway apart and still tells a listener passed in deps.events', async () => {
    const heard: UpstreamAttempt[] = [];
    const listener = {
      upstreamAttempt: (attempt: UpstreamAttempt) => heard.push(attempt),
      cacheLookup() {},
      throttled() {},
      tokenRequest() {},
      callerAuth() {},
      syncCall() {},
      customerChange() {},
    };
    const first = await gatewayWith({}, { events: listener });
    const second = await gatewayWith({});
    await first.query(QUALIFICATIONS, { id: customerId(6) });
    await first.query(QUALIFICATIONS, { id: customerId(7) });
    await second.query(QUALIFICATIONS, { id: customerId(8) });

    const ok = attempts('qualifications', 'GET', '200');
    expect(sampleValue(await scrape(first), 'partner_center_requests_total', ok)).toBe(2);
    expect(sampleValue(await scrape(second), 'partner_center_requests_total', ok)).toBe(1);
    expect(heard.map(({ resource, method, status }) => ({ resource, method, status }))).toEqual([
      { resource: 'qualifications', method: 'GET', status: 200 },
      { resource: 'qualifications', method: 'GET', status: 200 },
    ]);
  });
});

describe('cache lookups and held-back calls', () => {
  it('counts lookups by resource and result, and held-back calls by reason, from the events', async () => {
    const metrics = createMetrics();
    metrics.events.cacheLookup('qualifications', 'hit');
    metrics.events.cacheLookup('qualifications', 'hit');
    metrics.events.cacheLookup('mca_status', 'coalesced');
    metrics.events.cacheLookup('customer', 'miss');
    metrics.events.throttled('window');

    const samples = parseSamples(await metrics.registry.metrics());
    expect(sampleValue(samples, 'gateway_cache_lookups_total', { resource: 'qualifications', result: 'hit' })).toBe(2);
    expect(sampleValue(samples, 'gateway_cache_lookups_total', { resource: 'mca_status', result: 'coalesced' })).toBe(
      1,
    );
    expect(sampleValue(samples, 'gateway_cache_lookups_total', { resource: 'customer', result: 'miss' })).toBe(1);
    expect(sampleValue(samples, 'gateway_throttled_calls_total', { reason: 'window' })).toBe(1);
    expect(sampleValue(samples, 'gateway_throttled_calls_total', { reason: 'pacing' })).toBe(0);
  });

  // The per-call counters are tallies handed to prom-client at scrape time (src/observability/tally.ts): a scrape must neither
  // lose nor repeat what was counted before it.
  it('keeps counting across scrapes: each scrape shows every lookup so far, once', async () => {
    const metrics = createMetrics();
    const lookups = async () =>
      sampleValue(parseSamples(await metrics.registry.metrics()), 'gateway_cache_lookups_total', {
        resource: 'qualifications',
        result: 'miss',
      });
    expect(await lookups()).toBeUndefined();
    metrics.events.cacheLookup('qualifications', 'miss');
    expect(await lookups()).toBe(1);
    expect(await lookups()).toBe(1);
    metrics.events.cacheLookup('qualifications', 'miss');
    metrics.events.cacheLookup('qualifications', 'miss');
    expect(await lookups()).toBe(3);
  });

  it('serves both throttling reasons at 0 before anything was held back', async () => {
    const gw = await gatewayWith({});
    const samples = await scrape(gw);
    expect(sampleValue(samples, 'gateway_throttled_calls_total', { reason: 'window' })).toBe(0);
    expect(sampleValue(samples, 'gateway_throttled_calls_total', { reason: 'pacing' })).toBe(0);
  });
});

describe("yoga's GraphQL request metrics", () => {
  it('counts operations by name and type and times HTTP requests without the URL as a label', async () => {
    const gw = await gatewayWith({});
    await gw.query(`query Dashboard { customer(id: "${customerId(9)}") { qualifications { kind } } }`);

    const samples = await scrape(gw);
    const operation = { operationName: 'Dashboard', operationType: 'query' };
    expect(sampleValue(samples, 'graphql_envelop_request', operation)).toBe(1);
    expect(sampleValue(samples, 'graphql_envelop_request_duration_count', operation)).toBe(1);
    expect(
      sampleValue(samples, 'graphql_yoga_http_duration_count', { ...operation, method: 'POST', statusCode: '200' }),
    ).toBe(1);
    expect(samples.filter((sample) => sample.name === 'graphql_yoga_http_duration_count')).toHaveLength(1);
  });

  // The HTTP histogram is fed by the request log's record (src/observability/metrics.ts says why), to the rules of yoga's plugin:
  // every request whose document parsed, named and typed from the document, and nothing for one that did not parse.
  it('times a GET, an anonymous operation, and an operation that failed validation, by what the document says', async () => {
    const gw = await gatewayWith({});
    // Twice: the second document comes from yoga's parser cache and is timed all the same.
    for (let time = 0; time < 2; time++) {
      const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { accept: 'application/json' },
      });
      expect(get.status).toBe(200);
    }
    const invalid = await gw.query('query Broken { noSuchField }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsed = await gw.query('query Cut {');
    expect(unparsed.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const samples = await scrape(gw);
    const timed = samples
      .filter((sample) => sample.name === 'graphql_yoga_http_duration_count')
      .map((sample) => ({ ...sample.labels, count: sample.value }));
    expect(timed).toEqual(
      expect.arrayContaining([
        { operationName: 'Anonymous', operationType: 'query', method: 'GET', statusCode: '200', count: 2 },
        {
          operationName: 'Broken',
          operationType: 'query',
          method: 'POST',
          statusCode: String(invalid.status),
          count: 1,
        },
      ]),
    );
    expect(timed).toHaveLength(2);
    // Only the operation that ran is counted as executed.
    expect(samples.filter((sample) => sample.name === 'graphql_envelop_request')).toEqual([
      { name: 'graphql_envelop_request', labels: { operationName: 'Anonymous', operationType: 'query' }, value: 2 },
    ]);
    const get200 = { operationName: 'Anonymous', operationType: 'query', method: 'GET', statusCode: '200' };
    expect(sampleValue(samples, 'graphql_yoga_http_duration_sum', get200)).toBeGreaterThan(0);
  });
});

describe("yoga's plugin's families, filled by the request log", () => {
  // Expected values are what @graphql-yoga/plugin-prometheus served for the same requests (captured before the
  // gateway stopped installing it), with two differences: an operation that returned errors is still counted as
  // executed (the plugin left one out), and a document that starts with a fragment is named by its operation.
  it('counts executed operations, their time, and errors by phase with the path of each execution error', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.customerId === customerId(2)
        ? json(res, 404, { code: 600, description: 'gone' })
        : defaultHandler(call, res, attempt),
    );
    const gw = await gatewayWith({});
    expect((await gw.query('query Cut {')).body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await gw.query('query Broken { noSuchField }')).body.errors?.[0]?.extensions?.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
    const two = await gw.query(`query Two { customer(id: "${customerId(2)}") { qualifications { kind } } }`);
    expect(two.body.errors?.map((error) => error.path)).toEqual([['customer', 'qualifications']]);
    const chosen = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: TOKEN },
      body: JSON.stringify({
        operationName: 'B',
        query: `query A { __typename } query B { customers(ids: ["${customerId(2)}", "${customerId(2)}"]) { qualifications { kind } } }`,
      }),
    });
    expect(((await chosen.json()) as GraphQLResponse['body']).errors).toHaveLength(2);
    expect((await gw.query('fragment F on Query { __typename } query C { ...F }')).body.errors).toBeUndefined();
    expect((await gw.query('{ __typename }')).body.errors).toBeUndefined();

    const samples = await scrape(gw);
    const of = (name: string) =>
      samples.filter((sample) => sample.name === name).map(({ labels, value }) => ({ ...labels, value }));
    const executed = [
      { operationName: 'Two', operationType: 'query', value: 1 },
      { operationName: 'B', operationType: 'query', value: 1 },
      { operationName: 'C', operationType: 'query', value: 1 },
      { operationName: 'Anonymous', operationType: 'query', value: 1 },
    ];
    expect(of('graphql_envelop_request')).toEqual(executed);
    expect(of('graphql_envelop_request_duration_count')).toEqual(executed);
    expect(of('graphql_envelop_error_result')).toEqual([
      { operationName: 'undefined', operationType: 'undefined', phase: 'parse', value: 1 },
      { operationName: 'Broken', operationType: 'query', phase: 'validate', value: 1 },
      { operationName: 'Two', operationType: 'query', phase: 'execute', path: 'customer.qualifications', value: 1 },
      { operationName: 'B', operationType: 'query', phase: 'execute', path: 'customers.0.qualifications', value: 1 },
      { operationName: 'B', operationType: 'query', phase: 'execute', path: 'customers.1.qualifications', value: 1 },
    ]);
    const text = await (await fetch(gw.url.replace(/\/graphql$/, '/metrics'))).text();
    const help = (name: string) =>
      (text.split('\n').find((line) => line.startsWith(`# HELP ${name} `)) ?? '').slice(`# HELP ${name} `.length);
    expect(help('graphql_envelop_request')).toBe('Counts the amount of GraphQL requests executed through Envelop');
    expect(help('graphql_envelop_request_duration')).toBe(
      'Time spent on running the GraphQL operation from parse to execute',
    );
    expect(help('graphql_envelop_error_result')).toBe('Counts the amount of errors reported from all phases');
    expect(help('graphql_yoga_http_duration')).toBe('Time spent on HTTP connection');
  });

  it('counts an operation refused for touching too many customers as executed, with an execution error without a path', async () => {
    const gw = await gatewayWith({ maxCustomersPerRequest: 1 });
    const refused = await gw.query(
      `{ customers(ids: ["${customerId(1)}", "${customerId(2)}"]) { qualifications { kind } } }`,
    );
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const samples = await scrape(gw);
    expect(
      sampleValue(samples, 'graphql_envelop_request', { operationName: 'Anonymous', operationType: 'query' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'graphql_envelop_error_result', {
        operationName: 'Anonymous',
        operationType: 'query',
        phase: 'execute',
      }),
    ).toBe(1);
  });
});

describe('METRICS=false', () => {
  it('reads METRICS from the environment, on by default', () => {
    expect(loadConfig({}).metrics).toBe(true);
    expect(loadConfig({ METRICS: 'false' }).metrics).toBe(false);
  });

  it('serves no /metrics and still answers GraphQL', async () => {
    const gw = await gatewayWith({ metrics: false });
    const response = await fetch(gw.url.replace(/\/graphql$/, '/metrics'));
    expect(response.status).toBe(404);
    expect((await gw.query(QUALIFICATIONS, { id: customerId(10) })).body.errors).toBeUndefined();
  });
});
