// Owns the yoga instance and its assembly: the Partner Center client over the
// quota machinery, the sign-in and the guard on every call when the gateway
// signs in itself, the customer-base sync, its CSV export and its page, and the
// plugins: schema, per-request context, error masking, CORS, browser safety,
// persisted documents, limits, the customer base's response cache, @defer,
// stale answers, GraphiQL, the request log line, metrics, tracing, /health,
// /ready and draining, and the MS-CorrelationId echo. It never listens; main.ts does, and tests call
// gateway.fetch() or serve it.

import { useGraphQlJit } from '@envelop/graphql-jit';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Dispatcher } from 'undici';
import type { Config } from './config/config';
import { type CustomerBaseTuning, createCustomerBase } from './customer-base/customer-base';
import { useStaleExtensions } from './customer-base/stale';
import { maskError } from './domain/errors';
import { correlationIdFor } from './observability/correlation-id';
import { combineEvents, type GatewayEvents, ignoredEvents } from './observability/events';
import { type Logger, silentLogger, yogaLogger } from './observability/logger';
import { createMetrics } from './observability/metrics';
import { useRequestLog } from './observability/request-log';
import type { Tracing } from './observability/tracing';
import { useCustomerBasePage } from './page/page';
import { createPartnerCenterClient } from './partner-center/client';
import type { PartnerCenterClient } from './partner-center/types';
import { createQuota, type QuotaTuning } from './quota/quota';
import { createSharedClient } from './quota/shared-client';
import { type Access, forwardAccess, gatewayAccess } from './request/access';
import { type Context, createContextFactory, createRequestLoggers, useWorkEndsWithAnswer } from './request/context';
import { createGuardedClient } from './request/guarded-client';
import { answeredFromSnapshot } from './schema/compiled';
import { schema } from './schema/index';
import { useBodySizeLimit } from './server/body-size';
import { useCustomerExport } from './server/export-csv';
import { createGraphiQLRenderer } from './server/graphiql';
import { createLimitPlugins } from './server/limits';
import { createPersistedDocumentPlugins } from './server/persisted-documents';
import { createResponseCache, type ResponseCache } from './server/response-cache';
import { createSignIn, type SignIn, type SignInDeps } from './sign-in/sign-in';

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
  /** The query GraphiQL opens with (main.ts passes src/server/graphiql.ts's exampleQuery); GraphiQL's welcome text when absent. */
  graphiqlDefaultQuery?: string;
  /** From startTracing() when tracing is on; without it no span is made and no traceparent sent. */
  tracing?: Tracing;
  /** Adds prom-client's process metrics (memory, CPU, event loop) to /metrics; main.ts turns them on. */
  processMetrics?: boolean;
  /** Not settings: the quota benchmark compresses time; tests shorten Redis's bounds. */
  quota?: QuotaTuning;
  /** Not settings: tests shorten how often replicas read each other's snapshot changes and the sync lease's life. */
  customerBase?: CustomerBaseTuning;
  /** The gateway-held modes: where token requests go, and shorter waits for tests. */
  signIn?: Pick<SignInDeps, 'dispatcher' | 'refusedRetryMs' | 'retryBaseMs' | 'keysCooldownMs'>;
}

export type Gateway = YogaServerInstance<Record<string, unknown>, Context> & {
  /** Closes the upstream pool (when the gateway created it) and the Redis connection. */
  dispose(): Promise<void>;
  /**
   * Starts draining: /ready answers 503 from now on and every response says
   * `Connection: close`, so load balancers stop sending and keep-alive
   * connections end with their last request. Requests keep being served.
   */
  drain(): void;
  readonly draining: boolean;
};

