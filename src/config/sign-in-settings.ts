// Owns the sign-in settings: who signs in to Partner Center
// (PARTNER_CENTER_AUTH), the partner's app credentials and refresh token
// (each secret also as <NAME>_FILE), the Entra authority per cloud, and how
// callers of a gateway that signs in itself are verified (AUTH_*). Secrets
// are held in SecretSetting, which never prints its value.

import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { insecureBaseUrl } from './setting-urls';

export type AuthMode = 'forward' | 'app-user' | 'app';
export const AUTH_MODES: readonly AuthMode[] = ['forward', 'app-user', 'app'];

/** Entra's authority per cloud: public and US Government sign in at the global authority, 21Vianet at its own. */
export const CLOUD_AUTHORITY_HOSTS = {
  public: 'https://login.microsoftonline.com',
  usgov: 'https://login.microsoftonline.com',
  china: 'https://login.chinacloudapi.cn',
} as const;

/** The scope every Partner Center token is asked for. */
export const PARTNER_CENTER_SCOPE = 'https://api.partnercenter.microsoft.com/.default';

export const DEFAULT_READ_ROLES: readonly string[] = ['PartnerCenter.Read', 'PartnerCenter.Write'];
export const DEFAULT_WRITE_ROLES: readonly string[] = ['PartnerCenter.Write'];

/**
 * A secret setting. Its value is read through `read()`, which reads a `_FILE` setting afresh each time (a secret
 * replaced in its mounted file takes effect without a restart); it prints as [redacted] in logs, JSON and inspect.
 */
export class SecretSetting {
  readonly #value: string;
  constructor(
    value: string,
    /** The file it came from (<NAME>_FILE), read again by read(). */
    readonly file?: string,
  ) {
    this.#value = value;
  }

