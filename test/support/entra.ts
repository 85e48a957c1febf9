// A Microsoft Entra ID stand-in over https on 127.0.0.1: the v2.0 token endpoint (refresh-token rotation, refusals
// and failures on demand), OpenID metadata, a JWKS, and callers' tokens signed for real with its keys.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  SignJWT,
} from 'jose';
import { tlsFiles } from './tls-files';

export const DEFAULT_TENANT = '22222222-2222-4222-8222-222222222222';
/** A tenant the stand-in's default tokens never name: the issuer of forge.wrongIssuer. */
export const OTHER_TENANT = '99999999-9999-4999-8999-999999999999';
export const DEFAULT_CLIENT_ID = 'gateway-client';
export const DEFAULT_CLIENT_SECRET = 'gateway-secret';
export const DEFAULT_REFRESH_TOKEN = 'refresh-token-0';
export const DEFAULT_AUDIENCE = 'api://partner-center-gateway';
export const DEFAULT_EXPIRES_IN = 3600;
/** The caller identity of signCallerToken unless its claims say otherwise. */
export const DEFAULT_CALLER = {
  sub: 'caller-subject-0001',
  oid: '33333333-3333-4333-8333-333333333333',
  roles: ['PartnerCenter.Read'],
} as const;

export interface EntraOptions {
  /** The tenant of callers' tokens (their issuer and tid); token requests are accepted for any tenant in the path. */
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** The refresh token that is current when the stand-in starts. */
  refreshToken?: string;
  /** expires_in (seconds) of every access token issued. */
  expiresIn?: number;
  /** The audience of callers' tokens. */
  audience?: string;
}

export type ClientAuth = 'client_secret_post' | 'client_secret_basic' | 'none';

/** One POST to /{tenant}/oauth2/v2.0/token, as it arrived. The client secret is never kept, only whether it matched. */
export interface TokenRequest {
  readonly tenant: string;
  /** grant_type as sent, undefined when absent. */
  readonly grant: string | undefined;
  readonly clientId: string | undefined;
  readonly scope: string | undefined;
  /** The refresh_token parameter, when one was sent. */
  readonly refreshToken?: string;
  readonly secretOk: boolean;
  /** How the client authenticated: form fields, an Authorization: Basic header, or not at all. */
  readonly clientAuth: ClientAuth;
  readonly contentType: string | undefined;
  /** What the stand-in decided to answer on arrival: an HTTP status, a reset connection or a hang. */
  readonly answer: number | 'reset' | 'hang';
  /** Milliseconds since the stand-in started, when the request's body had arrived. */
  readonly at: number;
}

/** Claims for a caller's token; a claim set to undefined removes it, defaults included. */
export type CallerClaims = Record<string, unknown>;

/** A time span: seconds (may be negative) or jose-style text such as '1h', '30 s', '-2h', '2 hours ago'. */
export type TimeSpan = number | string;

export interface SignCallerTokenOptions {
  alg?: 'RS256' | 'ES256';
  /**
   * A held key's kid signs with that key. Any other kid signs with the algorithm's default key but names this kid
   * in the header, for tokens whose kid the JWKS does not publish.
   */
  kid?: string;
  issuer?: string;
  audience?: string | string[];
  /** exp relative to now; 1 h by default. Numbers are seconds from now, not an epoch time as in jose. */
  expiresIn?: TimeSpan;
  /** nbf relative to now; no nbf by default. */
  notBefore?: TimeSpan;
  /** Extra or replaced protected-header parameters (typ, crit, x5t...); undefined removes one. */
  header?: Record<string, unknown>;
}

export interface Forge {
  /** Signed by an RS256 key the JWKS does not hold, under the kid of the published default RS256 key. */
  otherKey(claims?: CallerClaims): Promise<string>;
  /** alg none and an empty signature. */
  none(claims?: CallerClaims): Promise<string>;
  /** HS256 whose HMAC secret is the default RS256 key's public SPKI PEM, with that key's kid (key confusion). */
  hs256WithPublicKey(claims?: CallerClaims): Promise<string>;
  /** Correctly signed, but exp two hours ago (and iat three). */
  expired(claims?: CallerClaims): Promise<string>;
  /** Correctly signed for another audience. */
  wrongAudience(claims?: CallerClaims): Promise<string>;
  /** Correctly signed, but issued by another tenant on the same authority. */
  wrongIssuer(claims?: CallerClaims): Promise<string>;
}

