// Owns the one log line per GraphQL request: correlation id, operation name,
// duration, what the request spent upstream and the error codes it returned.
// At trace level it also writes the request's headers as received, through
// pino's redact. The same per-request record feeds the HTTP duration
// histogram (metrics.ts), so a request is tracked once for both.

import { type DocumentNode, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { correlationIdFor } from './context';
import type { Logger } from './logger';
import type { RequestStats } from './partner-center/client';

/** What the HTTP duration histogram is told of a GraphQL request whose document parsed, as its response goes out. */
export interface AnsweredRequest {
  /** The operation's name in the document, or 'Anonymous'. */
  readonly operationName: string;
  /** query, mutation or subscription, or 'unknown' when the document has no operation by the name asked for. */
  readonly operationType: string;
  readonly method: string;
  readonly statusCode: number;
  readonly seconds: number;
}

export interface RequestLogOptions {
  readonly graphqlEndpoint?: string;
  /** Called once per GraphQL request whose document parsed (metrics.ts's graphql_yoga_http_duration). */
  readonly answered?: (request: AnsweredRequest) => void;
}

interface Entry {
  readonly started: number;
  operationName: string | null;
  /** Set once the document parsed: the operation as the document names it. */
  operation: { readonly name: string | undefined; readonly type: string | undefined } | undefined;
  stats: RequestStats | undefined;
  readonly codes: Set<string>;
  /** Set for @defer answers: the line is written when the last part has gone. */
  streaming: boolean;
  status: number | undefined;
}

interface Payload {
  errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }>;
  incremental?: ReadonlyArray<Payload>;
}

export function useRequestLog(
  logger: Logger,
  loggerFor: (request: Request) => Logger,
  { graphqlEndpoint = '/graphql', answered }: RequestLogOptions = {},
): Plugin {
  const entries = new WeakMap<Request, Entry>();
  // The line's keys are fixed and none of them can hold a secret, so it skips pino's redaction (about a third of
  // the line's cost, bench/README.md "Speed"). With the correlation id as its first field the line is byte for byte
  // what the request's child logger would write.
  const lines = logger.child({}, { redact: [] });

  const collect = (entry: Entry, payload: Payload): void => {
    for (const error of payload.errors ?? [])
      entry.codes.add(String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
    for (const part of payload.incremental ?? []) collect(entry, part);
  };

  const write = (request: Request, entry: Entry): void => {
    entries.delete(request);
    lines.info(
      {
        correlationId: correlationIdFor(request),
        operationName: entry.operationName,
        durationMs: Math.round((performance.now() - entry.started) * 10) / 10,
        upstreamCalls: entry.stats?.upstreamCalls ?? 0,
        cacheHits: entry.stats?.cacheHits ?? 0,
        retries: entry.stats?.retries ?? 0,
        errorCodes: [...entry.codes],
        status: entry.status,
      },
      'graphql request',
    );
  };

  async function* tap(request: Request, entry: Entry, parts: AsyncIterable<Payload>) {
    try {
      for await (const part of parts) {
        collect(entry, part);
        yield part;
      }
    } finally {
      write(request, entry);
    }
  }

  return {
    onRequest({ request, url }) {
      if (url.pathname !== graphqlEndpoint || request.method === 'OPTIONS') return;
      entries.set(request, {
        started: performance.now(),
        operationName: null,
        operation: undefined,
        stats: undefined,
        codes: new Set(),
        streaming: false,
        status: undefined,
      });
      if (logger.isLevelEnabled('trace')) {
        loggerFor(request).trace(
          { method: request.method, url: request.url, headers: Object.fromEntries(request.headers) },
          'graphql request received',
        );
      }
    },
    onParams({ request, params }) {
      const entry = entries.get(request);
      // Until the document is parsed, the name the caller asked for is all there is.
      if (entry && typeof params.operationName === 'string') entry.operationName = params.operationName;
    },
    onParse({ context }) {
      const entry = context.request && entries.get(context.request);
      if (!entry) return;
      return ({ result }) => {
        if (!isDocument(result)) return;
        const operation = getOperationAST(result, context.params.operationName);
        entry.operation = { name: operation?.name?.value, type: operation?.operation };
        entry.operationName = operation?.name?.value ?? entry.operationName;
      };
    },
    onExecute({ args }) {
      const context = args.contextValue as { request?: Request; call?: { stats: RequestStats } };
      const entry = context.request && entries.get(context.request);
      if (entry) entry.stats = context.call?.stats;
    },
    onResultProcess({ request, result, setResult }) {
      const entry = entries.get(request);
      if (!entry) return;
      if (isAsyncIterable(result)) {
        entry.streaming = true;
        setResult(tap(request, entry, result as AsyncIterable<Payload>) as typeof result);
      } else {
        for (const single of [result].flat()) collect(entry, single as Payload);
      }
    },
    onResponse({ request, response }) {
      const entry = entries.get(request);
      if (!entry) return;
      entry.status = response.status;
      if (answered && entry.operation) {
        answered({
          operationName: entry.operation.name ?? 'Anonymous',
          operationType: entry.operation.type ?? 'unknown',
          method: request.method,
          statusCode: response.status,
          seconds: (performance.now() - entry.started) / 1000,
        });
      }
      // GraphiQL's page is not a GraphQL request.
      if ((response.headers.get('content-type') ?? '').startsWith('text/html')) entries.delete(request);
      else if (!entry.streaming) write(request, entry);
    },
  };
}

/** A parse result is a document, or the error that parsing it gave. */
function isDocument(result: unknown): result is DocumentNode {
  return typeof result === 'object' && result !== null && (result as { kind?: unknown }).kind === 'Document';
}
