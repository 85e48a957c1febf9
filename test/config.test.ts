// loadConfig turns the environment into one validated Config, or a ConfigError
// naming every bad variable.

import { describe, expect, it } from 'vitest';
import { ConfigError, createConfig, loadConfig } from '../src/config/config';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('uses the SPEC defaults for an empty environment', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      port: 4000,
      production: false,
      cloud: 'public',
      baseUrl: undefined,
      simulator: false,
      locale: 'en-US',
      attemptTimeoutMs: 8_000,
      requestBudgetMs: 20_000,
      maxAttempts: 3,
      maxConcurrencyPerToken: 32,
      maxIds: 100,
      graphiql: true,
      introspection: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('counts empty and blank values as unset', () => {
    const config = loadConfig({
      PORT: '',
      PARTNER_CENTER_CLOUD: '',
      PARTNER_CENTER_BASE_URL: '   ',
      PARTNER_CENTER_TIMEOUT_MS: '',
      PARTNER_CENTER_BUDGET_MS: '',
      PARTNER_CENTER_MAX_ATTEMPTS: '',
      PARTNER_CENTER_MAX_CONCURRENCY: '',
      GATEWAY_MAX_IDS: '',
      NODE_ENV: '',
    });

    expect(config).toEqual(loadConfig({}));
    expect(config.baseUrl).toBeUndefined();
  });

  it('reads PORT and the bounds from the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      PARTNER_CENTER_TIMEOUT_MS: '1500',
      PARTNER_CENTER_BUDGET_MS: '5000',
      PARTNER_CENTER_MAX_ATTEMPTS: '2',
      PARTNER_CENTER_MAX_CONCURRENCY: '4',
      GATEWAY_MAX_IDS: '10',
    });

    expect(config).toMatchObject({
      port: 8080,
      attemptTimeoutMs: 1500,
      requestBudgetMs: 5000,
      maxAttempts: 2,
      maxConcurrencyPerToken: 4,
      maxIds: 10,
    });
  });

  it.each(['abc', '-1', '65536', '80.5', '4000abc'])('refuses PORT=%s with a ConfigError naming PORT', (port) => {
    const error = configError({ PORT: port });

    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain('PORT');
    expect(error.message).toContain(`"${port}"`);
    expect(error.message).toMatch(/whole number from 0 to 65535/);
  });

  it('names every bad variable at once', () => {
    const error = configError({ PORT: 'abc', PARTNER_CENTER_TIMEOUT_MS: '0', PARTNER_CENTER_CLOUD: 'mars' });

    expect(error.problems).toHaveLength(3);
    expect(error.message).toContain('PORT');
    expect(error.message).toContain('PARTNER_CENTER_TIMEOUT_MS');
    expect(error.message).toContain('PARTNER_CENTER_CLOUD');
  });

  it.each([
    ['public', 'https://api.partnercenter.microsoft.com'],
    ['usgov', 'https://api.partnercenter.microsoft.com'],
    ['china', 'https://partner.partnercenterapi.microsoftonline.cn'],
    ['CHINA', 'https://partner.partnercenterapi.microsoftonline.cn'],
  ])('gives PARTNER_CENTER_CLOUD=%s the official URL %s', (cloud, url) => {
    const config = loadConfig({ PARTNER_CENTER_CLOUD: cloud });

    expect(config.cloud).toBe(cloud.toLowerCase());
    expect(config.baseUrl).toBe(url);
    expect(config.simulator).toBe(false);
  });

  it('takes PARTNER_CENTER_BASE_URL alone as the public cloud', () => {
    const config = loadConfig({ PARTNER_CENTER_BASE_URL: 'https://pc-proxy.contoso.com/' });

    expect(config).toMatchObject({ cloud: 'public', baseUrl: 'https://pc-proxy.contoso.com' });
  });

  it('strips trailing slashes and a trailing /v1 from PARTNER_CENTER_BASE_URL', () => {
    expect(loadConfig({ PARTNER_CENTER_BASE_URL: 'https://pc.contoso.com/prefix/v1/' }).baseUrl).toBe(
      'https://pc.contoso.com/prefix',
    );
  });

  it.each(['not a url', 'ftp://pc.contoso.com', 'https://pc.contoso.com/?a=1'])(
    'refuses PARTNER_CENTER_BASE_URL=%s',
    (url) => {
      const error = configError({ PARTNER_CENTER_BASE_URL: url });

      expect(error.message).toContain('PARTNER_CENTER_BASE_URL');
    },
  );

  it('refuses a CORS_ORIGINS entry without a scheme, saying how to write it', () => {
    const error = configError({ CORS_ORIGINS: 'http://localhost:3000,localhost:3001' });

    expect(error.problems).toEqual([
      'CORS_ORIGINS entry "localhost:3001" has no scheme: write it as a browser sends it, e.g. http://localhost:3001',
    ]);
  });

  it('refuses a CORS_ORIGINS entry with a path, and writes origins as browsers send them', () => {
    expect(configError({ CORS_ORIGINS: 'https://app.example/admin' }).problems).toEqual([
      'CORS_ORIGINS entry "https://app.example/admin" is not an origin: expected scheme://host[:port] with no path, e.g. http://localhost:3000',
    ]);
    expect(loadConfig({ CORS_ORIGINS: 'HTTP://LocalHost:3000/, *' }).corsOrigins).toEqual([
      'http://localhost:3000',
      '*',
    ]);
  });

  it('turns GraphiQL off by default in production and keeps introspection on', () => {
    const config = loadConfig({ NODE_ENV: 'production', PARTNER_CENTER_CLOUD: 'public' });

    expect(config).toMatchObject({ production: true, graphiql: false, introspection: true });
  });
});

describe('createConfig', () => {
  it('refuses programmatic overrides outside the ranges the environment is held to', () => {
    expect(() => createConfig({ attemptTimeoutMs: 0 })).toThrow(ConfigError);
    expect(() => createConfig({ maxConcurrencyPerToken: 1.5 })).toThrow(
      /maxConcurrencyPerToken must be a whole number/,
    );
    expect(() => createConfig({ port: 70_000, maxIds: 0 })).toThrow(/port must be .*\n.*maxIds must be/s);
  });

  it('refuses programmatic CORS origins without a scheme like the environment', () => {
    expect(() => createConfig({ corsOrigins: ['localhost:3000'] })).toThrow(
      /CORS_ORIGINS entry "localhost:3000" has no scheme/,
    );
  });

  it('accepts the SPEC defaults and returns a frozen object', () => {
    const config = createConfig();
    expect(config).toMatchObject({ attemptTimeoutMs: 8_000, requestBudgetMs: 20_000, maxAttempts: 3 });
    expect(Object.isFrozen(config)).toBe(true);
  });
});
