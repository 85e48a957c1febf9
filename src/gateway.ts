// Owns the yoga instance: schema, per-request context, error masking, CORS,
// browser safety, persisted documents, limits, @defer, GraphiQL, /health and
// the MS-CorrelationId echo. It never listens; main.ts does, and tests call
// gateway.fetch() or serve it.

import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Dispatcher } from 'undici';
import type { Config } from './config';
import { type Context, correlationIdFor, createContextFactory } from './context';
import type { GatewayEvents } from './events';
import { createGraphiQLRenderer } from './graphiql';
import { createLimitPlugins } from './limits';
import { type Logger, silentLogger } from './logger';
import { createPartnerCenterClient, type PartnerCenterClient } from './partner-center/client';
import { GatewayError, maskError } from './partner-center/errors';
import { createPersistedDocumentPlugins } from './persisted-documents';
import { createQuota, type QuotaTuning } from './quota/quota';
import { createSharedClient } from './quota/shared-client';
import { schema } from './schema/index';

export interface GatewayDeps {
  /** undici dispatcher for upstream calls; defaults to a keep-alive Agent sized by config.poolConnections. */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** Told of upstream attempts, cache lookups and held-back calls (metrics subscribe here). */
  events?: GatewayEvents;
  /** First retry backoff step in ms; tests shorten it. */
  retryBaseDelayMs?: number;
  /** The backoff jitter's source; tests pin it. */
  random?: () => number;
  /** The query GraphiQL opens with (main.ts passes src/graphiql.ts's exampleQuery); GraphiQL's welcome text when absent. */
  graphiqlDefaultQuery?: string;
  /** Not settings: the quota benchmark compresses time and reproduces the behaviour before coalescing. */
  quota?: QuotaTuning;
}

export type Gateway = YogaServerInstance<Record<string, unknown>, Context> & {
  /** Closes the upstream pool (when the gateway created it) and the Redis connection. */
  dispose(): Promise<void>;
};

/** Content types a POST may carry; anything else (form posts, text/plain) is refused as a CSRF vector. */
const ACCEPTED_POST_TYPES = ['application/json', 'application/graphql-response+json', 'application/graphql+json'];

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? silentLogger;
  const quota = createQuota(config, { logger, events: deps.events, tuning: deps.quota });
  // Requests share answers (cache, coalescing) above the client; every attempt is let through by the admission.
  const client: PartnerCenterClient = createSharedClient(
    createPartnerCenterClient(config, {
      dispatcher: deps.dispatcher,
      logger,
      events: deps.events,
      retryBaseDelayMs: deps.retryBaseDelayMs,
      random: deps.random,
      admission: quota.admission,
    }),
    quota.shared,
  );

  let closed: Promise<void> | undefined;
  const closeUpstreams = () => {
    closed ??= Promise.all([client.close(), quota.dispose()]).then(() => undefined);
    return closed;
  };

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    context: createContextFactory(config, client),
    maskedErrors: { maskError },
    graphiql: config.graphiql
      ? {
          title: 'Partner Center gateway',
          ...(deps.graphiqlDefaultQuery === undefined ? {} : { defaultQuery: deps.graphiqlDefaultQuery }),
        }
      : false,
    renderGraphiQL: createGraphiQLRenderer(),
    landingPage: false,
    // A persisted document is asked for by `documentId` (GraphQL-over-HTTP persisted documents).
    extraParamNames: config.persistedDocuments ? ['documentId'] : [],
    cors: config.corsOrigins.length ? corsFor(config.corsOrigins) : false,
    logging: {
      debug: (...args) => logger.debug(String(args[0])),
      info: (...args) => logger.info(String(args[0])),
      warn: (...args) => logger.warn(String(args[0])),
      // yoga reports every error it masks here; gateway errors were already logged by the client.
      error: (...args) => {
        const [error] = args;
        if (error instanceof GraphQLError && error.originalError instanceof GatewayError) return;
        logger.error('unexpected error', { error: error instanceof Error ? error.message : String(error) });
      },
    },
    plugins: [
      refuseUnsafePosts(),
      // Before the limits, so that they measure the document a documentId names.
      ...(config.persistedDocuments
        ? createPersistedDocumentPlugins(config.persistedDocuments, config.allowArbitraryDocuments)
        : []),
      ...createLimitPlugins(config),
      useDeferStream(),
      echoCorrelationId(),
      // yoga's own dispose() runs this: a `dispose` property assigned onto the yoga instance would be ignored (it is
      // a proxy whose dispose is its own), leaving the upstream pool and Redis open.
      { onDispose: () => closeUpstreams() },
    ],
  });
  return yoga as Gateway;
}

/**
 * CORS headers for listed origins only. yoga's static options would answer an
 * unlisted origin with the single listed one, or with "null" (which sandboxed
 * and file: pages match); here any other origin gets no CORS header at all.
 */
function corsFor(origins: readonly string[]) {
  const anyOrigin = origins.includes('*');
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || (!anyOrigin && !origins.includes(origin))) return false as const;
    return {
      // '*' once the origin is vetted: the caller's origin is echoed with Vary: Origin.
      origin: '*',
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'MS-CorrelationId'],
      exposedHeaders: ['MS-CorrelationId'],
      methods: ['GET', 'POST', 'OPTIONS'],
      // The token travels in a header, never a cookie: browsers need not send credentials.
      credentials: false,
      maxAge: 600,
    };
  };
}

function refuseUnsafePosts(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (ACCEPTED_POST_TYPES.includes(type)) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message: `POST bodies must be application/json, got "${type || 'none'}"; form and text/plain posts are refused to prevent cross-site request forgery.`,
                extensions: { code: 'BAD_REQUEST' },
              },
            ],
          }),
          { status: 415, headers: { 'content-type': 'application/json' } },
        ),
      );
    },
  };
}

function echoCorrelationId(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('MS-CorrelationId', correlationIdFor(request));
    },
  };
}
