// Persisted documents: with PERSISTED_DOCUMENTS, requests may send the
// documentId of a document in the manifest GraphQL Code Generator writes
// (schema/generated/persisted-documents.json) instead of query text; with
// ALLOW_ARBITRARY_DOCUMENTS=false query text is refused. Refusals make no
// upstream call, and a bad manifest stops the start.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustomerListPageDocument } from '../schema/generated/graphql';
import { loadConfig } from '../src/config/config';
import { readPersistedDocuments } from '../src/config/persisted-documents-manifest';
import { configProblems } from './support/config';
import { useUpstream } from './support/fixtures';
import { customerId, type RunningGateway, TOKEN } from './support/gateway';

const MANIFEST = join(import.meta.dirname, '..', 'schema', 'generated', 'persisted-documents.json');
/** The id the client preset gives the list page, as a frontend sends it (`document.__meta__.hash`). */
const LIST_PAGE_ID = (CustomerListPageDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;

async function post(gw: RunningGateway, body: Record<string, unknown>) {
  const response = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: TOKEN },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function errorsOf(body: { errors?: Array<{ message: string; extensions?: { code?: string } }> }) {
  return body.errors?.map((error) => [error.extensions?.code, error.message]);
}

describe('persisted documents', () => {
  const { upstream, gatewayWith } = useUpstream();
  const documents = readPersistedDocuments(MANIFEST);

  it('reads the manifest the client preset writes, one document per operation in schema/operations', () => {
    expect(LIST_PAGE_ID).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(documents.get(LIST_PAGE_ID)).toMatch(/^query CustomerListPage/);
    expect(documents.size).toBe(7);
  });

  it('answers a documentId from the manifest, with variables, like the query it names', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents, allowArbitraryDocuments: false });
    const response = await post(gw, { documentId: LIST_PAGE_ID, variables: { first: 2 } });

    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.customerList.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([
      customerId(1),
      customerId(2),
    ]);
    expect(upstream.callsTo('customers')).toHaveLength(1);
  });

  it('answers a documentId sent with GET, and the bare hash without its sha256: prefix', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents, allowArbitraryDocuments: false });
    const url = new URL(gw.url);
    url.searchParams.set('documentId', LIST_PAGE_ID.replace(/^sha256:/, ''));
    url.searchParams.set('variables', JSON.stringify({ first: 1 }));
    const response = await fetch(url, { headers: { accept: 'application/json', authorization: TOKEN } });
    const body = await response.json();

    expect(body.errors).toBeUndefined();
    expect(body.data.customerList.edges).toHaveLength(1);
  });

  it('refuses an unknown documentId with PERSISTED_QUERY_NOT_IN_LIST and no upstream call', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents });
    const response = await post(gw, { documentId: `sha256:${'0'.repeat(64)}` });

    expect(response.body.data).toBeUndefined();
    expect(errorsOf(response.body)).toEqual([
      [
        'PERSISTED_QUERY_NOT_IN_LIST',
        `Unknown documentId "sha256:${'0'.repeat(64)}": this gateway serves only the documents of its persisted-documents manifest.`,
      ],
    ]);
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses query text with ALLOW_ARBITRARY_DOCUMENTS=false, even the text of a persisted document, with no upstream call', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents, allowArbitraryDocuments: false });
    for (const query of ['{ customerList { nodes { id } } }', documents.get(LIST_PAGE_ID)]) {
      const response = await post(gw, { query });
      expect(response.body.data).toBeUndefined();
      expect(errorsOf(response.body)).toEqual([
        [
          'PERSISTED_QUERY_ID_REQUIRED',
          'This gateway serves persisted documents only: send the documentId of a document in its manifest instead of query text.',
        ],
      ]);
    }
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses a request with neither query nor documentId when only persisted documents are served', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents, allowArbitraryDocuments: false });
    const response = await post(gw, { variables: {} });
    expect(errorsOf(response.body)).toEqual([
      ['PERSISTED_QUERY_ID_REQUIRED', 'Send the documentId of a persisted document.'],
    ]);
  });

  it('serves query text and documentIds side by side when arbitrary documents are allowed (the default)', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents });
    const byText = await post(gw, { query: '{ customerList(first: 1) { nodes { id } } }' });
    const byId = await post(gw, { documentId: LIST_PAGE_ID, variables: { first: 1 } });

    expect(byText.body).toEqual({ data: { customerList: { nodes: [{ id: customerId(1) }] } } });
    expect(byId.body.data.customerList.edges).toHaveLength(1);
  });

  it('refuses a request that sends both query and documentId', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents });
    const response = await post(gw, { query: '{ __typename }', documentId: LIST_PAGE_ID });
    expect(errorsOf(response.body)?.[0]?.[0]).toBe('CANNOT_SEND_PQ_ID_AND_BODY');
    expect(upstream.calls).toHaveLength(0);
  });

  it('still applies the operation limits to a persisted document', async () => {
    const gw = await gatewayWith({ persistedDocuments: documents, maxCustomersPerRequest: 10 });
    const response = await post(gw, { documentId: LIST_PAGE_ID, variables: { first: 11 } });
    expect(errorsOf(response.body)?.[0]?.[1]).toMatch(/touches 11 customers/);
    expect(upstream.calls).toHaveLength(0);
  });
});

