// Operation limits are checked before execution: an operation over a limit is
// refused with BAD_USER_INPUT and costs no upstream call, one at the limit runs.

import { Lexer, Source, TokenKind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../src/config/config';
import { useUpstream } from './support/fixtures';
import { customerId, customerIds, type GraphQLResponse } from './support/gateway';

const { upstream, gatewayWith } = useUpstream();

/** A refusal: no data at all, one BAD_USER_INPUT error with the given message, and not a single upstream call. */
function expectRefused(response: GraphQLResponse, message: RegExp): void {
  expect(response.status).toBe(200);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0]?.message).toMatch(message);
  expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(upstream.calls).toHaveLength(0);
}

function expectServed(response: GraphQLResponse): void {
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  expect(response.body.data).toBeTruthy();
}

/** Lexical tokens as the limit counts them: every token between start and end of the document. */
function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
const representations = (values: string[]) => values.map((id) => ({ __typename: 'Customer', id }));
const qualificationCalls = () => upstream.callsTo('qualifications').length;

describe('depth', () => {
  it('runs an operation exactly at maxDepth', async () => {
    const gw = await gatewayWith({ maxDepth: 3 });
    const response = await gw.query(`{ customer(id: "${customerId(1)}") { qualifications { kind } } }`);
    expectServed(response);
    expect(qualificationCalls()).toBe(1);
  });

  it('refuses an operation one level deeper than maxDepth, before any upstream call', async () => {
    const gw = await gatewayWith({ maxDepth: 2 });
    const response = await gw.query(`{ customer(id: "${customerId(1)}") { qualifications { kind } } }`);
    expectRefused(response, /depth limit of 2 exceeded, found 3/);
  });

  it('counts depth hidden in fragments', async () => {
    const gw = await gatewayWith({ maxDepth: 2 });
    const response = await gw.query(
      `{ customer(id: "${customerId(1)}") { ...Q } } fragment Q on Customer { qualifications { kind } }`,
    );
    expectRefused(response, /depth limit of 2 exceeded, found 3/);
  });

  it('counts fields, not fragments: a router query on _entities is as deep as its fields', async () => {
    const gw = await gatewayWith({ maxDepth: 3 });
    const response = await gw.query(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { ...Q } } }
       fragment Q on Customer { qualifications { ... on Qualification { kind } } }`,
      { r: representations([customerId(1)]) },
    );
    expectServed(response);
    expect(qualificationCalls()).toBe(1);
  });

  it('refuses a too deep mutation without posting anything', async () => {
    const gw = await gatewayWith({ maxDepth: 3 });
    const response = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(1)}", qualification: STATE_OWNED_ENTITY }) { customer { qualifications { kind } } } }`,
    );
    expectRefused(response, /depth limit of 3 exceeded, found 4/);
  });
});

describe('aliases', () => {
  const aliased = (n: number) =>
    `{ ${customerIds(n)
      .map((id, i) => `c${i}: customer(id: "${id}") { qualifications { kind } }`)
      .join(' ')} }`;

  it('runs an operation with exactly maxAliases aliases', async () => {
    const gw = await gatewayWith({ maxAliases: 3 });
    expectServed(await gw.query(aliased(3)));
    expect(qualificationCalls()).toBe(3);
  });

  it('refuses one alias more than maxAliases, before any upstream call', async () => {
    const gw = await gatewayWith({ maxAliases: 3 });
    expectRefused(await gw.query(aliased(4)), /^Operation refused: Aliases limit of 3 exceeded, found 4/);
  });

  it('counts nested aliases too', async () => {
    const gw = await gatewayWith({ maxAliases: 3 });
    const response = await gw.query(
      `{ a: customer(id: "${customerId(1)}") { x: id y: id z: qualifications { kind } } }`,
    );
    expectRefused(response, /Aliases limit of 3 exceeded, found 4/);
  });
});

describe('tokens', () => {
  const atLimit = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;
  const overLimit = `{ customer(id: "${customerId(1)}") { qualifications { kind } } __typename }`;

  it('counts 14 tokens in the documents below, then 15', () => {
    expect(tokenCount(atLimit)).toBe(14);
    expect(tokenCount(overLimit)).toBe(15);
  });

  it('runs a document of exactly maxTokens tokens', async () => {
    const gw = await gatewayWith({ maxTokens: 14 });
    expectServed(await gw.query(atLimit));
    expect(qualificationCalls()).toBe(1);
  });

  it('refuses a document of one token more, before any upstream call', async () => {
    const gw = await gatewayWith({ maxTokens: 14 });
    expectRefused(await gw.query(overLimit), /Token limit of 14 exceeded/);
  });
});

