// With NODE_ENV=production the gateway refuses to send tokens over plain
// http: a PARTNER_CENTER_BASE_URL that is not https: stops the start, unless
// it names a loopback host (127.0.0.0/8, ::1, localhost).

import { describe, expect, it } from 'vitest';
import { ConfigError, createConfig, loadConfig } from '../src/config/config';
import { startGatewayProcess } from './support/process';

const production = (url: string) => ({ NODE_ENV: 'production', PARTNER_CENTER_BASE_URL: url });

describe('the production guard', () => {
  it('refuses an http: Partner Center URL in production, naming PARTNER_CENTER_BASE_URL', () => {
    expect(() => loadConfig(production('http://partner-center.internal'))).toThrow(ConfigError);
    expect(() => loadConfig(production('http://partner-center.internal'))).toThrow(
      /PARTNER_CENTER_BASE_URL must be https: with NODE_ENV=production.*"http:\/\/partner-center.internal"/,
    );
    expect(() => createConfig({ production: true, baseUrl: 'http://10.0.0.7:8080' })).toThrow(ConfigError);
  });

  it('accepts https: and loopback hosts in production', () => {
    for (const url of [
      'https://api.partnercenter.microsoft.com',
      'http://127.0.0.1:8080',
      'http://127.200.3.4',
      'http://localhost:3000',
      'http://[::1]:3000',
    ]) {
      expect(loadConfig(production(url)).baseUrl).toBe(url);
    }
  });

  it('does not look like loopback to a host that only starts like one', () => {
    expect(() => loadConfig(production('http://127.0.0.1.example.com'))).toThrow(ConfigError);
    expect(() => loadConfig(production('http://localhost.example.com'))).toThrow(ConfigError);
  });

  it('lets http: through outside production', () => {
    expect(loadConfig({ PARTNER_CENTER_BASE_URL: 'http://partner-center.internal' }).baseUrl).toBe(
      'http://partner-center.internal',
    );
  });

  it('stops the real process with the message and exit code 1', async () => {
    const gateway = startGatewayProcess({ PORT: '0', ...production('http://partner-center.internal') });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toContain('PARTNER_CENTER_BASE_URL must be https: with NODE_ENV=production');
    expect(gateway.stderr()).not.toMatch(/\n\s+at /);
  });
});