describe('PERSISTED_DOCUMENTS and ALLOW_ARBITRARY_DOCUMENTS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persisted-documents-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  const problems = configProblems;

  it('loads the manifest named by PERSISTED_DOCUMENTS and refuses query text with ALLOW_ARBITRARY_DOCUMENTS=false', () => {
    const config = loadConfig({ PERSISTED_DOCUMENTS: MANIFEST, ALLOW_ARBITRARY_DOCUMENTS: 'false' });
    expect(config.persistedDocuments?.get(LIST_PAGE_ID)).toMatch(/^query CustomerListPage/);
    expect(config.allowArbitraryDocuments).toBe(false);
    expect(loadConfig({}).allowArbitraryDocuments).toBe(true);
    expect(loadConfig({}).persistedDocuments).toBeUndefined();
  });

  it.each([
    [
      'a missing file',
      () => join(dir, 'missing.json'),
      /^PERSISTED_DOCUMENTS: cannot read the manifest ".*missing.json" \(no such file\)$/,
    ],
    [
      'a file that is not JSON',
      () => file('text.json', 'query { a }'),
      /^PERSISTED_DOCUMENTS: the manifest ".*" is not JSON/,
    ],
    [
      'a JSON array',
      () => file('array.json', '["{ a }"]'),
      /^PERSISTED_DOCUMENTS: the manifest ".*" must be one JSON object/,
    ],
    [
      'a hash mapped to a number',
      () => file('number.json', '{"abc": 1}'),
      /maps "abc" to number, expected a GraphQL document string/,
    ],
    [
      'a document that is not GraphQL',
      () => file('broken.json', '{"abc": "query {"}'),
      /has a document "abc" that is not GraphQL/,
    ],
  ])('stops the start for %s, naming PERSISTED_DOCUMENTS', (_what, path, message) => {
    expect(problems({ PERSISTED_DOCUMENTS: path() })).toEqual([expect.stringMatching(message)]);
  });

  it('refuses ALLOW_ARBITRARY_DOCUMENTS=false without a manifest, and a value that is not a boolean', () => {
    expect(problems({ ALLOW_ARBITRARY_DOCUMENTS: 'false' })).toEqual([
      expect.stringMatching(/^ALLOW_ARBITRARY_DOCUMENTS=false needs PERSISTED_DOCUMENTS/),
    ]);
    expect(problems({ ALLOW_ARBITRARY_DOCUMENTS: 'maybe' })).toEqual([
      'ALLOW_ARBITRARY_DOCUMENTS must be true or false, got "maybe"',
    ]);
  });
});