describe('document size', () => {
  const document = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;

  it('runs a document of exactly maxDocumentBytes bytes', async () => {
    const gw = await gatewayWith({ maxDocumentBytes: Buffer.byteLength(document) });
    expectServed(await gw.query(document));
    expect(qualificationCalls()).toBe(1);
  });

  it('refuses a document one byte larger, before any upstream call', async () => {
    const gw = await gatewayWith({ maxDocumentBytes: Buffer.byteLength(document) });
    const size = Buffer.byteLength(document) + 1;
    expectRefused(
      await gw.query(`${document} `),
      new RegExp(`document is ${size} bytes; at most ${size - 1} are accepted`),
    );
  });

  it('counts bytes, not characters', async () => {
    const withComment = `${document} # é`;
    const gw = await gatewayWith({ maxDocumentBytes: withComment.length });
    expectRefused(await gw.query(withComment), /document is \d+ bytes/);
  });

  it('refuses a 200 KB document under the default limit', async () => {
    const gw = await gatewayWith({});
    const huge = `${document}\n# ${'x'.repeat(200_000)}`;
    expectRefused(await gw.query(huge), /at most 100000 are accepted/);
  });
});

describe('customers touched by one operation', () => {
  const max = 6;
  const limits = { maxCustomersPerRequest: max };
  const refusal = (n: number) => new RegExp(`touches ${n} customers; at most ${max} are allowed`);

  it('runs aliased customer fields exactly at the limit', async () => {
    const gw = await gatewayWith(limits);
    const fields = customerIds(max).map((id, i) => `c${i}: customer(id: "${id}") { qualifications { kind } }`);
    expectServed(await gw.query(`{ ${fields.join(' ')} }`));
    expect(qualificationCalls()).toBe(max);
  });

  it('refuses aliased customer fields one over the limit', async () => {
    const gw = await gatewayWith(limits);
    const fields = customerIds(max + 1).map((id, i) => `c${i}: customer(id: "${id}") { qualifications { kind } }`);
    const response = await gw.query(`{ ${fields.join(' ')} }`);
    expectRefused(response, refusal(max + 1));
    expect(response.body.errors?.[0]?.extensions?.maxCustomers).toBe(max);
  });

  it('runs a customers(ids) list exactly at the limit', async () => {
    const gw = await gatewayWith(limits);
    expectServed(await gw.query(`{ customers(ids: ${list(customerIds(max))}) { qualifications { kind } } }`));
    expect(qualificationCalls()).toBe(max);
  });

  it('refuses a customers(ids) list one over the limit', async () => {
    const gw = await gatewayWith(limits);
    expectRefused(await gw.query(`{ customers(ids: ${list(customerIds(max + 1))}) { id } }`), refusal(max + 1));
  });

  it('counts ids passed in variables', async () => {
    const gw = await gatewayWith(limits);
    const document = 'query($ids: [ID!]!) { customers(ids: $ids) { qualifications { kind } } }';
    expectServed(await gw.query(document, { ids: customerIds(max) }));
    expect(qualificationCalls()).toBe(max);
    upstream.calls.length = 0;
    expectRefused(await gw.query(document, { ids: customerIds(max + 1) }), refusal(max + 1));
  });

  it('counts duplicate ids: the bound is on the work asked for', async () => {
    const gw = await gatewayWith(limits);
    const same = Array.from({ length: max + 1 }, () => customerId(1));
    expectRefused(await gw.query(`{ customers(ids: ${list(same)}) { id } }`), refusal(max + 1));
  });

  it('adds up aliased lists, single customers and fragments', async () => {
    const gw = await gatewayWith(limits);
    const document = (extra: number) => `
      query { ...Root one: customer(id: "${customerId(9)}") { qualifications { kind } }
        more: customers(ids: ${list(customerIds(2 + extra, 20))}) { qualifications { kind } } }
      fragment Root on Query { ... on Query { customers(ids: ${list(customerIds(3))}) { qualifications { kind } } } }`;
    expectServed(await gw.query(document(0)));
    expect(qualificationCalls()).toBe(max);
    upstream.calls.length = 0;
    expectRefused(await gw.query(document(1)), refusal(max + 1));
  });

  it('counts _entities representations written inline', async () => {
    const gw = await gatewayWith(limits);
    const document = (n: number) =>
      `{ _entities(representations: [${customerIds(n)
        .map((id) => `{ __typename: "Customer", id: "${id}" }`)
        .join(', ')}]) { ... on Customer { qualifications { kind } } } }`;
    expectServed(await gw.query(document(max)));
    expect(qualificationCalls()).toBe(max);
    upstream.calls.length = 0;
    expectRefused(await gw.query(document(max + 1)), refusal(max + 1));
  });

  it('counts _entities representations passed in variables', async () => {
    const gw = await gatewayWith(limits);
    const document =
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { qualifications { kind } } } }';
    expectServed(await gw.query(document, { r: representations(customerIds(max)) }));
    expect(qualificationCalls()).toBe(max);
    upstream.calls.length = 0;
    expectRefused(await gw.query(document, { r: representations(customerIds(max + 1)) }), refusal(max + 1));
  });

  it('adds up _entities, customers(ids) and customer across variables and aliases', async () => {
    const gw = await gatewayWith(limits);
    const document = `query($r: [_Any!]!, $ids: [ID!]!) {
      _entities(representations: $r) { ... on Customer { qualifications { kind } } }
      list: customers(ids: $ids) { qualifications { kind } }
      one: customer(id: "${customerId(99)}") { qualifications { kind } } }`;
    expectServed(await gw.query(document, { r: representations(customerIds(3)), ids: customerIds(2, 50) }));
    expect(qualificationCalls()).toBe(max);
    upstream.calls.length = 0;
    expectRefused(
      await gw.query(document, { r: representations(customerIds(3)), ids: customerIds(3, 50) }),
      refusal(max + 1),
    );
  });

  it('counts only the operation that runs', async () => {
    const gw = await gatewayWith(limits);
    const document = `query Big { customers(ids: ${list(customerIds(max + 1))}) { id } }
      query Small { customer(id: "${customerId(1)}") { qualifications { kind } } }`;
    const response = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ query: document, operationName: 'Small' }),
    });
    expect(await response.json()).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(qualificationCalls()).toBe(1);
    upstream.calls.length = 0;
    const big = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ query: document, operationName: 'Big' }),
    });
    expect((await big.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(upstream.calls).toHaveLength(0);
  });

  it('counts each mutation as one customer and posts nothing when over the limit', async () => {
    const gw = await gatewayWith({ maxCustomersPerRequest: 1 });
    const add = (alias: string, n: number) =>
      `${alias}: addCustomerQualification(input: { customerId: "${customerId(n)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } }`;
    expectServed(await gw.query(`mutation { ${add('a', 1)} }`));
    expect(upstream.callsTo('qualifications').map((call) => call.method)).toEqual(['POST']);
    upstream.calls.length = 0;
    expectRefused(await gw.query(`mutation { ${add('a', 1)} ${add('b', 2)} }`), /touches 2 customers; at most 1/);
  });
});

