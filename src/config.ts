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
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** Reads and validates the environment once; throws ConfigError listing every bad value. */
export function loadConfig(env: Env): Config {
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
    .map((origin) => origin.trim())
    .filter(Boolean);
  const graphiql = flag('GRAPHIQL', !production);
  // On by default even in production: `_service { sdl }` publishes the schema to the federated graph anyway, and
  // the GraphQL-over-HTTP audit asks `__type`. INTROSPECTION=false switches it off.
  const introspection = flag('INTROSPECTION', true);
  if (problems.length > 0) throw new ConfigError(problems);
  return createConfig({
    ...numbers,
    production,
    cloud,
    baseUrl,
    applicationName: read('PARTNER_CENTER_APPLICATION') ?? defaultConfig.applicationName,
    locale: read('PARTNER_CENTER_LOCALE') ?? defaultConfig.locale,
    corsOrigins,
    graphiql,
    introspection,
  });
}

/** Strips trailing slashes and a trailing `/v1`: the client appends `/v1/...` itself. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/i, '');
}