export interface EntraStandIn {
  /** https://127.0.0.1:PORT: the authority host, the part before /{tenant}/... */
  readonly url: string;
  /** `${url}/${tenant}/v2.0`, the issuer of v2.0 tokens (and of the default caller tokens for options.tenant). */
  issuer(tenant?: string): string;
  /** `${url}/${tenant}/oauth2/v2.0/token`. */
  tokenEndpoint(tenant?: string): string;
  /** `${url}/${tenant}/discovery/v2.0/keys`. */
  jwksUri(tenant?: string): string;
  /** Every token request in arrival order; clear it with `tokenRequests.length = 0`. */
  readonly tokenRequests: TokenRequest[];
  /** Every access token issued, in order. */
  readonly accessTokens: string[];
  /** GETs of the JWKS (any tenant). */
  readonly jwksRequests: number;
  /** GETs of the OpenID metadata (any tenant). */
  readonly metadataRequests: number;
  /** Resolves once `count` token requests have arrived; rejects after `timeoutMs`. */
  untilTokenRequests(count: number, timeoutMs?: number): Promise<void>;

  /** The next token request (whatever it holds) is refused with this OAuth error and AADSTS code. Queues. */
  refuseNext(error: string, aadsts: number, description?: string, status?: number): void;
  /** Every token request is refused like this until acceptAgain(); queued refuseNext/failNext still come first. */
  refuseAll(error: string, aadsts: number, description?: string, status?: number): void;
  /** Ends refuseAll. */
  acceptAgain(): void;
  /**
   * The next `times` token requests get an HTTP status (usually a 5xx), a destroyed connection, or no answer until
   * releaseHangs() or close(). Queues after earlier refuseNext/failNext calls.
   */
  failNext(kind: number | 'reset' | 'hang', times?: number): void;
  /**
   * Answers every hung request that is still connected, as it would answer it now (so a refresh token is redeemed
   * at release time); requests whose client gave up are dropped unprocessed.
   */
  releaseHangs(): void;
  /** Holds every token answer (decided on arrival) until the returned function is called, and all holds are released. */
  hold(): () => void;
  setExpiresIn(seconds: number): void;
  currentRefreshToken(): string;
  /** Makes `value` the current refresh token, as if an operator had consented again; the old one is refused. */
  setRefreshToken(value: string): void;

  signCallerToken(claims?: CallerClaims, options?: SignCallerTokenOptions): Promise<string>;
  /** Publishes a new RS256 key with a new kid and signs with it by default; older keys stay published. Its kid. */
  rotateKeys(): Promise<string>;
  /** The kids published in the JWKS, in order. */
  publishedKids(): string[];
  readonly forge: Forge;

  /** Destroys open connections (held and hung requests included) and resolves once the server has closed. */
  close(): Promise<void>;
}

type Alg = 'RS256' | 'ES256';

interface HeldKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly spkiPem: string;
}

type Outcome =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' };

/** Makes an outcome when it is used, so that each refusal carries its own trace id and timestamp, as Entra's do. */
type Script = () => Outcome;

