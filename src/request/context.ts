// Owns the per-request Context: the caller's token (forwarded, or verified
// when the gateway signs in itself), the correlation id, the caller's
// language, the request budget, fresh loaders, and the signal that ends the
// request's upstream work, built once for each GraphQL request.

import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Config } from '../config/config';
import type { Transport } from '../customer-base/change-feed';
import type { CustomerBase } from '../customer-base/customer-base';
import { unverifiedClaims } from '../domain/token-claims';
import type { RequestStats, Resource, TokenIdentity } from '../domain/upstream';
import { correlationIdFor } from '../observability/correlation-id';
import { type GatewayEvents, ignoredEvents } from '../observability/events';
import type { Logger } from '../observability/logger';
import type { Tracing } from '../observability/tracing';
import { createLoaders, type Loaders } from '../partner-center/loaders';
import type { CallContext, PartnerCenterClient } from '../partner-center/types';
import type { SharedCalls } from '../quota/coalescing';
import { identifyToken } from '../quota/partner-key';
import type { SignIn } from '../sign-in/sign-in';
import { type Access, forwardAccess, gatewayAccess } from './access';

export type TokenKind = 'app-only' | 'app-user' | 'unknown';

/** The background sync of the customer base and the snapshot it keeps. */
export interface Context {
  readonly config: Config;
  readonly client: PartnerCenterClient;
  readonly call: CallContext;
  readonly loaders: Loaders;
  readonly tokenKind: TokenKind;
  /** What the caller may do (verified in the gateway-held modes) and who it is, for the audit line. */
  readonly access: Access;
  /** The snapshot of the whole customer base and its sync; undefined while the sync is off. */
  readonly customerBase?: CustomerBase;
  /** How a subscription of this request is delivered: GraphQL over SSE (any HTTP request), or WebSocket. */
  readonly transport: Transport;
  /** Ends the request's upstream work: its queued calls are dropped, its backoffs cut short, its GETs in flight aborted. */
  readonly endWork: () => void;
  /** The cache's last answer for this request's token (STALE_IF_ERROR_SECONDS), for a read that failed. */
  readonly lastGood: (resource: Resource, customer: string) => Promise<{ value: unknown; at: number } | undefined>;
}

/** The Authorization value the simulator accepts for tokenless requests in simulator mode. */
export const DEVELOPMENT_AUTHORIZATION = 'Bearer simulator-development-user';

/** One child logger per HTTP request, carrying its correlation id; the context and the request's log line share it. */
export function createRequestLoggers(logger: Logger): (request: Request) => Logger {
  const children = new WeakMap<Request, Logger>();
  return (request) => {
    let child = children.get(request);
    if (child === undefined) {
      child = logger.child({ correlationId: correlationIdFor(request) });
      children.set(request, child);
    }
    return child;
  };
}

export interface ContextDeps {
  /** This request's logger (see createRequestLoggers). */
  loggerFor(request: Request): Logger;
  /** When tracing is on: the request's operation span, parent of its upstream calls. */
  tracing?: Tracing;
  /** The gateway-held modes (PARTNER_CENTER_AUTH app-user or app); undefined in forward mode. */
  signIn?: SignIn;
  events?: GatewayEvents;
  customerBase?: CustomerBase;
  /** The cache's last answers (src/quota/coalescing.ts). */
  lastGood?: SharedCalls['lastGood'];
  /** The request's access, when something before the context (the response cache) checks it too: verified once. */
  accessFor?: (request: Request) => Access;
}

export function createContextFactory(config: Config, client: PartnerCenterClient, deps: ContextDeps) {
  const signIn = deps.signIn;
  const events = deps.events ?? ignoredEvents;
  // The gateway's own token kind in the gateway-held modes: app-only tokens cannot read MCA status or add qualifications.
  const heldKind: TokenKind | undefined = signIn ? (config.signIn.mode === 'app' ? 'app-only' : 'app-user') : undefined;
  // A WebSocket subscription (src/server/websocket.ts) passes its transport and a Request carrying its connection's
  // authorization; an HTTP request (GraphQL over SSE included) passes its own.
  return ({ request, transport }: { request: Request; transport?: Transport }): Context => {
    // The caller's token never goes upstream when the gateway signs in itself.
    const authorization = signIn ? undefined : authorizationFor(request, config);
    let token: TokenIdentity | undefined = signIn?.identity;
    const access = deps.accessFor
      ? deps.accessFor(request)
      : signIn
        ? gatewayAccess(config, request, { verifier: signIn.verifier, token: signIn.token, events })
        : forwardAccess(authorization);
    let work: AbortController | undefined;
    let ended = false;
    const call: CallContext = {
      authorization,
      ...(signIn ? { signIn: signIn.token.authorization, guard: access } : {}),
      // Worked out on first use, so a request that calls nobody (introspection, a refused operation) pays nothing.
      get token() {
        if (token === undefined && authorization !== undefined) token = identifyToken(authorization);
        return token;
      },
      correlationId: correlationIdFor(request),
      deadline: Date.now() + config.requestBudgetMs,
      locale: preferredLocale(request.headers.get('accept-language')),
      // Made on first use, like the rest: a request that calls nobody pays nothing.
      get signal() {
        work ??= ended ? abortedWork() : workOf(request.signal);
        return work.signal;
      },
      stats: createRequestStats(),
      // The child logger is made on first use: most requests write nothing through it but their request line.
      get log() {
        return deps.loggerFor(request);
      },
      trace: deps.tracing?.contextOf(request),
    };
    // The request's logger is call.log, a getter: yoga spreads the Context object itself when it extends it, which
    // would make the child logger for every request, written to or not.
    // A request whose work never asked for its signal (no upstream call: a page of the customer base) has nothing
    // to end: no controller is made and aborted for it (an abort makes a DOMException, 2% of such a request's CPU).
    const endWork = () => {
      ended = true;
      if (work !== undefined && !work.signal.aborted) work.abort();
    };
    return {
      config,
      client,
      call,
      loaders: createLoaders(client, call),
      tokenKind: heldKind ?? tokenKindOf(authorization),
      access,
      transport: transport ?? 'sse',
      ...(deps.customerBase ? { customerBase: deps.customerBase } : {}),
      endWork,
      lastGood: async (resource, customer) => deps.lastGood?.(resource, customer, call),
    };
  };
}

