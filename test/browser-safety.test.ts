// What a browser may and may not do: form and text/plain posts are refused,
// CORS answers listed origins only, and in production errors are masked,
// suggestions hidden, GraphiQL and introspection switched off.

import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import { BadUserInputError, maskError } from '../src/domain/errors';
import type { Logger } from '../src/observability/logger';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const { upstream, gatewayWith } = useUpstream();

const CALLING_QUERY = JSON.stringify({ query: `{ customer(id: "${customerId(1)}") { qualifications { kind } } }` });
const APP = 'https://app.contoso.com';
const ADMIN = 'https://admin.contoso.com';

describe('cross-site posts', () => {
  const refusedTypes = [
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/plain;charset=UTF-8',
    'multipart/form-data; boundary=x',
  ];

  for (const type of refusedTypes) {
    it(`refuses a ${type} POST with 415 and no upstream call`, async () => {
      const gw = await gatewayWith({});
      const response = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': type, authorization: 'Bearer t' },
        body: type.startsWith('application/x-www')
          ? `query=${encodeURIComponent(JSON.parse(CALLING_QUERY).query)}`
          : CALLING_QUERY,
      });
      expect(response.status).toBe(415);
      const body = await response.json();
      expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(body.errors[0].message).toContain('cross-site request forgery');
      expect(upstream.calls).toHaveLength(0);
    });
  }

  it('refuses a POST without a content type', async () => {
    const gw = await gatewayWith({});
    const response = await fetch(gw.url, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      body: new Blob([CALLING_QUERY]),
    });
    expect(response.status).toBe(415);
    expect(upstream.calls).toHaveLength(0);
  });

  it('serves a JSON POST whose content type carries a charset', async () => {
    const gw = await gatewayWith({});
    const response = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json;charset=UTF-8', authorization: 'Bearer t' },
      body: CALLING_QUERY,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(upstream.calls).toHaveLength(1);
  });

  it('refuses a mutation sent with GET, without posting anything', async () => {
    const gw = await gatewayWith({});
    const query = `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`;
    const response = await fetch(`${gw.url}?query=${encodeURIComponent(query)}`, {
      headers: { authorization: 'Bearer t', accept: 'application/json' },
    });
    expect(response.status).toBe(405);
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, ms-correlationid',
      },
    });
  const post = (url: string, origin: string) =>
    fetch(url, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

  it('answers a preflight from a listed origin, allowing Authorization and MS-CorrelationId', async () => {
    const gw = await gatewayWith({ corsOrigins: [APP, ADMIN] });
    const response = await preflight(gw.url, ADMIN);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ADMIN);
    expect(response.headers.get('vary')).toContain('Origin');
    const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'ms-correlationid']));
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    // Tokens travel in the Authorization header, never in cookies: no credentials are invited.
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('exposes MS-CorrelationId to a listed origin', async () => {
    const gw = await gatewayWith({ corsOrigins: [APP] });
    const response = await post(gw.url, APP);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-expose-headers')).toBe('MS-CorrelationId');
    expect(response.headers.get('ms-correlationid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  for (const listed of [[APP], [APP, ADMIN]]) {
    it(`gives an unlisted origin no allow-origin when ${listed.length} origin(s) are listed`, async () => {
      const gw = await gatewayWith({ corsOrigins: listed });
      for (const origin of ['https://evil.example', 'null', `${APP}.evil.example`]) {
        const before = await preflight(gw.url, origin);
        expect(before.headers.get('access-control-allow-origin')).toBeNull();
        expect(before.headers.get('access-control-allow-headers')).toBeNull();
        const after = await post(gw.url, origin);
        expect(after.headers.get('access-control-allow-origin')).toBeNull();
        expect(after.headers.get('access-control-expose-headers')).toBeNull();
      }
    });
  }

  it('sends no CORS headers at all when no origin is configured (the default)', async () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const gw = await gatewayWith({});
    const response = await post(gw.url, APP);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('echoes any origin when configured with *', async () => {
    const gw = await gatewayWith({ corsOrigins: ['*'] });
    const response = await preflight(gw.url, 'https://anyone.example');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://anyone.example');
  });

  it('reads origins from CORS_ORIGINS', () => {
    expect(loadConfig({ CORS_ORIGINS: ` ${APP} ,${ADMIN},` }).corsOrigins).toEqual([APP, ADMIN]);
  });
});

describe('error masking', () => {
  /** A logger whose warn lines fail (the client logs upstream failures at warn): an unexpected error inside the client. */
  function brokenLogger(lines: string[]): Logger {
    const warn = pino.levels.values.warn;
    return pino(
      {
        level: 'debug',
        hooks: {
          logMethod(args, method, level) {
            if (level === warn) throw new Error('log sink /var/run/secret-sink.sock is down');
            return method.apply(this, args);
          },
        },
      },
      { write: (line: string) => lines.push(line) },
    );
  }

  for (const production of [true, false]) {
    it(`masks an unexpected error as INTERNAL_SERVER_ERROR with no stack (production: ${production})`, async () => {
      upstream.setHandler((call, res, attempt) => {
        if (call.customerId === customerId(1)) return json(res, 404, { code: 600008, description: 'Not found' });
        return defaultHandler(call, res, attempt);
      });
      const lines: string[] = [];
      const gw = await gatewayWith({ production }, { logger: brokenLogger(lines) });
      const response = await gw.query(
        `{ broken: customer(id: "${customerId(1)}") { qualifications { kind } }
           fine: customer(id: "${customerId(2)}") { qualifications { kind } } }`,
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: { broken: null, fine: { qualifications: [{ kind: 'EDUCATION' }] } },
        errors: [
          {
            message: 'Unexpected error.',
            locations: [expect.any(Object)],
            path: ['broken', 'qualifications'],
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
      const text = JSON.stringify(response.body);
      expect(text).not.toContain('secret-sink');
      expect(text).not.toMatch(/stack|\bat .+:\d+:\d+/);
      // The operator still learns what happened.
      expect(lines.some((line) => line.includes('secret-sink'))).toBe(true);
    });
  }

  // Errors no request of today's schema and plugins produces, but which yoga hands to the same hook (a plugin or the
  // context factory throwing, graphql-js errors raised without a code): the hook is called directly with each.
  const SECRET = 'connection string Server=db;Password=hunter2';
  it.each<[string, unknown, { message: string; extensions: Record<string, unknown> }]>([
    [
      'an Error thrown outside execution',
      new Error(SECRET),
      { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ],
    [
      'a GatewayError thrown outside execution',
      new BadUserInputError('Ids must be GUIDs.', { field: 'ids' }),
      { message: 'Ids must be GUIDs.', extensions: { code: 'BAD_USER_INPUT', field: 'ids' } },
    ],
    [
      'a located Error with no path',
      new GraphQLError('wrapped', { originalError: new Error(SECRET) }),
      { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ],
    [
      'a GraphQLError without a code on a field path',
      new GraphQLError(SECRET, { path: ['customer', 'qualifications'] }),
      { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ],
    [
      'a GraphQLError without a code and without a path (the request was wrong)',
      new GraphQLError('Variable "$id" of required type "ID!" was not provided.'),
      { message: 'Variable "$id" of required type "ID!" was not provided.', extensions: { code: 'BAD_USER_INPUT' } },
    ],
    [
      'a GraphQLError with its own code',
      new GraphQLError('Unknown documentId "x".', { extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }),
      { message: 'Unknown documentId "x".', extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } },
    ],
  ])('answers %s with only what a client may see', (_name, error, expected) => {
    const masked = maskError(error, 'Unexpected error.');
    expect(masked).toBeInstanceOf(GraphQLError);
    expect({ message: masked.message, extensions: (masked as GraphQLError).extensions }).toEqual(expected);
    expect(JSON.stringify((masked as GraphQLError).toJSON())).not.toContain('hunter2');
  });

  it('keeps upstream errors precise: code and upstream info, never the raw body or a stack', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 403, { code: 20002, description: 'No relationship between caller and account.', data: ['raw'] }),
    );
    const gw = await gatewayWith({ production: true });
    const response = await gw.query(`{ customer(id: "${customerId(1)}") { mcaDirectlySigned } }`);
    const [error] = response.body.errors ?? [];
    expect(error?.extensions?.code).toBe('FORBIDDEN');
    expect(error?.extensions?.upstream).toMatchObject({ status: 403, code: 20002 });
    expect(JSON.stringify(response.body)).not.toMatch(/stack|"raw"|PartnerFD/);
  });
});

describe('field suggestions', () => {
  const typos = [
    `{ customer(id: "${customerId(1)}") { qualificationz } }`,
    `{ customer(ix: "${customerId(1)}") { id } }`,
    `{ customer(id: "${customerId(1)}") { ... on Customr { id } } }`,
    `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: EDUCATIO }) { qualification { kind } } }`,
    `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: EDUCATION, websit: "a.edu" }) { qualification { kind } } }`,
  ];
  const viaVariables: Array<[string, Record<string, unknown>]> = [
    [
      'mutation($k: QualificationKind!) { addCustomerQualification(input: { customerId: "x", qualification: $k }) { qualification { kind } } }',
      { k: 'EDUCATIO' },
    ],
    [
      'mutation($i: AddCustomerQualificationInput!) { addCustomerQualification(input: $i) { qualification { kind } } }',
      { i: { customerId: customerId(1), qualification: 'EDUCATION', websit: 'a.edu' } },
    ],
  ];

  it('hides every "Did you mean" in production, in documents and in variables', async () => {
    const gw = await gatewayWith({ production: true });
    for (const document of typos) {
      const response = await gw.query(document);
      expect(response.body.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(response.body)).not.toContain('Did you mean');
      expect(response.body.errors?.[0]?.message).toContain('[Suggestion hidden]');
    }
    for (const [document, variables] of viaVariables) {
      const response = await gw.query(document, variables);
      expect(JSON.stringify(response.body)).not.toContain('Did you mean');
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(upstream.calls).toHaveLength(0);
  });

  it('suggests names outside production, where they help developers', async () => {
    const gw = await gatewayWith({ production: false });
    const response = await gw.query(typos[0] as string);
    expect(response.body.errors?.[0]?.message).toBe(
      'Cannot query field "qualificationz" on type "Customer". Did you mean "qualifications"?',
    );
  });
});

describe('GraphiQL and introspection switches', () => {
  const introspection = '{ __schema { queryType { name } } }';

  it('serves GraphiQL when config.graphiql is on', async () => {
    const gw = await gatewayWith({ graphiql: true });
    const response = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('GraphiQL');
  });

  it('serves no GraphiQL page when config.graphiql is off', async () => {
    const gw = await gatewayWith({ graphiql: false });
    const response = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type') ?? '').not.toContain('text/html');
    expect(await response.text()).not.toContain('GraphiQL');
  });

  it('answers introspection when config.introspection is on', async () => {
    const gw = await gatewayWith({ introspection: true });
    const response = await gw.query(introspection);
    expect(response.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('refuses __schema and __type when config.introspection is off, but keeps _service for federation', async () => {
    const gw = await gatewayWith({ introspection: false });
    for (const document of [introspection, '{ __type(name: "Customer") { name } }']) {
      const response = await gw.query(document);
      expect(response.body.data).toBeUndefined();
      expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(response.body.errors?.[0]?.message).toContain('introspection has been disabled');
    }
    const service = await gw.query<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(service.body.data?._service.sdl).toContain('type Customer');
  });

  it('documents its defaults: GraphiQL on in development and off in production, introspection on unless switched off', () => {
    const url = 'https://api.partnercenter.microsoft.com';
    expect(loadConfig({})).toMatchObject({ production: false, graphiql: true, introspection: true });
    expect(loadConfig({ NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: url })).toMatchObject({
      production: true,
      graphiql: false,
      introspection: true,
    });
    expect(loadConfig({ NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: url, INTROSPECTION: 'false' })).toMatchObject({
      introspection: false,
    });
    expect(
      loadConfig({ NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: url, GRAPHIQL: 'true', INTROSPECTION: 'on' }),
    ).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ GRAPHIQL: 'false', INTROSPECTION: '0' })).toMatchObject({
      graphiql: false,
      introspection: false,
    });
  });
});
