// Owns the gateway's configuration: environment variables in, one validated,
// typed and frozen Config out. Only src/main.ts passes process.env here. The
// persisted-documents manifest is loaded here (read by
// persisted-documents-manifest.ts), so a bad one stops the start.

import { syncProblems } from './customer-base-settings';
import { readProxies, readTracing } from './outbound-settings';
import { readPersistedDocuments } from './persisted-documents-manifest';
import {
  corsOriginProblem,
  insecureBaseUrl,
  isRedisUrl,
  normaliseOrigin,
  normalizeBaseUrl,
  redactUrl,
} from './setting-urls';
import { defaultSignInSettings, readSignInSettings, type SignInSettings, signInProblems } from './sign-in-settings';
import { simulatorDefaults } from './simulator-defaults';

export type Cloud = 'public' | 'usgov' | 'china';

/** pino's levels, plus `silent`: the values LOG_LEVEL takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CLOUD_BASE_URLS: Readonly<Record<Cloud, string>> = {
  public: 'https://api.partnercenter.microsoft.com',
  usgov: 'https://api.partnercenter.microsoft.com',
  china: 'https://partner.partnercenterapi.microsoftonline.cn',
};

export interface Config {
  readonly port: number;
  readonly production: boolean;
  /** Which cloud's rules apply (MCA status is public-cloud only). */
  readonly cloud: Cloud;
  /**
   * Partner Center origin (and optional path prefix) without `/v1`. Undefined
   * when nothing is configured: main.ts then starts the built-in simulator.
   */
  readonly baseUrl: string | undefined;
  /** True when baseUrl points at the built-in simulator: tokenless requests are served as a development user. */
  readonly simulator: boolean;
  /** Sent as MS-PartnerCenter-Application on every upstream call. */
  readonly applicationName: string;
  /** Sent as X-Locale on every upstream call. */
  readonly locale: string;
  readonly attemptTimeoutMs: number;
  readonly requestBudgetMs: number;
  readonly maxAttempts: number;
  readonly maxConcurrencyPerToken: number;
  readonly poolConnections: number;
  /** Most entries `customers(ids)` takes, duplicates counted. */
  readonly maxIds: number;
  /** Most customer references one operation may make across aliases, lists and `_entities`. */
  readonly maxCustomersPerRequest: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDocumentBytes: number;
  /** Origins allowed by CORS; `['*']` allows any; empty sends no CORS headers. */
  readonly corsOrigins: readonly string[];
  readonly graphiql: boolean;
  readonly introspection: boolean;
  /** Persisted documents by id (hash), from the PERSISTED_DOCUMENTS manifest; undefined when none is configured. */
  readonly persistedDocuments: ReadonlyMap<string, string> | undefined;
  /** False: only persisted documents (by documentId) are served; query text is refused. */
  readonly allowArbitraryDocuments: boolean;
  /** Lowest level written to stdout. */
  readonly logLevel: LogLevel;
  /** Serve Prometheus text at /metrics. */
  readonly metrics: boolean;
  /** How long SIGTERM/SIGINT lets requests in flight finish before their connections are cut. */
  readonly shutdownTimeoutMs: number;
  /**
   * Export OpenTelemetry traces over OTLP/HTTP (JSON). On when OTEL_EXPORTER_OTLP_ENDPOINT (or
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the exporter reads the other OTEL_* variables itself.
   */
  readonly tracing: boolean;
  /** Proxy for https: Partner Center URLs (HTTPS_PROXY); undefined: direct. */
  readonly httpsProxy: string | undefined;
  /** Proxy for http: Partner Center URLs (HTTP_PROXY); undefined: direct. */
  readonly httpProxy: string | undefined;
  /** Hosts reached directly despite a proxy (NO_PROXY: comma-separated hosts, domains, `*`). */
  readonly noProxy: string | undefined;
  /** How long a successful answer is kept per (token, resource, customer); 0 turns the cache off. */
  readonly cacheTtlSeconds: number;
  /** Most answers the in-memory cache holds (Redis is bounded by its own maxmemory). */
  readonly cacheMaxEntries: number;
  /** Most upstream calls per partner in any 60 s; 0 turns pacing off. */
  readonly ratePerMinute: number;
  /** `redis://` or `rediss://` URL shared by every replica for cache, windows and pacing; undefined keeps them local. */
  readonly redisUrl: string | undefined;
  /** Who signs in to Partner Center (PARTNER_CENTER_AUTH) and how callers are verified when the gateway does. */
  readonly signIn: SignInSettings;
  /** Most upstream calls the background sync of the customer base makes in any 60 s; 0 turns the sync off. */
  readonly syncRatePerMinute: number;
  /** A synced customer's data is read again once it is older than this. */
  readonly syncMaxAgeMinutes: number;
  /** SYNC_SETTLED_MAX_AGE_HOURS: an accepted MCA's two reads are repeated only once older than this. */
  readonly syncSettledMaxAgeHours: number;
  /** The file the customer-base snapshot is kept in (it then survives a restart); undefined keeps it in memory. */
  readonly snapshotPath: string | undefined;
  /** How old a stored answer may be to stand in for a read that Partner Center throttled or failed; 0 turns it off. */
  readonly staleIfErrorSeconds: number;
  /** RESPONSE_CACHE_TTL_SECONDS: how long a whole answer read from the snapshot is kept at most; 0 turns it off. */
  readonly responseCacheTtlSeconds: number;
  /** CHANGES_RETENTION_DAYS: how long the change log keeps a change. */
  readonly changesRetentionDays: number;
  /** CHANGES_MAX: how many changes the change log keeps at most. */
  readonly changesMax: number;
  /** SUBSCRIPTIONS_MAX: open subscriptions per replica at most. */
  readonly subscriptionsMax: number;
  /** SIMULATOR_CHANGES: in simulator mode, a few of the simulator's customers change every ~15 s; false keeps them fixed. */
  readonly simulatorChanges: boolean;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The documented defaults (README "Configuration"); tests start from these and override what they need. */
