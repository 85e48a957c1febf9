// Owns the error codes clients see, thrown from every floor above this one,
// and the one place where gateway errors (bad input, upstream failures) become
// GraphQL errors. Everything that is not a GatewayError or a deliberate
// GraphQLError is masked.

import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UPSTREAM_REJECTED'
  | 'UPSTREAM_THROTTLED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'NOT_SUPPORTED_IN_CLOUD'
  | 'SYNC_NOT_ENABLED'
  | 'TOO_MANY_SUBSCRIPTIONS';

/** What is known of the upstream call behind an error; never the raw body or a token. */
export interface UpstreamInfo {
  status?: number;
  code?: number | string;
  requestId?: string;
  correlationId?: string;
}

/** Base error with a stable `code`; graphql-js copies `extensions` onto the located error. */
export class GatewayError extends Error {
  readonly extensions: Record<string, unknown>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
    this.extensions = { code, ...extra };
  }
}

export class BadUserInputError extends GatewayError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super('BAD_USER_INPUT', message, extra);
  }
}

export class UnauthenticatedError extends GatewayError {
  constructor(message = 'A bearer token is required: send "Authorization: Bearer <Partner Center token>".') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class NotSupportedInCloudError extends GatewayError {
  constructor(message: string) {
    super('NOT_SUPPORTED_IN_CLOUD', message);
  }
}

/** Any failure of a Partner Center call; `upstream` says what is known of the call. */
export class UpstreamError extends GatewayError {
  readonly upstream: UpstreamInfo;
  /** A call held back without being sent (a throttle window, pacing): in how many ms it could go, exactly. */
  retryAfterMs?: number;
  constructor(code: ErrorCode, message: string, upstream: UpstreamInfo, extra: Record<string, unknown> = {}) {
    const info = compact(upstream);
    super(code, message, { ...extra, upstream: info });
    this.upstream = info;
  }
}

/** A 2xx body that is not what was expected: `expected` says what was (e.g. `expected {"isSigned": true|false}`). */
export function badResponse(upstream: UpstreamInfo, expected: string): UpstreamError {
  return new UpstreamError('UPSTREAM_BAD_RESPONSE', `Partner Center sent an unexpected body: ${expected}.`, upstream);
}

/** Which code a Partner Center HTTP status maps to (README "Errors clients see"). */
export function codeForStatus(status: number): ErrorCode {
  if (status === 400) return 'BAD_USER_INPUT';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 429) return 'UPSTREAM_THROTTLED';
  if (status >= 400 && status < 500) return 'UPSTREAM_REJECTED';
  if (status >= 500) return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_BAD_RESPONSE';
}

/**
 * The upstream error fields we read from any of Partner Center's three error
 * body shapes. Each value is type-checked: the body is never trusted.
 */
export interface ParsedErrorBody {
  code?: number | string;
  description?: string;
}

/**
 * Reads an error body. Its free text reaches clients, so it is cleaned first (see `cleanUpstreamText`);
 * `authorization` is the caller's header, whose token must never come back even if Partner Center echoed it.
 */
export function parseErrorBody(text: string, authorization?: string): ParsedErrorBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const record = body as Record<string, unknown>;
  const code = record.code ?? record.errorName;
  const raw = [record.description, record.message].find(
    (value): value is string => typeof value === 'string' && value.trim() !== '',
  );
  const description = raw === undefined ? '' : cleanUpstreamText(raw, authorization);
  return {
    ...(typeof code === 'number' || (typeof code === 'string' && ERROR_NAME.test(code)) ? { code } : {}),
    ...(description ? { description } : {}),
  };
}

/** An upstream error code that is a name (`QualificationAlreadyExists`), not free text. */
const ERROR_NAME = /^[\w.-]{1,100}$/;

/** Longest upstream text a client sees; Partner Center's descriptions are one sentence. */
export const MAX_UPSTREAM_TEXT = 200;

const SECRET_PATTERNS: readonly RegExp[] = [
  // A JWT (header.payload[.signature]), whoever's it is.
  /eyJ[\w-]*\.[\w-]*(?:\.[\w-]*)?/g,
  // Anything presented as a bearer token or an Authorization value.
  /(?:\b(?:bearer|authorization)\b[\s:="']*)+[^\s"',;]+/gi,
  // Long opaque runs (keys, refresh tokens, continuation tokens); GUIDs (36 characters) stay readable.
  /[\w+/=-]{48,}/g,
];

/**
 * Upstream free text as a client may see it: the caller's token, anything that looks like a token or a JWT,
 * and control characters removed, whitespace folded, at most MAX_UPSTREAM_TEXT characters.
 */
export function cleanUpstreamText(text: string, authorization?: string): string {
  let clean = text.replace(/\p{Cc}+/gu, ' ');
  const token = authorization?.trim().split(/\s+/).pop();
  if (token) clean = clean.split(token).join('[redacted]');
  for (const pattern of SECRET_PATTERNS) clean = clean.replace(pattern, '[redacted]');
  clean = clean.replace(/\s+/g, ' ').trim();
  return clean.length > MAX_UPSTREAM_TEXT ? `${clean.slice(0, MAX_UPSTREAM_TEXT - 1)}…` : clean;
}

/**
 * yoga's maskError hook: the single place errors become what a client sees.
 * Gateway errors keep their message and extensions; GraphQLErrors raised on
 * purpose (validation, parsing, limits) pass; anything else is masked.
 */
export function maskError(error: unknown, message: string): Error {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    if (original instanceof GatewayError) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: original.extensions,
      });
    }
    if (original === undefined || original instanceof GraphQLError) {
      if (error.extensions.code !== undefined) return error;
      // graphql-js raises some errors without a code. With no path the request itself was wrong (variables that do not
      // fit their types, a missing operation name); it is tagged in place, so yoga does not log it as unexpected.
      if (error.path === undefined) {
        (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
        return error;
      }
      // With a path a field broke on our side (e.g. null for a non-null field): masked below like any other bug.
    }
    return new GraphQLError(message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  }
  if (error instanceof GatewayError) return new GraphQLError(error.message, { extensions: error.extensions });
  return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function compact(info: UpstreamInfo): UpstreamInfo {
  return Object.fromEntries(Object.entries(info).filter(([, value]) => value !== undefined)) as UpstreamInfo;
}
