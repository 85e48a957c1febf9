// Owns the one log line per GraphQL request: correlation id, operation name,
// duration, what the request spent upstream and the error codes it returned.
// At trace level it also writes the request's headers as received, through
// pino's redact. The same per-request record feeds the GraphQL request
// metrics (metrics.ts: operations executed, their time and errors by phase,
// the HTTP time, the response cache's hits and misses), so a request is
// tracked once for all of them.

import { type DocumentNode, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RequestStats } from '../domain/upstream';
import { correlationIdFor } from './correlation-id';
import type { Logger } from './logger';

/** What the metrics are told of a GraphQL request that got as far as parsing its document, as its response goes out. */
export interface AnsweredRequest {
  /** The operation's name in the document, or 'Anonymous'; undefined when the document did not parse. */
  readonly operationName: string | undefined;
  /** query, mutation or subscription, 'unknown' when the document has no operation by the name asked for; undefined when it did not parse. */
  readonly operationType: string | undefined;
  readonly method: string;
  readonly statusCode: number;
  readonly seconds: number;
  /** The phase whose errors ended the request before it executed. */
  readonly failedPhase: 'parse' | 'validate' | 'context' | undefined;
  /** Set when the operation was executed: how long that took, and the path of each error it returned ('' for none). */
  readonly executed: { readonly seconds: number; readonly errorPaths: readonly string[] } | undefined;
  /** For an operation the response cache may answer: served from it, or not. */
  readonly responseCache: ResponseCacheResult | undefined;
}

export type ResponseCacheResult = 'hit' | 'miss';

export interface RequestLogOptions {
  readonly graphqlEndpoint?: string;
  /** Called once per GraphQL request whose document was parsed or refused by the parser (metrics.ts). */
  readonly answered?: (request: AnsweredRequest) => void;
}

interface Entry {
  readonly started: number;
  operationName: string | null;
  /** Set once the document parsed: the operation as the document names it. */
  operation: { readonly name: string | undefined; readonly type: string | undefined } | undefined;
  /** The parser refused the document, or building the context failed. */
  failedPhase: 'parse' | 'context' | undefined;
  /** When execution began, and how long it took once its result is in. */
  executeStarted: number | undefined;
  executeSeconds: number | undefined;
  /** The path of each error an executed operation returned, joined with dots ('' for an error without one). */
  errorPaths: string[] | undefined;
  stats: RequestStats | undefined;
  readonly codes: Set<string>;
  /** Set for @defer answers: the line is written when the last part has gone. */
  streaming: boolean;
  /** From the answer's extensions.responseCache, for an operation the response cache may answer. */
  responseCache: ResponseCacheResult | undefined;
  status: number | undefined;
}

interface Payload {
  extensions?: { responseCache?: { hit?: boolean } };
  errors?: ReadonlyArray<{ extensions?: Record<string, unknown>; path?: ReadonlyArray<string | number> }>;
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
    for (const error of payload.errors ?? []) {
      entry.codes.add(String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
      if (entry.executeStarted === undefined) continue;
      entry.errorPaths ??= [];
      entry.errorPaths.push(error.path?.join('.') ?? '');
    }
    for (const part of payload.incremental ?? []) collect(entry, part);
  };
  const executed = (entry: Entry): void => {
    if (entry.executeStarted !== undefined) entry.executeSeconds = (performance.now() - entry.executeStarted) / 1000;
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
        // Only for operations the response cache may answer (pino leaves an undefined field out).
        responseCache: entry.responseCache,
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
      // A streamed operation has executed when its last part has gone.
      executed(entry);
      tell(request, entry);
      write(request, entry);
    }
  }

  /** Tells the metrics, once the request's answer (or its last part) is out. */
  const tell = (request: Request, entry: Entry): void => {
    if (!answered || (entry.operation === undefined && entry.failedPhase !== 'parse')) return;
    const { operation, executeSeconds } = entry;
    answered({
      operationName: operation && (operation.name ?? 'Anonymous'),
      operationType: operation && (operation.type ?? 'unknown'),
      method: request.method,
      statusCode: entry.status ?? 200,
      seconds: (performance.now() - entry.started) / 1000,
      // Parsed, not executed, and answered with errors: validation refused it (or building its context failed).
      failedPhase: entry.failedPhase ?? (executeSeconds === undefined && entry.codes.size > 0 ? 'validate' : undefined),
      executed:
        executeSeconds === undefined ? undefined : { seconds: executeSeconds, errorPaths: entry.errorPaths ?? [] },
      responseCache: entry.responseCache,
    });
  };

  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ context }) => {
        const request = (context as { request?: Request }).request;
        const entry = request && entries.get(request);
        if (entry) entry.failedPhase = 'context';
      });
    },
    onRequest({ request, url }) {
      if (url.pathname !== graphqlEndpoint || request.method === 'OPTIONS') return;
      entries.set(request, {
        started: performance.now(),
        operationName: null,
        operation: undefined,
        failedPhase: undefined,
        executeStarted: undefined,
        executeSeconds: undefined,
        errorPaths: undefined,
        stats: undefined,
        codes: new Set(),
        streaming: false,
        status: undefined,
        responseCache: undefined,
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
        if (!isDocument(result)) {
          entry.failedPhase = 'parse';
          return;
        }
        const operation = getOperationAST(result, context.params.operationName);
        entry.operation = { name: operation?.name?.value, type: operation?.operation };
        entry.operationName = operation?.name?.value ?? entry.operationName;
      };
    },
    onExecute({ args }) {
      const context = args.contextValue as { request?: Request; call?: { stats: RequestStats } };
      const entry = context.request && entries.get(context.request);
      if (!entry) return;
      entry.stats = context.call?.stats;
      entry.executeStarted = performance.now();
    },
    onResultProcess({ request, result, setResult }) {
      const entry = entries.get(request);
      if (!entry) return;
      if (isAsyncIterable(result)) {
        entry.streaming = true;
        setResult(tap(request, entry, result as AsyncIterable<Payload>) as typeof result);
      } else {
        executed(entry);
        for (const single of [result].flat()) {
          collect(entry, single as Payload);
          const cached = (single as Payload).extensions?.responseCache;
          if (cached && typeof cached.hit === 'boolean') entry.responseCache = cached.hit ? 'hit' : 'miss';
          // A hit is answered before its document is parsed: only queries are cached.
          if (cached?.hit && entry.operation === undefined) {
            entry.operation = { name: entry.operationName ?? undefined, type: 'query' };
          }
        }
      }
    },
    onResponse({ request, response }) {
      const entry = entries.get(request);
      if (!entry) return;
      entry.status = response.status;
      // GraphiQL's page is not a GraphQL request.
      if ((response.headers.get('content-type') ?? '').startsWith('text/html')) entries.delete(request);
      else if (!entry.streaming) {
        tell(request, entry);
        write(request, entry);
      }
    },
  };
}

/** A parse result is a document, or the error that parsing it gave. */
function isDocument(result: unknown): result is DocumentNode {
  return typeof result === 'object' && result !== null && (result as { kind?: unknown }).kind === 'Document';
}