export const defaultConfig: Config = Object.freeze({
  port: 4000,
  production: false,
  cloud: 'public',
  baseUrl: undefined,
  simulator: false,
  applicationName: 'partner-center-graphql-gateway',
  locale: 'en-US',
  attemptTimeoutMs: 8_000,
  requestBudgetMs: 20_000,
  maxAttempts: 3,
  maxConcurrencyPerToken: 32,
  poolConnections: 128,
  maxIds: 100,
  // At worst 200 distinct customers x 2 resources = 400 calls: within a tenant's ~500 a minute, and 13 waves of 32
  // slots, which fit the 20 s budget at 1 s upstream latency. Above maxIds (100), so customers(ids) says why itself.
  maxCustomersPerRequest: 200,
  maxDepth: 12,
  maxAliases: 200,
  maxTokens: 10_000,
  maxDocumentBytes: 100_000,
  corsOrigins: [],
  graphiql: true,
  introspection: true,
  persistedDocuments: undefined,
  allowArbitraryDocuments: true,
  logLevel: 'info',
  metrics: true,
  shutdownTimeoutMs: 10_000,
  tracing: false,
  httpsProxy: undefined,
  httpProxy: undefined,
  noProxy: undefined,
  cacheTtlSeconds: 0,
  cacheMaxEntries: 10_000,
  ratePerMinute: 0,
  redisUrl: undefined,
  signIn: defaultSignInSettings,
  syncRatePerMinute: 0,
  syncMaxAgeMinutes: 60,
  syncSettledMaxAgeHours: 24,
  snapshotPath: undefined,
  staleIfErrorSeconds: 0,
  responseCacheTtlSeconds: 60,
  changesRetentionDays: 30,
  changesMax: 100_000,
  subscriptionsMax: 1_000,
  simulatorChanges: true,
});

