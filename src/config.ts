// Owns the gateway's configuration: environment variables in, one validated,
// typed and frozen Config out. Only src/main.ts passes process.env here.

export type Cloud = 'public' | 'usgov' | 'china';

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
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Defaults of SPEC.md; tests start from these and override what they need. */
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
  maxCustomersPerRequest: 500,
  maxDepth: 12,
  maxAliases: 200,
  maxTokens: 10_000,
  maxDocumentBytes: 100_000,
  corsOrigins: [],
  graphiql: true,
  introspection: true,
});

/** Builds a frozen Config from defaults plus overrides (used by tests and main.ts). */
export function createConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...defaultConfig, ...overrides });
}

/** Reads and validates the environment once; throws ConfigError listing every bad value. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  // An empty value counts as unset, so `PARTNER_CENTER_BASE_URL= npm start` means "not configured".
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
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

  const config = createConfig({
    port: integer('PORT', defaultConfig.port, 0, 65_535),
    production,
    cloud,
    baseUrl,
    applicationName: read('PARTNER_CENTER_APPLICATION') ?? defaultConfig.applicationName,
    locale: read('PARTNER_CENTER_LOCALE') ?? defaultConfig.locale,
    attemptTimeoutMs: integer('PARTNER_CENTER_TIMEOUT_MS', defaultConfig.attemptTimeoutMs, 1, 600_000),
    requestBudgetMs: integer('PARTNER_CENTER_BUDGET_MS', defaultConfig.requestBudgetMs, 1, 3_600_000),
    maxAttempts: integer('PARTNER_CENTER_MAX_ATTEMPTS', defaultConfig.maxAttempts, 1, 10),
    maxConcurrencyPerToken: integer('PARTNER_CENTER_MAX_CONCURRENCY', defaultConfig.maxConcurrencyPerToken, 1, 1_000),
    poolConnections: integer('PARTNER_CENTER_POOL_CONNECTIONS', defaultConfig.poolConnections, 1, 10_000),
    maxIds: integer('GATEWAY_MAX_IDS', defaultConfig.maxIds, 1, 10_000),
    maxCustomersPerRequest: integer('GATEWAY_MAX_CUSTOMERS', defaultConfig.maxCustomersPerRequest, 1, 100_000),
    maxDepth: integer('GATEWAY_MAX_DEPTH', defaultConfig.maxDepth, 1, 100),
    maxAliases: integer('GATEWAY_MAX_ALIASES', defaultConfig.maxAliases, 1, 10_000),
    maxTokens: integer('GATEWAY_MAX_TOKENS', defaultConfig.maxTokens, 1, 1_000_000),
    maxDocumentBytes: integer('GATEWAY_MAX_DOCUMENT_BYTES', defaultConfig.maxDocumentBytes, 1, 10_000_000),
    corsOrigins: (read('CORS_ORIGINS') ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    graphiql: flag('GRAPHIQL', !production),
    introspection: flag('INTROSPECTION', !production),
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Strips trailing slashes and a trailing `/v1`: the client appends `/v1/...` itself. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/i, '');
}