  /** The file's current content when the secret came from a file (the start-up value if it cannot be read), else the value. */
  read(): string {
    if (this.file === undefined) return this.#value;
    try {
      return readFileSync(this.file, 'utf8').trim() || this.#value;
    } catch {
      return this.#value;
    }
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** How callers' bearer tokens are verified in the gateway-held modes. */
export interface CallerSettings {
  readonly jwksUrl: string | undefined;
  readonly issuer: string | undefined;
  readonly audiences: readonly string[];
  readonly readRoles: readonly string[];
  readonly writeRoles: readonly string[];
}

export interface SignInSettings {
  readonly mode: AuthMode;
  /** The partner's tenant: a GUID or a domain (contoso.onmicrosoft.com). */
  readonly tenantId: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: SecretSetting | undefined;
  /** app-user only: the refresh token from the partner user's consent. */
  readonly refreshToken: SecretSetting | undefined;
  /** 32 bytes (base64) that encrypt the refresh token in Redis. */
  readonly tokenEncryptionKey: SecretSetting | undefined;
  /** Where Entra's token endpoint is: `{authorityHost}/{tenant}/oauth2/v2.0/token`. */
  readonly authorityHost: string;
  readonly callers: CallerSettings;
}

export const defaultSignInSettings: SignInSettings = Object.freeze({
  mode: 'forward',
  tenantId: undefined,
  clientId: undefined,
  clientSecret: undefined,
  refreshToken: undefined,
  tokenEncryptionKey: undefined,
  authorityHost: CLOUD_AUTHORITY_HOSTS.public,
  callers: Object.freeze({
    jwksUrl: undefined,
    issuer: undefined,
    audiences: [],
    readRoles: DEFAULT_READ_ROLES,
    writeRoles: DEFAULT_WRITE_ROLES,
  }),
});

/** A tenant as Entra takes it in the authority path: a GUID or a DNS name. */
const TENANT =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$/i;

/** The 32 bytes of an AES-256 key written in base64, or undefined when it is not that. */
export function encryptionKeyBytes(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, /[-_]/.test(value) ? 'base64url' : 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/**
 * The checks that hold for settings however they were made (environment or overrides). `simulated`: the built-in
 * simulator plays Partner Center and Entra, so the credentials and the AUTH_* settings may be missing.
 */
export function signInProblems(
  settings: SignInSettings,
  { production, simulated, redis }: { production: boolean; simulated: boolean; redis: boolean },
): string[] {
  const problems: string[] = [];
  if (!AUTH_MODES.includes(settings.mode)) {
    problems.push(`PARTNER_CENTER_AUTH must be one of ${AUTH_MODES.join(', ')}, got "${settings.mode}"`);
    return problems;
  }
  if (settings.mode === 'forward') return problems;
  const mode = `PARTNER_CENTER_AUTH=${settings.mode}`;
  if (!simulated) {
    const required: Array<[string, unknown]> = [
      ['PARTNER_CENTER_TENANT_ID', settings.tenantId],
      ['PARTNER_CENTER_CLIENT_ID', settings.clientId],
      ['PARTNER_CENTER_CLIENT_SECRET (or PARTNER_CENTER_CLIENT_SECRET_FILE)', settings.clientSecret],
    ];
    if (settings.mode === 'app-user') {
      required.push(['PARTNER_CENTER_REFRESH_TOKEN (or PARTNER_CENTER_REFRESH_TOKEN_FILE)', settings.refreshToken]);
    }
    required.push(
      ['AUTH_JWKS_URL', settings.callers.jwksUrl],
      ['AUTH_ISSUER', settings.callers.issuer],
      ['AUTH_AUDIENCE', settings.callers.audiences.length > 0 ? settings.callers.audiences : undefined],
    );
    for (const [name, value] of required) if (value === undefined) problems.push(`${mode} needs ${name}`);
  }
  if (settings.tenantId !== undefined && !TENANT.test(settings.tenantId)) {
    problems.push(
      `PARTNER_CENTER_TENANT_ID must be the partner's tenant id (a GUID) or domain (contoso.onmicrosoft.com), got "${settings.tenantId}"`,
    );
  }
  if (settings.mode === 'app-user' && redis && settings.tokenEncryptionKey === undefined) {
    problems.push(
      `${mode} with REDIS_URL needs TOKEN_ENCRYPTION_KEY (32 random bytes in base64, e.g. "openssl rand -base64 32"): the refresh token is kept in Redis encrypted`,
    );
  }
  if (
    settings.tokenEncryptionKey !== undefined &&
    encryptionKeyBytes(settings.tokenEncryptionKey.read()) === undefined
  ) {
    problems.push('TOKEN_ENCRYPTION_KEY must be 32 bytes written in base64 (e.g. "openssl rand -base64 32")');
  }
  const urls: Array<[string, string | undefined]> = [
    ['ENTRA_AUTHORITY_HOST', settings.authorityHost],
    ['AUTH_JWKS_URL', settings.callers.jwksUrl],
  ];
  for (const [name, url] of urls) {
    if (url === undefined) continue;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      problems.push(`${name} must be an http(s) URL, got "${url}"`);
    } else if (production && insecureBaseUrl(url)) {
      problems.push(
        `${name} must be https: with NODE_ENV=production (secrets and tokens would cross the network in clear), got "${url}"; only loopback hosts may use http:`,
      );
    }
  }
  return problems;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads the sign-in settings from the environment; problems found while reading (files, both forms) go to `problems`. */
export function readSignInSettings(
  read: (name: string) => string | undefined,
  cloud: keyof typeof CLOUD_AUTHORITY_HOSTS,
  problems: string[],
): SignInSettings {
  const secret = (name: string): SecretSetting | undefined => {
    const value = read(name);
    const file = read(`${name}_FILE`);
    if (value !== undefined && file !== undefined) {
      problems.push(`${name} and ${name}_FILE are both set: give the secret one way only`);
      return undefined;
    }
    if (file === undefined) return value === undefined ? undefined : new SecretSetting(value);
    try {
      const content = readFileSync(file, 'utf8').trim();
      if (content === '') {
        problems.push(`${name}_FILE: the file ${file} is empty`);
        return undefined;
      }
      return new SecretSetting(content, file);
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };
  const list = (name: string, fallback: readonly string[]): readonly string[] => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    return raw
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  };
  const mode = (read('PARTNER_CENTER_AUTH')?.toLowerCase() ?? 'forward') as AuthMode;
  return {
    mode,
    tenantId: read('PARTNER_CENTER_TENANT_ID'),
    clientId: read('PARTNER_CENTER_CLIENT_ID'),
    clientSecret: secret('PARTNER_CENTER_CLIENT_SECRET'),
    refreshToken: secret('PARTNER_CENTER_REFRESH_TOKEN'),
    tokenEncryptionKey: secret('TOKEN_ENCRYPTION_KEY'),
    authorityHost: (read('ENTRA_AUTHORITY_HOST') ?? CLOUD_AUTHORITY_HOSTS[cloud]).replace(/\/+$/, ''),
    callers: {
      jwksUrl: read('AUTH_JWKS_URL'),
      issuer: read('AUTH_ISSUER'),
      audiences: list('AUTH_AUDIENCE', []),
      readRoles: list('AUTH_READ_ROLES', DEFAULT_READ_ROLES),
      writeRoles: list('AUTH_WRITE_ROLES', DEFAULT_WRITE_ROLES),
    },
  };
}