/** The numeric settings: where each comes from in the environment and the range it must fall in. */
const NUMBERS = {
  port: { env: 'PORT', min: 0, max: 65_535 },
  attemptTimeoutMs: { env: 'PARTNER_CENTER_TIMEOUT_MS', min: 1, max: 600_000 },
  requestBudgetMs: { env: 'PARTNER_CENTER_BUDGET_MS', min: 1, max: 3_600_000 },
  maxAttempts: { env: 'PARTNER_CENTER_MAX_ATTEMPTS', min: 1, max: 10 },
  maxConcurrencyPerToken: { env: 'PARTNER_CENTER_MAX_CONCURRENCY', min: 1, max: 1_000 },
  poolConnections: { env: 'PARTNER_CENTER_POOL_CONNECTIONS', min: 1, max: 10_000 },
  maxIds: { env: 'GATEWAY_MAX_IDS', min: 1, max: 10_000 },
  maxCustomersPerRequest: { env: 'GATEWAY_MAX_CUSTOMERS', min: 1, max: 100_000 },
  maxDepth: { env: 'GATEWAY_MAX_DEPTH', min: 1, max: 100 },
  maxAliases: { env: 'GATEWAY_MAX_ALIASES', min: 1, max: 10_000 },
  maxTokens: { env: 'GATEWAY_MAX_TOKENS', min: 1, max: 1_000_000 },
  maxDocumentBytes: { env: 'GATEWAY_MAX_DOCUMENT_BYTES', min: 1, max: 10_000_000 },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', min: 0, max: 3_600_000 },
  cacheTtlSeconds: { env: 'CACHE_TTL_SECONDS', min: 0, max: 604_800 },
  cacheMaxEntries: { env: 'CACHE_MAX_ENTRIES', min: 1, max: 10_000_000 },
  ratePerMinute: { env: 'PARTNER_CENTER_RATE_PER_MINUTE', min: 0, max: 1_000_000 },
  syncRatePerMinute: { env: 'SYNC_RATE_PER_MINUTE', min: 0, max: 1_000_000 },
  syncMaxAgeMinutes: { env: 'SYNC_MAX_AGE_MINUTES', min: 1, max: 525_600 },
  syncSettledMaxAgeHours: { env: 'SYNC_SETTLED_MAX_AGE_HOURS', min: 1, max: 8_760 },
  staleIfErrorSeconds: { env: 'STALE_IF_ERROR_SECONDS', min: 0, max: 31_536_000 },
  responseCacheTtlSeconds: { env: 'RESPONSE_CACHE_TTL_SECONDS', min: 0, max: 86_400 },
  changesRetentionDays: { env: 'CHANGES_RETENTION_DAYS', min: 1, max: 3_650 },
  changesMax: { env: 'CHANGES_MAX', min: 1, max: 10_000_000 },
  subscriptionsMax: { env: 'SUBSCRIPTIONS_MAX', min: 0, max: 1_000_000 },
} as const satisfies Partial<Record<keyof Config, { env: string; min: number; max: number }>>;

type NumberSetting = keyof typeof NUMBERS;

/**
 * Builds a frozen Config from defaults plus overrides (tests, main.ts), with
 * the same range checks as the environment: throws ConfigError on a bad value.
 */
