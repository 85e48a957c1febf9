// Owns persisted documents (docs/operations.md): requests that send a
// `documentId` from the manifest instead of `query`, and, with
// ALLOW_ARBITRARY_DOCUMENTS=false, the refusal of query text. Both refusals
// happen before parsing, so they never reach Partner Center. The manifest is
// read at start by src/config/persisted-documents-manifest.ts.

import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';

/** Request errors: no data, so GraphQL-over-HTTP wants 400 for application/graphql-response+json. */
const REQUEST_ERROR = { http: { spec: true, status: 400 } };

/**
 * The id a request names: `documentId` in a JSON body or a GET query string (the
 * GraphQL-over-HTTP persisted documents proposal), else Apollo's
 * `extensions.persistedQuery.sha256Hash`.
 */
function documentIdOf(params: GraphQLParams & { documentId?: unknown }, request: Request): string | null {
  const fromBody = typeof params.documentId === 'string' ? params.documentId : null;
  const fromUrl = request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null;
  const persistedQuery = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)
    ?.persistedQuery;
  const fromExtensions = typeof persistedQuery?.sha256Hash === 'string' ? persistedQuery.sha256Hash : null;
  return fromBody ?? fromUrl ?? fromExtensions;
}

/**
 * The document an id names. The client preset writes ids as the proposal does,
 * `sha256:<hex>` (also in each typed document's `__meta__.hash`); a bare hex
 * hash (Apollo's sha256Hash) finds the same document.
 */
function lookUp(documents: ReadonlyMap<string, string>, id: string): string | null {
  const other = id.startsWith('sha256:') ? id.slice('sha256:'.length) : `sha256:${id}`;
  return documents.get(id) ?? documents.get(other) ?? null;
}

/**
 * The plugins serving `documents` by id. Query text is still served when
 * `allowArbitrary` is true; otherwise it is refused with
 * PERSISTED_QUERY_ID_REQUIRED. An unknown id is PERSISTED_QUERY_NOT_IN_LIST.
 * (The codes are Apollo Router's, which frontends' clients already know.)
 */
export function createPersistedDocumentPlugins(
  documents: ReadonlyMap<string, string>,
  allowArbitrary: boolean,
): Plugin[] {
  return [
    {
      onParams({ params, request }) {
        if (params.query && documentIdOf(params, request) !== null) {
          throw requestError(
            'Send either query or documentId, not both: a persisted document is named by its documentId alone.',
            'CANNOT_SEND_PQ_ID_AND_BODY',
          );
        }
      },
    },
    usePersistedOperations({
      allowArbitraryOperations: allowArbitrary,
      extractPersistedOperationId: documentIdOf,
      getPersistedOperation: (id) => lookUp(documents, id),
      customErrors: {
        notFound: (payload) =>
          requestError(
            `Unknown documentId "${String(documentIdOf(payload.params, payload.request)).slice(0, 100)}": this gateway serves only the documents of its persisted-documents manifest.`,
            'PERSISTED_QUERY_NOT_IN_LIST',
          ),
        persistedQueryOnly: () =>
          requestError(
            'This gateway serves persisted documents only: send the documentId of a document in its manifest instead of query text.',
            'PERSISTED_QUERY_ID_REQUIRED',
          ),
        keyNotFound: () =>
          requestError(
            allowArbitrary ? 'Send a query or a documentId.' : 'Send the documentId of a persisted document.',
            allowArbitrary ? 'BAD_REQUEST' : 'PERSISTED_QUERY_ID_REQUIRED',
          ),
      },
    }) as Plugin,
  ];
}

function requestError(message: string, code: string): Error {
  return createGraphQLError(message, { extensions: { code, ...REQUEST_ERROR } });
}