/** The work of a request that has ended: already aborted. */
function abortedWork(): AbortController {
  const work = new AbortController();
  work.abort();
  return work;
}

/**
 * The signal of a request's upstream work. yoga's node adapter aborts the request's own signal when the caller's
 * connection closes before the response is sent; this one also aborts when the request ends its work.
 */
function workOf(caller: AbortSignal): AbortController {
  const work = new AbortController();
  if (caller.aborted) work.abort();
  else {
    const onGone = () => work.abort();
    caller.addEventListener('abort', onGone, { once: true });
    work.signal.addEventListener('abort', () => caller.removeEventListener('abort', onGone), { once: true });
  }
  return work;
}

/**
 * Ends a request's upstream work once its answer is complete. graphql-js answers as soon as a non-null field's
 * error has nulled its parent, without waiting for the parent's other fields: their calls would go on, and be
 * retried, for an answer nobody reads, spending the partner's quota. A streamed answer (@defer) is complete at its
 * last part.
 */
export function useWorkEndsWithAnswer(): Plugin<Context> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as Context;
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result)) return { onEnd: context.endWork };
          context.endWork();
          return undefined;
        },
      };
    },
  };
}

/** What a request spent upstream starts at nothing. */
function createRequestStats(): RequestStats {
  return { upstreamCalls: 0, cacheHits: 0, retries: 0 };
}

/** A language tag as BCP 47 writes it: a 2-3 letter language, then subtags of 1-8 letters or digits. */
const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i;

/**
 * The caller's preferred language from Accept-Language, for X-Locale: the
 * entry with the highest q-value, the first listed among equals (so
 * `fr-CA,fr;q=0.9` is fr-CA, and `de;q=0.5,fr` is fr). `*`, q=0 and
 * malformed entries are skipped; undefined (the configured default) when
 * nothing is left. Case is normalised as Partner Center writes locales: en-US.
 */
export function preferredLocale(header: string | null): string | undefined {
  if (!header) return undefined;
  let best: { tag: string; q: number } | undefined;
  for (const entry of header.split(',')) {
    const [rawTag = '', ...parameters] = entry.split(';').map((part) => part.trim());
    if (!LANGUAGE_TAG.test(rawTag)) continue;
    const qParameter = parameters.find((parameter) => /^q=/i.test(parameter));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    if (!(q > 0 && q <= 1)) continue;
    if (best === undefined || q > best.q) best = { tag: rawTag, q };
  }
  return best && normaliseLocale(best.tag);
}

/** fr-ca -> fr-CA, ZH-hant-tw -> zh-Hant-TW: language lower case, script title case, region upper case. */
function normaliseLocale(tag: string): string {
  return tag
    .split('-')
    .map((part, index) => {
      if (index === 0) return part.toLowerCase();
      if (part.length === 2) return part.toUpperCase();
      if (part.length === 4 && /^[a-z]+$/i.test(part)) return part[0]?.toUpperCase() + part.slice(1).toLowerCase();
      return part.toLowerCase();
    })
    .join('-');
}

/** The caller's header when it carries a bearer token; in simulator mode alone, a development token when it is absent. */
function authorizationFor(request: Request, config: Config): string | undefined {
  const header = request.headers.get('authorization');
  if (header === null) return config.simulator ? DEVELOPMENT_AUTHORIZATION : undefined;
  return /^bearer\s+\S+/i.test(header.trim()) ? header : undefined;
}

/**
 * Reads the JWT's claims without verifying them: this only ever denies (an
 * app-only token cannot read MCA status or add qualifications), and Partner
 * Center verifies every token it receives anyway. Opaque tokens are 'unknown'.
 */
export function tokenKindOf(authorization: string | undefined): TokenKind {
  const claims = unverifiedClaims(authorization);
  if (claims === undefined) return 'unknown';
  if (claims.idtyp === 'app') return 'app-only';
  if (claims.idtyp === 'user' || typeof claims.scp === 'string') return 'app-user';
  const hasUser = ['upn', 'unique_name', 'preferred_username', 'email'].some((claim) => claim in claims);
  const isApp = typeof claims.appid === 'string' || typeof claims.azp === 'string' || Array.isArray(claims.roles);
  if (isApp && !hasUser) return 'app-only';
  return hasUser ? 'app-user' : 'unknown';
}
