// PARTNER_CENTER_AUTH and its settings: the defaults, the secrets given as
// values or as files (never both), the Entra authority per cloud, and the
// start errors that name each missing or bad setting.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import { configProblems } from './support/config';

const dir = mkdtempSync(join(tmpdir(), 'sign-in-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const KEY = Buffer.alloc(32, 7).toString('base64');
/** A complete app-user configuration against a configured Partner Center. */
const APP_USER = {
  PARTNER_CENTER_BASE_URL: 'https://pc.example.test',
  PARTNER_CENTER_AUTH: 'app-user',
  PARTNER_CENTER_TENANT_ID: 'contoso.onmicrosoft.com',
  PARTNER_CENTER_CLIENT_ID: 'app-id',
  PARTNER_CENTER_CLIENT_SECRET: 'the-client-secret',
  PARTNER_CENTER_REFRESH_TOKEN: 'the-refresh-token',
  AUTH_JWKS_URL: 'https://login.example.test/keys',
  AUTH_ISSUER: 'https://login.example.test/tenant/v2.0',
  AUTH_AUDIENCE: 'api://gateway, api://gateway-two',
};

const problems = configProblems;

describe('sign-in settings', () => {
  it('forwards callers tokens by default, with the default roles and the public authority', () => {
    const { signIn } = loadConfig({});
    expect(signIn.mode).toBe('forward');
    expect(signIn.authorityHost).toBe('https://login.microsoftonline.com');
    expect(signIn.callers.readRoles).toEqual(['PartnerCenter.Read', 'PartnerCenter.Write']);
    expect(signIn.callers.writeRoles).toEqual(['PartnerCenter.Write']);
  });

  it('reads a complete app-user configuration, audiences split on commas', () => {
    const { signIn } = loadConfig(APP_USER);
    expect(signIn.mode).toBe('app-user');
    expect(signIn.tenantId).toBe('contoso.onmicrosoft.com');
    expect(signIn.clientSecret?.read()).toBe('the-client-secret');
    expect(signIn.refreshToken?.read()).toBe('the-refresh-token');
    expect(signIn.callers.audiences).toEqual(['api://gateway', 'api://gateway-two']);
  });

  it('never prints a secret: JSON, inspect and string forms say [redacted]', () => {
    const { signIn } = loadConfig(APP_USER);
    const printed = [JSON.stringify(signIn), inspect(signIn, { depth: 10 }), String(signIn.clientSecret)].join('\n');
    expect(printed).not.toContain('the-client-secret');
    expect(printed).not.toContain('the-refresh-token');
    expect(printed).toContain('[redacted]');
  });

  it.each([
    ['public', 'https://login.microsoftonline.com'],
    ['usgov', 'https://login.microsoftonline.com'],
    ['china', 'https://login.chinacloudapi.cn'],
  ])('signs in at the %s cloud authority by default, and ENTRA_AUTHORITY_HOST overrides it', (cloud, host) => {
    expect(loadConfig({ ...APP_USER, PARTNER_CENTER_CLOUD: cloud }).signIn.authorityHost).toBe(host);
    const overridden = loadConfig({
      ...APP_USER,
      PARTNER_CENTER_CLOUD: cloud,
      ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:8443/',
    });
    expect(overridden.signIn.authorityHost).toBe('https://127.0.0.1:8443');
  });

  it('reads each secret from its _FILE, trimmed, and reads the file afresh after it is replaced', () => {
    const secretFile = file('secret', '  first-secret\n');
    const { signIn } = loadConfig({
      ...APP_USER,
      PARTNER_CENTER_CLIENT_SECRET: '',
      PARTNER_CENTER_CLIENT_SECRET_FILE: secretFile,
    });
    expect(signIn.clientSecret?.read()).toBe('first-secret');
    writeFileSync(secretFile, 'rotated-secret\n');
    expect(signIn.clientSecret?.read()).toBe('rotated-secret');
  });

  it('refuses a secret given both as a value and as a file, naming it', () => {
    expect(problems({ ...APP_USER, PARTNER_CENTER_CLIENT_SECRET_FILE: file('both', 'x') })).toEqual([
      'PARTNER_CENTER_CLIENT_SECRET and PARTNER_CENTER_CLIENT_SECRET_FILE are both set: give the secret one way only',
    ]);
  });

  it('refuses a _FILE that cannot be read, naming the variable and never a content', () => {
    expect(
      problems({ ...APP_USER, PARTNER_CENTER_REFRESH_TOKEN: '', PARTNER_CENTER_REFRESH_TOKEN_FILE: join(dir, 'none') }),
    ).toEqual([`PARTNER_CENTER_REFRESH_TOKEN_FILE: cannot read ${join(dir, 'none')} (ENOENT)`]);
  });

  it('names every setting app-user is missing', () => {
    expect(problems({ PARTNER_CENTER_BASE_URL: 'https://pc.example.test', PARTNER_CENTER_AUTH: 'app-user' })).toEqual([
      'PARTNER_CENTER_AUTH=app-user needs PARTNER_CENTER_TENANT_ID',
      'PARTNER_CENTER_AUTH=app-user needs PARTNER_CENTER_CLIENT_ID',
      'PARTNER_CENTER_AUTH=app-user needs PARTNER_CENTER_CLIENT_SECRET (or PARTNER_CENTER_CLIENT_SECRET_FILE)',
      'PARTNER_CENTER_AUTH=app-user needs PARTNER_CENTER_REFRESH_TOKEN (or PARTNER_CENTER_REFRESH_TOKEN_FILE)',
      'PARTNER_CENTER_AUTH=app-user needs AUTH_JWKS_URL',
      'PARTNER_CENTER_AUTH=app-user needs AUTH_ISSUER',
      'PARTNER_CENTER_AUTH=app-user needs AUTH_AUDIENCE',
    ]);
  });

  it('needs no refresh token in app mode', () => {
    const env: Record<string, string> = { ...APP_USER, PARTNER_CENTER_AUTH: 'app' };
    delete env.PARTNER_CENTER_REFRESH_TOKEN;
    expect(loadConfig(env).signIn.mode).toBe('app');
  });

  it('lets the simulator stand in for every credential when no Partner Center is configured', () => {
    expect(loadConfig({ PARTNER_CENTER_AUTH: 'app-user' }).signIn.mode).toBe('app-user');
  });

  it('refuses an unknown mode', () => {
    expect(problems({ PARTNER_CENTER_AUTH: 'magic' })).toEqual([
      'PARTNER_CENTER_AUTH must be one of forward, app-user, app, got "magic"',
    ]);
  });

  it('needs TOKEN_ENCRYPTION_KEY with REDIS_URL in app-user mode, and 32 bytes of base64 in it', () => {
    expect(problems({ ...APP_USER, REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([
      'PARTNER_CENTER_AUTH=app-user with REDIS_URL needs TOKEN_ENCRYPTION_KEY (32 random bytes in base64, e.g. "openssl rand -base64 32"): the refresh token is kept in Redis encrypted',
    ]);
    expect(loadConfig({ ...APP_USER, REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_ENCRYPTION_KEY: KEY }).redisUrl).toBe(
      'redis://127.0.0.1:6379',
    );
    expect(problems({ ...APP_USER, TOKEN_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toEqual([
      'TOKEN_ENCRYPTION_KEY must be 32 bytes written in base64 (e.g. "openssl rand -base64 32")',
    ]);
  });

  it('refuses a plain-http authority off loopback in production, and allows a loopback one', () => {
    const production = { ...APP_USER, NODE_ENV: 'production' };
    expect(problems({ ...production, ENTRA_AUTHORITY_HOST: 'http://login.example.test' })).toEqual([
      'ENTRA_AUTHORITY_HOST must be https: with NODE_ENV=production (secrets and tokens would cross the network in clear), got "http://login.example.test"; only loopback hosts may use http:',
    ]);
    expect(loadConfig({ ...production, ENTRA_AUTHORITY_HOST: 'http://127.0.0.1:9000' }).signIn.authorityHost).toBe(
      'http://127.0.0.1:9000',
    );
  });

  it('refuses a tenant that is neither a GUID nor a domain', () => {
    expect(problems({ ...APP_USER, PARTNER_CENTER_TENANT_ID: '../other' })).toEqual([
      'PARTNER_CENTER_TENANT_ID must be the partner\'s tenant id (a GUID) or domain (contoso.onmicrosoft.com), got "../other"',
    ]);
  });
});