describe('how refusals reach clients', () => {
  it('answers 400 to an application/graphql-response+json client for every kind of refusal', async () => {
    const cases: Array<[Partial<Config>, string]> = [
      [{ maxDepth: 1 }, `{ customer(id: "${customerId(1)}") { id } }`],
      [{ maxAliases: 1 }, '{ a: _service { sdl } b: _service { sdl } }'],
      [{ maxTokens: 3 }, '{ __typename __typename }'],
      [{ maxDocumentBytes: 5 }, '{ __typename }'],
      [{ maxCustomersPerRequest: 1 }, `{ customers(ids: ${list(customerIds(2))}) { id } }`],
    ];
    for (const [overrides, document] of cases) {
      const gw = await gatewayWith(overrides);
      const response = await gw.query(document, undefined, { accept: 'application/graphql-response+json' });
      expect(response.status).toBe(400);
      expect(response.body.data).toBeUndefined();
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.body.errors?.[0]?.extensions).not.toHaveProperty('http');
    }
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('configuration', () => {
  it('documents its defaults: depth 12, 200 aliases, 10000 tokens, 100000 bytes, 200 customers', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      maxDepth: 12,
      maxAliases: 200,
      maxTokens: 10_000,
      maxDocumentBytes: 100_000,
      maxCustomersPerRequest: 200,
    });
  });

  it('reads every limit from the environment', () => {
    const config = loadConfig({
      GATEWAY_MAX_DEPTH: '5',
      GATEWAY_MAX_ALIASES: '7',
      GATEWAY_MAX_TOKENS: '300',
      GATEWAY_MAX_DOCUMENT_BYTES: '4096',
      GATEWAY_MAX_CUSTOMERS: '50',
    });
    expect(config).toMatchObject({
      maxDepth: 5,
      maxAliases: 7,
      maxTokens: 300,
      maxDocumentBytes: 4096,
      maxCustomersPerRequest: 50,
    });
  });

  it('rejects a limit that is not a positive whole number', () => {
    expect(() => loadConfig({ GATEWAY_MAX_DEPTH: '0', GATEWAY_MAX_CUSTOMERS: 'lots' })).toThrow(ConfigError);
  });
});
