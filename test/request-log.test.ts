// pino writes one JSON line per GraphQL request (correlation id, operation
// name, duration, what it spent upstream, the error codes it returned), each
// failed upstream attempt at warn, and yoga's own log calls with all their
// arguments. LOG_LEVEL chooses what is written.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, LOG_LEVELS, loadConfig } from '../src/config/config';
import { yogaLogger } from '../src/observability/logger';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { captureLogs } from './support/logs';
import { defaultHandler, json } from './support/upstream';

const { upstream, gatewayWith } = useUpstream();

describe('the line per GraphQL request', () => {
  it('carries the correlation id, operation name, duration, upstream calls, cache hits, retries and error codes', async () => {
    upstream.setHandler((call, res, attempt) => {
      if (call.customerId === customerId(2)) return json(res, 404, { code: 600008, description: 'Not found' });
      if (attempt === 1) return json(res, 503, { code: 1, description: 'busy' });
      return defaultHandler(call, res, attempt);
    });
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { logger: logs.logger });
    const correlationId = randomUUID();

    await gw.query(
      `query Mixed { a: customer(id: "${customerId(1)}") { qualifications { kind } }
                     b: customer(id: "${customerId(2)}") { qualifications { kind } } }`,
      undefined,
      { 'ms-correlationid': correlationId },
    );

    const lines = logs.withMessage('graphql request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      correlationId,
      operationName: 'Mixed',
      upstreamCalls: 3,
      cacheHits: 0,
      retries: 1,
      errorCodes: ['NOT_FOUND'],
      status: 200,
    });
    expect(lines[0]?.durationMs).toEqual(expect.any(Number));
  });

  it('logs each failed upstream attempt at warn, with the correlation id and no message text', async () => {
    upstream.setHandler((call, res, attempt) =>
      attempt === 1 ? json(res, 503, { code: 1, description: 'busy' }) : defaultHandler(call, res, attempt),
    );
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { logger: logs.logger });
    const correlationId = randomUUID();

    await gw.query(`{ customer(id: "${customerId(3)}") { qualifications { kind } } }`, undefined, {
      'ms-correlationid': correlationId,
    });

    const failures = logs.withMessage('partner center call failed');
    expect(failures).toEqual([
      expect.objectContaining({
        level: 'warn',
        correlationId,
        resource: 'qualifications',
        method: 'GET',
        attempt: 1,
        status: 503,
        code: 'UPSTREAM_UNAVAILABLE',
      }),
    ]);
    expect(JSON.stringify(failures)).not.toContain('busy');
  });

  it('writes a line for a request refused before any upstream call, with its error code', async () => {
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { logger: logs.logger });

    await gw.query('{ customer(');

    expect(logs.withMessage('graphql request')).toEqual([
      expect.objectContaining({
        operationName: null,
        upstreamCalls: 0,
        retries: 0,
        errorCodes: ['GRAPHQL_PARSE_FAILED'],
      }),
    ]);
  });

  it('names an operation that failed validation as its document does', async () => {
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { logger: logs.logger });

    await gw.query('query Broken { noSuchField }');

    expect(logs.withMessage('graphql request')).toEqual([
      expect.objectContaining({ operationName: 'Broken', upstreamCalls: 0, errorCodes: ['GRAPHQL_VALIDATION_FAILED'] }),
    ]);
  });

  it('writes no request line for /health, /ready or /metrics', async () => {
    const logs = captureLogs('info');
    const gw = await gatewayWith({}, { logger: logs.logger });

    for (const path of ['/health', '/ready', '/metrics']) await fetch(gw.url.replace(/\/graphql$/, path));

    expect(logs.lines).toEqual([]);
  });

  it('writes nothing below LOG_LEVEL: at warn, no request lines', async () => {
    const logs = captureLogs('warn');
    const gw = await gatewayWith({}, { logger: logs.logger });

    await gw.query(`{ customer(id: "${customerId(4)}") { qualifications { kind } } }`);

    expect(logs.lines).toEqual([]);
  });
});

describe("yoga's log calls", () => {
  it('go through pino with every argument: a string as the message, the rest under args', () => {
    const logs = captureLogs('debug');
    const logger = yogaLogger(logs.logger);

    logger.debug('Processing GraphQL Parameters', { step: 1 }, 2);
    logger.info({ some: 'object' });

    expect(logs.records()).toEqual([
      expect.objectContaining({ level: 'debug', msg: 'Processing GraphQL Parameters', args: [{ step: 1 }, 2] }),
      expect.objectContaining({ level: 'info', msg: 'yoga', value: { some: 'object' } }),
    ]);
  });

  it('write an error with its stack', () => {
    const logs = captureLogs('debug');

    yogaLogger(logs.logger).error(new Error('socket hang up'), 'while streaming');

    const [line] = logs.records();
    expect(line).toMatchObject({ level: 'error', msg: 'socket hang up', args: ['while streaming'] });
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('socket hang up');
  });

  it("reach the gateway's logger at debug", async () => {
    const logs = captureLogs('debug');
    const gw = await gatewayWith({}, { logger: logs.logger });

    await gw.query(`{ customer(id: "${customerId(5)}") { id } }`);

    expect(logs.records().map((line) => line.msg)).toContain('Parsing request to extract GraphQL parameters');
  });
});

describe('LOG_LEVEL', () => {
  it('accepts fatal, error, warn, info, debug, trace and silent, info by default', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    for (const level of LOG_LEVELS) expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
  });

  it('refuses any other value with a message naming LOG_LEVEL', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL must be one of .*"verbose"/);
  });
});