export function createConfig(overrides: Partial<Config> = {}): Config {
  const config = { ...defaultConfig, ...overrides };
  const problems = (Object.keys(NUMBERS) as NumberSetting[]).flatMap((key) => {
    const { min, max } = NUMBERS[key];
    const value = config[key];
    return Number.isInteger(value) && value >= min && value <= max
      ? []
      : [`${key} must be a whole number from ${min} to ${max}, got ${value}`];
  });
  problems.push(...config.corsOrigins.flatMap(corsOriginProblem));
  if (!config.allowArbitraryDocuments && config.persistedDocuments === undefined) {
    problems.push(
      'ALLOW_ARBITRARY_DOCUMENTS=false needs PERSISTED_DOCUMENTS (a manifest of the documents to serve); without one every request would be refused',
    );
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  const insecure = config.production ? insecureBaseUrl(config.baseUrl) : undefined;
  if (insecure) {
    problems.push(
      `PARTNER_CENTER_BASE_URL must be https: with NODE_ENV=production (tokens would cross the network in clear), got "${insecure}"; only loopback hosts (127.0.0.0/8, ::1, localhost) may use http:`,
    );
  }
  if (config.redisUrl !== undefined && !isRedisUrl(config.redisUrl)) {
    problems.push(`redisUrl must be a redis:// or rediss:// URL, got "${redactUrl(config.redisUrl)}"`);
  }
  problems.push(
    ...signInProblems(config.signIn, {
      production: config.production,
      // No Partner Center configured (main.ts starts the simulator) or the simulator itself: it plays Entra too.
      simulated: config.simulator || config.baseUrl === undefined,
      redis: config.redisUrl !== undefined,
    }),
  );
  problems.push(...syncProblems(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The settings the environment gives (present and not blank, as loadConfig reads them): who decides what. */
export function givenSettings(env: Env): ReadonlySet<string> {
  return new Set(Object.keys(env).filter((name) => Boolean(env[name]?.trim())));
}

/**
 * Reads and validates the environment once; throws ConfigError listing every bad value. With `simulatorDefaults`
 * (main.ts), a start with no Partner Center configured gets the simulator's defaults (simulator-defaults.ts) for
 * every setting the environment does not give, before the settings are checked together.
 */
export function loadConfig(env: Env, options: { simulatorDefaults?: boolean } = {}): Config {
  const problems: string[] = [];
  // An empty value counts as unset, so `PARTNER_CENTER_BASE_URL= npm start` means "not configured".
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const numbers: Partial<Record<NumberSetting, number>> = {};
  for (const key of Object.keys(NUMBERS) as NumberSetting[]) {
    const { env: name, min, max } = NUMBERS[key];
    const raw = read(name);
    if (raw === undefined) continue;
    if (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max) numbers[key] = Number(raw);
    else problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };

  const production = read('NODE_ENV') === 'production';
  const cloudRaw = read('PARTNER_CENTER_CLOUD')?.toLowerCase() ?? 'public';
  let cloud: Cloud = 'public';
  if (cloudRaw === 'public' || cloudRaw === 'usgov' || cloudRaw === 'china') cloud = cloudRaw;
  else problems.push(`PARTNER_CENTER_CLOUD must be one of public, usgov, china, got "${cloudRaw}"`);

  let baseUrl = read('PARTNER_CENTER_BASE_URL');
  if (baseUrl !== undefined) {
    const parsed = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.search || parsed.hash) {
      problems.push(`PARTNER_CENTER_BASE_URL must be an http(s) URL without query, got "${baseUrl}"`);
      baseUrl = undefined;
    } else {
      baseUrl = normalizeBaseUrl(baseUrl);
    }
  } else if (read('PARTNER_CENTER_CLOUD') !== undefined) {
    baseUrl = CLOUD_BASE_URLS[cloud];
  }

  const corsOrigins = (read('CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => normaliseOrigin(origin.trim()))
    .filter(Boolean);
  const graphiql = flag('GRAPHIQL', !production);
  // On by default even in production: `_service { sdl }` publishes the schema to the federated graph anyway, and
  // the GraphQL-over-HTTP audit asks `__type`. INTROSPECTION=false switches it off.
  const introspection = flag('INTROSPECTION', true);
  const manifestPath = read('PERSISTED_DOCUMENTS');
  let persistedDocuments: ReadonlyMap<string, string> | undefined;
  if (manifestPath !== undefined) {
    try {
      persistedDocuments = readPersistedDocuments(manifestPath);
    } catch (error) {
      problems.push(`PERSISTED_DOCUMENTS: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const allowArbitraryDocuments = flag('ALLOW_ARBITRARY_DOCUMENTS', true);

  const logLevelRaw = read('LOG_LEVEL')?.toLowerCase() ?? defaultConfig.logLevel;
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw);
  if (logLevel === undefined) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"`);
  const metrics = flag('METRICS', true);
  const simulatorChanges = flag('SIMULATOR_CHANGES', true);

  const tracing = readTracing(read, problems);
  const { httpsProxy, httpProxy, noProxy } = readProxies(read, problems);
  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined && !isRedisUrl(redisUrl)) {
    problems.push(
      `REDIS_URL must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got "${redactUrl(redisUrl)}"`,
    );
  }
  const signIn = readSignInSettings(read, cloud, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const settings: Config = {
    ...defaultConfig,
    ...numbers,
    signIn,
    snapshotPath: read('SNAPSHOT_PATH'),
    production,
    cloud,
    baseUrl,
    applicationName: read('PARTNER_CENTER_APPLICATION') ?? defaultConfig.applicationName,
    locale: read('PARTNER_CENTER_LOCALE') ?? defaultConfig.locale,
    corsOrigins,
    graphiql,
    introspection,
    persistedDocuments,
    allowArbitraryDocuments,
    logLevel: logLevel ?? defaultConfig.logLevel,
    metrics,
    simulatorChanges,
    tracing,
    httpsProxy,
    httpProxy,
    noProxy,
    redisUrl,
  };
  return createConfig(options.simulatorDefaults ? simulatorDefaults(settings, givenSettings(env)) : settings);
}