interface TokenCall {
  readonly tenant: string;
  readonly form: URLSearchParams;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

/** The token endpoint reads at most this much of a body: a form with a refresh token is well under 16 KiB. */
const BODY_LIMIT = 64 * 1024;

/** What Entra says for the AADSTS codes tests use most; other codes get a generic sentence. */
const DESCRIPTIONS: Record<number, string> = {
  50076:
    'Due to a configuration change made by your administrator, or because you moved to a new location, you must ' +
    "use multi-factor authentication to access 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd'.",
  50173: 'The provided grant has expired due to it being revoked, a fresh auth token is needed.',
  53003: 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  65001:
    "The user or administrator has not consented to use the application with ID 'gateway-client'. Send an " +
    'interactive authorization request for this user and resource.',
  70000: 'The provided grant has expired or was already redeemed.',
  70003: 'The app requested an unsupported grant type.',
  90033: 'A transient error has occurred. Please try again.',
  700016: 'Application was not found in the directory.',
  700082:
    'The refresh token has expired due to inactivity. The token was issued on 2025-01-01T00:00:00.0000000Z and was ' +
    'inactive for 90.00:00:00.',
  1002012: 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default.',
  7000215:
    'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not ' +
    'the client secret ID, for a secret added to the app.',
  7000218: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  7000222: 'The provided client secret keys for the app are expired.',
};

/** Entra's timestamp format in error bodies: "2025-01-01 12:00:00Z". */
function entraTimestamp(): string {
  return new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * An error body shaped like Entra's: the AADSTS code leads error_description and is repeated in error_codes, and
 * the trace and correlation ids follow, so a gateway that logs the description verbatim is caught by the tests.
 */
function entraError(error: string, aadsts: number, description?: string): Record<string, unknown> {
  const text = description ?? DESCRIPTIONS[aadsts] ?? 'The request was refused by the Entra stand-in.';
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = entraTimestamp();
  const lead = text.startsWith('AADSTS') ? text : `AADSTS${aadsts}: ${text}`;
  return {
    error,
    error_description: `${lead} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  };
}

function missingParameter(name: string): Outcome {
  return {
    kind: 'json',
    status: 400,
    body: entraError(
      'invalid_request',
      900144,
      `AADSTS900144: The request body must contain the following parameter: '${name}'.`,
    ),
  };
}

function refusal(error: string, aadsts: number, description: string | undefined, status: number): Outcome {
  return { kind: 'json', status, body: entraError(error, aadsts, description) };
}

function failure(kind: number | 'reset' | 'hang'): Outcome {
  if (typeof kind !== 'number') return { kind };
  const error = kind === 503 || kind === 504 ? 'temporarily_unavailable' : 'server_error';
  return { kind: 'json', status: kind, body: entraError(error, 90033) };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds in a TimeSpan; text follows jose's vocabulary ('2h', '-30 s', '2 hours ago', '1 day from now'). */
function spanSeconds(span: TimeSpan): number {
  if (typeof span === 'number') return span;
  const match =
    /^([+-])? ?(\d+(?:\.\d+)?) ?(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)(?: (ago|from now))?$/i.exec(
      span.trim(),
    );
  const [, sign, amount, unit, direction] = match ?? [];
  const factor = unit ? UNIT_SECONDS[unit.toLowerCase()[0] ?? ''] : undefined;
  if (amount === undefined || factor === undefined) throw new TypeError(`Not a time span: ${JSON.stringify(span)}`);
  const seconds = Math.round(Number(amount) * factor);
  return sign === '-' || direction?.toLowerCase() === 'ago' ? -seconds : seconds;
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** The resource a scope names: 'https://api.partnercenter.microsoft.com/.default' -> its origin and path before. */
function audienceOf(scope: string): string {
  const resource = scope.split(' ').find((s) => !['openid', 'profile', 'offline_access', 'email'].includes(s)) ?? '';
  return resource.includes('/') ? resource.replace(/\/[^/]*$/, '') : resource;
}

function unsignedJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  // The gateway only forwards access tokens to Partner Center (the stand-in upstream), which never verifies them:
  // a placeholder signature keeps the token JWT-shaped without pretending it is signed.
  return `${part({ typ: 'JWT', alg: 'none' })}.${part(payload)}.c2lnbmF0dXJl`;
}

async function makeKey(alg: Alg, kid: string): Promise<HeldKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: await exportJWK(publicKey), spkiPem: await exportSPKI(publicKey) };
}

/** Percent escapes decoded, or undefined when they are malformed (a request should get an answer, not a crash). */
function percentDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** A form-urlencoded value decoded: a plus is a space there, unlike in a path. */
function formDecode(text: string): string | undefined {
  return percentDecode(text.replace(/\+/g, ' '));
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 2.3.1: both halves are form-urlencoded before they are joined.
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  return id === undefined || secret === undefined ? undefined : { id, secret };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startEntra(options: EntraOptions = {}): Promise<EntraStandIn> {
  const started = Date.now();
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  let expiresIn = options.expiresIn ?? DEFAULT_EXPIRES_IN;
  let refreshToken = options.refreshToken ?? DEFAULT_REFRESH_TOKEN;
  let rotations = 0;
  let issued = 0;
  let jwksRequests = 0;
  let metadataRequests = 0;

  const tokenRequests: TokenRequest[] = [];
  const accessTokens: string[] = [];
  const scripted: Script[] = [];
  let persistent: Script | undefined;
  const holds = new Set<symbol>();
  const heldAnswers: Array<() => void> = [];
  const hangs: Array<{ res: ServerResponse; call: TokenCall }> = [];
  const waiters = new Set<{ count: number; settle: (error?: Error) => void }>();
  const sockets = new Set<Socket>();

  // Keys are made per stand-in, so a token from one stand-in never verifies against another's JWKS.
  let rsCount = 1;
  const [firstRs, firstEs] = await Promise.all([
    makeKey('RS256', 'stand-in-rs256-1'),
    makeKey('ES256', 'stand-in-es256-1'),
  ]);
  const published: HeldKey[] = [firstRs, firstEs];
  let defaultRs = firstRs;
  const defaultEs = firstEs;
  // The outsider key of forge.otherKey is made only when a test asks for it: RSA key generation is the slow part.
  let outsider: Promise<HeldKey> | undefined;

  let url = '';
  const issuer = (t: string = tenant) => `${url}/${t}/v2.0`;
  const tokenEndpoint = (t: string = tenant) => `${url}/${t}/oauth2/v2.0/token`;
  const jwksUri = (t: string = tenant) => `${url}/${t}/discovery/v2.0/keys`;

  /** Decides a token request's answer from the credentials and the rotation state; redeeming rotates. */
  function evaluate(call: TokenCall): Outcome {
    const { form } = call;
    if (!call.clientId) return missingParameter('client_id');
    if (call.clientId !== clientId) {
      return refusal(
        'unauthorized_client',
        700016,
        `Application with identifier '${call.clientId}' was not found in the directory '${call.tenant}'.`,
        400,
      );
    }
    if (call.clientSecret === undefined) return refusal('invalid_client', 7000218, undefined, 401);
    if (call.clientSecret !== clientSecret) return refusal('invalid_client', 7000215, undefined, 401);
    const grant = form.get('grant_type');
    if (!grant) return missingParameter('grant_type');
    if (grant !== 'refresh_token' && grant !== 'client_credentials') {
      return refusal('unsupported_grant_type', 70003, undefined, 400);
    }
    const scope = form.get('scope');
    if (!scope) return missingParameter('scope');
    if (grant === 'client_credentials' && !scope.split(' ').some((s) => s.endsWith('/.default'))) {
      return refusal('invalid_scope', 1002012, undefined, 400);
    }
    let rotated: string | undefined;
    if (grant === 'refresh_token') {
      const presented = form.get('refresh_token');
      if (!presented) return missingParameter('refresh_token');
      if (presented !== refreshToken) return refusal('invalid_grant', 70000, undefined, 400);
      rotations += 1;
      rotated = `refresh-token-${rotations}`;
      refreshToken = rotated;
    }
    issued += 1;
    const now = Math.floor(Date.now() / 1000);
    const accessToken = unsignedJwt({
      aud: audienceOf(scope),
      iss: `https://sts.windows.net/${call.tenant}/`,
      iat: now,
      nbf: now,
      exp: now + expiresIn,
      appid: clientId,
      tid: call.tenant,
      idtyp: grant === 'refresh_token' ? 'user' : 'app',
      n: issued,
      ver: '1.0',
    });
    accessTokens.push(accessToken);
    return {
      kind: 'json',
      status: 200,
      body: {
        token_type: 'Bearer',
        scope,
        expires_in: expiresIn,
        ext_expires_in: expiresIn,
        access_token: accessToken,
        ...(rotated === undefined ? {} : { refresh_token: rotated }),
      },
    };
  }