/** Content types a POST may carry; anything else (form posts, text/plain) is refused as a CSRF vector. */
const ACCEPTED_POST_TYPES = ['application/json', 'application/graphql-response+json', 'application/graphql+json'];

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? silentLogger;
  const loggerFor = createRequestLoggers(logger);
  const metrics = config.metrics ? createMetrics({ processMetrics: deps.processMetrics }) : undefined;
  const listeners = [metrics?.events, deps.events].filter((events) => events !== undefined);
  const events = listeners.length > 0 ? combineEvents(...listeners) : ignoredEvents;
  const quota = createQuota(config, { logger, events, tuning: deps.quota });
  const signIn = createSignIn(config, { logger, events, redis: quota.redis, ...deps.signIn });
  signIn?.token.start();
  // Requests share answers (cache, coalescing) above the client; every attempt is let through by the admission.
  const shared: PartnerCenterClient = createSharedClient(
    createPartnerCenterClient(config, {
      dispatcher: deps.dispatcher,
      logger,
      events,
      retryBaseDelayMs: deps.retryBaseDelayMs,
      random: deps.random,
      tracing: deps.tracing,
      admission: quota.admission,
    }),
    quota.shared,
    quota.metadata,
  );
  // A gateway that signs in itself checks its caller before every read and write, cached answers included.
  const client = signIn ? createGuardedClient(shared) : shared;
  const syncing = signIn !== undefined && config.syncRatePerMinute > 0;
  // One Access per request, so that the response cache's role check and the resolvers' verify the caller once.
  const accesses = new WeakMap<Request, Access>();
  const accessFor = (request: Request): Access => {
    let access = accesses.get(request);
    if (access === undefined) {
      access = signIn
        ? gatewayAccess(config, request, { verifier: signIn.verifier, token: signIn.token, events })
        : forwardAccess(undefined);
      accesses.set(request, access);
    }
    return access;
  };
  // Whole answers read from the snapshot, only where there is one (never in forward mode): see docs/customer-base.md.
  const responseCache: ResponseCache | undefined =
    signIn && syncing && config.responseCacheTtlSeconds > 0
      ? createResponseCache({
          ttlSeconds: config.responseCacheTtlSeconds,
          accessFor,
          redis: quota.redis,
          partnerDigest: signIn.identity.digest,
        })
      : undefined;
  // The background sync reads through the shared client (its answers fill the cache), as the gateway itself.
  const customerBase =
    signIn && syncing
      ? createCustomerBase(config, {
          client: shared,
          signIn,
          logger,
          events,
          redis: quota.redis,
          tuning: deps.customerBase,
          minuteMs: deps.quota?.pacingWindowMs,
          pacer: quota.pacer,
          ...(responseCache ? { onWrite: (write) => responseCache.invalidate(write) } : {}),
        })
      : undefined;
  if (customerBase) {
    metrics?.watchSync(customerBase.sync.status);
    metrics?.watchSubscriptions(customerBase.feed.open);
  }
  customerBase?.sync.start();
  let draining = false;

  let closed: Promise<void> | undefined;
  const closeUpstreams = () => {
    // The sync stops first, so it makes no call on a closing pool and writes its snapshot.
    closed ??= (customerBase?.close() ?? Promise.resolve())
      .then(() => Promise.all([client.close(), signIn?.close(), quota.dispose()]))
      .then(() => undefined);
    return closed;
  };

  // The export and the page read the snapshot with the caller's token, as GraphQL's customerBase does.
  const snapshotAccess = accessFor;

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    context: createContextFactory(config, client, {
      loggerFor,
      tracing: deps.tracing,
      signIn,
      events,
      customerBase,
      lastGood: quota.shared.lastGood,
      ...(responseCache ? { accessFor } : {}),
    }),
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
    logging: yogaLogger(logger),
    // The same limit and answers, checked from Content-Length where there is one: see src/server/body-size.ts.
    maxRequestBodySize: false,
    plugins: [
      // First, so that they see every request, also those a later plugin answers at once.
      useRequestLog(logger, loggerFor, { answered: metrics?.answered }),
      ...(deps.tracing ? [deps.tracing.plugin] : []),
      ...(metrics ? [metrics.plugin] : []),
      readiness(() => draining, signIn),
      useCustomerExport({ customerBase, accessFor: snapshotAccess }),
      useCustomerBasePage({ customerBase, accessFor: snapshotAccess }),
      refuseUnsafePosts(),
      // Before the limits, so that they measure the document a documentId names.
      ...(config.persistedDocuments
        ? createPersistedDocumentPlugins(config.persistedDocuments, config.allowArbitraryDocuments)
        : []),
      ...createLimitPlugins(config),
      // Before the response cache, whose execution wraps the compiled one: it then still sees each answer's entities.
      useGraphQlJit({}, { enableIf: answeredFromSnapshot }),
      // After the persisted documents, so that it sees the document a documentId names.
      ...(responseCache?.plugins ?? []),
      useDeferStream(),
      useStaleExtensions(),
      useWorkEndsWithAnswer(),
      echoCorrelationId(),
      closeConnectionsWhile(() => draining),
      // yoga's own dispose() runs this: a `dispose` property assigned onto the yoga instance would be ignored (it is
      // a proxy whose dispose is its own), leaving the upstream pool and Redis open.
      { onDispose: () => closeUpstreams() },
      // Last, where yoga's own check would run: after every request parser, so it wraps the one chosen.
      useBodySizeLimit(),
    ],
  });
  return Object.defineProperties(yoga, {
    drain: {
      value: () => {
        draining = true;
        // Open subscriptions complete now, so they do not hold the drain; their clients resume elsewhere.
        customerBase?.feed.close();
      },
      configurable: true,
    },
    draining: { get: () => draining, configurable: true },
  }) as Gateway;
}

/**
 * GET /ready: 200 while serving; 503 while draining, and while Entra refuses the gateway's own credentials, with a
 * JSON body naming the reason and what to do. yoga's useReadinessCheck does the same but matches every request
 * against a URLPattern, which showed in the per-request cost (bench/observability.ts); a path comparison suffices.
 */
function readiness(draining: () => boolean, signIn: SignIn | undefined): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/ready') return;
      if (draining()) return endResponse(new fetchAPI.Response(null, { status: 503 }));
      const status = signIn?.token.status();
      if (status && !status.ready) {
        const { reason, error, aadsts, action } = status;
        return endResponse(
          new fetchAPI.Response(JSON.stringify({ ready: false, reason, error, aadsts, action }), {
            status: 503,
            headers: { 'content-type': 'application/json' },
          }),
        );
      }
      endResponse(new fetchAPI.Response(null, { status: 200 }));
    },
  };
}

/** While draining, each response ends its keep-alive connection, so the server can close once requests finish. */
function closeConnectionsWhile(draining: () => boolean): Plugin {
  return {
    onResponse({ response }) {
      if (draining()) response.headers.set('connection', 'close');
    },
  };
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