  /** Answers now, or once every hold is released; a client that went away meanwhile gets nothing. */
  function deliver(res: ServerResponse, outcome: Outcome): void {
    if (outcome.kind === 'hang') return;
    const answer =
      outcome.kind === 'reset'
        ? () => res.socket?.destroy()
        : () =>
            send(res, outcome.status, outcome.body, {
              // Entra marks token answers uncacheable; a gateway behind a caching proxy relies on it.
              'cache-control': 'no-store, no-cache',
              pragma: 'no-cache',
            });
    if (holds.size > 0) heldAnswers.push(answer);
    else answer();
  }

  function notifyWaiters(): void {
    for (const waiter of waiters) {
      if (tokenRequests.length >= waiter.count) {
        waiters.delete(waiter);
        waiter.settle();
      }
    }
  }

  function handleToken(req: IncomingMessage, res: ServerResponse, pathTenant: string, body: string): void {
    const contentType = req.headers['content-type'];
    // Entra reads parameters only from a form body; a JSON body looks to it as if every parameter were missing.
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '');
    const form = new URLSearchParams(isForm ? body : '');
    const basic = basicCredentials(req.headers.authorization);
    const postedId = form.get('client_id') ?? undefined;
    const postedSecret = form.get('client_secret') ?? undefined;
    const call: TokenCall = {
      tenant: pathTenant,
      form,
      clientId: basic?.id ?? postedId,
      clientSecret: basic?.secret ?? postedSecret,
    };
    const outcome = (scripted.shift() ?? persistent)?.() ?? evaluate(call);
    const presentedRefreshToken = form.get('refresh_token');
    tokenRequests.push({
      tenant: pathTenant,
      grant: form.get('grant_type') ?? undefined,
      clientId: call.clientId,
      scope: form.get('scope') ?? undefined,
      ...(presentedRefreshToken === null ? {} : { refreshToken: presentedRefreshToken }),
      secretOk: call.clientSecret === clientSecret,
      clientAuth: basic ? 'client_secret_basic' : postedSecret !== undefined ? 'client_secret_post' : 'none',
      contentType,
      answer: outcome.kind === 'json' ? outcome.status : outcome.kind,
      at: Date.now() - started,
    });
    notifyWaiters();
    if (outcome.kind === 'hang') hangs.push({ res, call });
    deliver(res, outcome);
  }

  async function listener(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) {
      send(
        res,
        413,
        { error: 'invalid_request', error_description: 'Request body too large.' },
        { connection: 'close' },
      );
      return;
    }
    const path = new URL(req.url ?? '/', 'https://stand-in').pathname;
    const segments = /^\/([^/]+)\/(.+)$/.exec(path);
    const pathTenant = segments?.[1] === undefined ? undefined : percentDecode(segments[1]);
    const rest = segments?.[2];
    if (pathTenant !== undefined && rest === 'oauth2/v2.0/token') {
      if (req.method !== 'POST') {
        send(res, 405, entraError('invalid_request', 900561, 'The endpoint only accepts POST requests.'));
        return;
      }
      handleToken(req, res, pathTenant, body);
      return;
    }
    if (pathTenant !== undefined && req.method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
      metadataRequests += 1;
      send(res, 200, {
        issuer: issuer(pathTenant),
        jwks_uri: jwksUri(pathTenant),
        token_endpoint: tokenEndpoint(pathTenant),
        authorization_endpoint: `${url}/${pathTenant}/oauth2/v2.0/authorize`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        tenant_region_scope: 'EU',
      });
      return;
    }
    if (pathTenant !== undefined && req.method === 'GET' && rest === 'discovery/v2.0/keys') {
      jwksRequests += 1;
      send(
        res,
        200,
        { keys: published.map((key) => ({ ...key.publicJwk, kid: key.kid, use: 'sig', alg: key.alg })) },
        // Entra lets clients cache the key set for a day: a verifier must still fetch it again for an unknown kid.
        { 'cache-control': 'max-age=86400, private' },
      );
      return;
    }
    send(res, 404, { error: 'not_found', error_description: `The Entra stand-in has no ${req.method} ${path}.` });
  }

  const tls = tlsFiles();
  const server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    listener(req, res).catch(() => res.destroy());
  });
  // The raw TCP sockets, tracked from 'connection' so that close() also ends connections still in the handshake.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** A caller token's claims: registered claims from `opts`, the default caller, then `claims`, then `forced`. */
  function callerPayload(
    claims: CallerClaims,
    opts: SignCallerTokenOptions = {},
    forced: CallerClaims = {},
  ): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return withoutUndefined({
      iss: opts.issuer ?? issuer(),
      aud: opts.audience ?? audience,
      iat: now,
      ...(opts.notBefore === undefined ? {} : { nbf: now + spanSeconds(opts.notBefore) }),
      exp: now + spanSeconds(opts.expiresIn ?? DEFAULT_EXPIRES_IN),
      sub: DEFAULT_CALLER.sub,
      oid: DEFAULT_CALLER.oid,
      tid: tenant,
      roles: [...DEFAULT_CALLER.roles],
      ...claims,
      ...forced,
    });
  }

  function sign(claims: CallerClaims, opts: SignCallerTokenOptions, forced?: CallerClaims, key?: HeldKey) {
    const held = opts.kid === undefined ? undefined : published.find((k) => k.kid === opts.kid);
    const fallback = opts.alg === 'ES256' ? defaultEs : defaultRs;
    const signer = key ?? (held && (opts.alg === undefined || opts.alg === held.alg) ? held : fallback);
    const header = withoutUndefined({ typ: 'JWT', kid: opts.kid ?? signer.kid, ...opts.header, alg: signer.alg });
    return new SignJWT(callerPayload(claims, opts, forced))
      .setProtectedHeader(header as JWTHeaderParameters)
      .sign(signer.privateKey);
  }

  let closing: Promise<void> | undefined;

  return {
    url,
    issuer,
    tokenEndpoint,
    jwksUri,
    tokenRequests,
    accessTokens,
    get jwksRequests() {
      return jwksRequests;
    },
    get metadataRequests() {
      return metadataRequests;
    },
    untilTokenRequests(count, timeoutMs = 5_000) {
      if (tokenRequests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          count,
          settle: (error?: Error) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            if (error) reject(error);
            else resolve();
          },
        };
        const timer = setTimeout(
          () =>
            waiter.settle(
              new Error(`Only ${tokenRequests.length} of ${count} token requests came in ${timeoutMs} ms.`),
            ),
          timeoutMs,
        );
        waiters.add(waiter);
      });
    },

    refuseNext(error, aadsts, description, status = 400) {
      scripted.push(() => refusal(error, aadsts, description, status));
    },
    refuseAll(error, aadsts, description, status = 400) {
      persistent = () => refusal(error, aadsts, description, status);
    },
    acceptAgain() {
      persistent = undefined;
    },
    failNext(kind, times = 1) {
      for (let i = 0; i < times; i += 1) scripted.push(() => failure(kind));
    },
    releaseHangs() {
      for (const { res, call } of hangs.splice(0)) {
        if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) continue;
        deliver(res, evaluate(call));
      }
    },
    hold() {
      const token = Symbol('hold');
      holds.add(token);
      return () => {
        if (!holds.delete(token) || holds.size > 0) return;
        for (const answer of heldAnswers.splice(0)) answer();
      };
    },
    setExpiresIn(seconds) {
      expiresIn = seconds;
    },
    currentRefreshToken: () => refreshToken,
    setRefreshToken(value) {
      refreshToken = value;
    },

    signCallerToken: (claims = {}, opts = {}) => sign(claims, opts),
    async rotateKeys() {
      rsCount += 1;
      const key = await makeKey('RS256', `stand-in-rs256-${rsCount}`);
      published.push(key);
      defaultRs = key;
      return key.kid;
    },
    publishedKids: () => published.map((key) => key.kid),
    forge: {
      async otherKey(claims = {}) {
        outsider ??= makeKey('RS256', 'stand-in-outsider');
        return sign(claims, { kid: defaultRs.kid }, {}, await outsider);
      },
      async none(claims = {}) {
        // jose refuses to sign with alg none, which is the point: the token is put together by hand.
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part(callerPayload(claims))}.`;
      },
      hs256WithPublicKey(claims = {}) {
        // The classic key-confusion attack: a verifier that takes the algorithm from the token and uses the
        // published RSA key's PEM as an HMAC secret would accept this.
        return new SignJWT(callerPayload(claims))
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: defaultRs.kid })
          .sign(new TextEncoder().encode(defaultRs.spkiPem));
      },
      expired(claims = {}) {
        const now = Math.floor(Date.now() / 1000);
        return sign(claims, {}, { iat: now - 3 * 3600, exp: now - 2 * 3600 });
      },
      wrongAudience(claims = {}) {
        return sign(claims, {}, { aud: 'api://some-other-application' });
      },
      wrongIssuer(claims = {}) {
        return sign(claims, {}, { iss: issuer(OTHER_TENANT) });
      },
    },

    close() {
      closing ??= new Promise<void>((resolve) => {
        // Held and hung answers are dropped, not sent: their sockets are destroyed below.
        holds.clear();
        heldAnswers.length = 0;
        hangs.length = 0;
        for (const waiter of [...waiters]) waiter.settle(new Error('The Entra stand-in closed.'));
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
