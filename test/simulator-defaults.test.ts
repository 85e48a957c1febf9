// With nothing configured (simulator mode) the gateway signs in to the simulator and syncs the customer base at the
// simulator's own rate; each setting the operator gave wins, and a configured Partner Center changes nothing.

import { describe, expect, it } from 'vitest';
import { createConfig, defaultConfig, givenSettings, loadConfig } from '../src/config/config';
import {
  SIMULATOR_RATE_PER_MINUTE,
  SIMULATOR_SYNC_MAX_AGE_MINUTES,
  SIMULATOR_SYNC_RATE_PER_MINUTE,
  simulatorDefaults,
} from '../src/config/simulator-defaults';

/** What main.ts does with process.env. */
const started = (env: Record<string, string>) => loadConfig(env, { simulatorDefaults: true });

describe('simulatorDefaults', () => {
  it('is pure: nothing given turns app-user and the sync on, and leaves its input alone', () => {
    const defaults = simulatorDefaults(defaultConfig, new Set());
    expect(defaults.signIn.mode).toBe('app-user');
    expect(defaults.syncRatePerMinute).toBe(SIMULATOR_SYNC_RATE_PER_MINUTE);
    expect(defaultConfig.signIn.mode).toBe('forward');
    expect(simulatorDefaults(defaultConfig, new Set(['PARTNER_CENTER_AUTH'])).syncRatePerMinute).toBe(0);
    expect(loadConfig({}).signIn.mode).toBe('forward');
  });

  it('with nothing given: app-user, the pacing and sync rates set, a short sync age', () => {
    const config = started({});
    expect(config.signIn.mode).toBe('app-user');
    expect(config.ratePerMinute).toBe(SIMULATOR_RATE_PER_MINUTE);
    expect(config.syncRatePerMinute).toBe(SIMULATOR_SYNC_RATE_PER_MINUTE);
    expect(config.syncRatePerMinute).toBeGreaterThanOrEqual(6_000);
    expect(config.ratePerMinute).toBeGreaterThan(config.syncRatePerMinute);
    expect(config.syncMaxAgeMinutes).toBe(SIMULATOR_SYNC_MAX_AGE_MINUTES);
    expect(config.simulatorChanges).toBe(true);
  });

  it('keeps PARTNER_CENTER_AUTH=forward when given, and the sync stays off', () => {
    const config = started({ PARTNER_CENTER_AUTH: 'forward' });
    expect(config.signIn.mode).toBe('forward');
    expect(config.syncRatePerMinute).toBe(0);
  });

  it('keeps PARTNER_CENTER_AUTH=app when given, synced all the same', () => {
    const config = started({ PARTNER_CENTER_AUTH: 'app' });
    expect(config.signIn.mode).toBe('app');
    expect(config.syncRatePerMinute).toBe(SIMULATOR_SYNC_RATE_PER_MINUTE);
  });

  it('lets a given SYNC_RATE_PER_MINUTE win, 0 included', () => {
    expect(started({ SYNC_RATE_PER_MINUTE: '300' }).syncRatePerMinute).toBe(300);
    expect(started({ SYNC_RATE_PER_MINUTE: '0' }).syncRatePerMinute).toBe(0);
    // Pacing stays larger than a given sync rate above the simulator's own.
    const fast = started({ SYNC_RATE_PER_MINUTE: '50000' });
    expect(fast.syncRatePerMinute).toBe(50_000);
    expect(fast.ratePerMinute).toBe(100_000);
  });

  it('lets a given PARTNER_CENTER_RATE_PER_MINUTE and SYNC_MAX_AGE_MINUTES win; the sync stays within the pacing', () => {
    const config = started({ PARTNER_CENTER_RATE_PER_MINUTE: '600', SYNC_MAX_AGE_MINUTES: '30' });
    expect(config.ratePerMinute).toBe(600);
    expect(config.syncRatePerMinute).toBe(300);
    expect(config.syncMaxAgeMinutes).toBe(30);
    expect(started({ PARTNER_CENTER_RATE_PER_MINUTE: '0' }).syncRatePerMinute).toBe(0);
  });

  it('counts a blank setting as not given, as loadConfig does', () => {
    expect(givenSettings({ PARTNER_CENTER_AUTH: ' ', SYNC_RATE_PER_MINUTE: '' }).size).toBe(0);
    expect(started({ PARTNER_CENTER_AUTH: '' }).signIn.mode).toBe('app-user');
  });

  it('changes nothing when a Partner Center is configured', () => {
    const envs: Array<Record<string, string>> = [
      { PARTNER_CENTER_CLOUD: 'public' },
      { PARTNER_CENTER_BASE_URL: 'http://127.0.0.1:9' },
    ];
    for (const env of envs) {
      const loaded = loadConfig(env);
      expect(simulatorDefaults(loaded, givenSettings(env))).toBe(loaded);
      expect(started(env)).toEqual(loaded);
      expect(loaded.signIn.mode).toBe('forward');
      expect(loaded.syncRatePerMinute).toBe(0);
    }
  });

  it('stays in forward mode with REDIS_URL and no TOKEN_ENCRYPTION_KEY (app-user could not start)', () => {
    const config = started({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(config.signIn.mode).toBe('forward');
    expect(config.syncRatePerMinute).toBe(0);
    expect(createConfig(config)).toEqual(config);
  });
});

describe('SIMULATOR_CHANGES', () => {
  it('is true by default, read like the other flags, and refuses anything else', () => {
    expect(loadConfig({}).simulatorChanges).toBe(true);
    expect(loadConfig({ SIMULATOR_CHANGES: 'false' }).simulatorChanges).toBe(false);
    expect(loadConfig({ SIMULATOR_CHANGES: 'off' }).simulatorChanges).toBe(false);
    expect(loadConfig({ SIMULATOR_CHANGES: 'TRUE' }).simulatorChanges).toBe(true);
    expect(() => loadConfig({ SIMULATOR_CHANGES: 'sometimes' })).toThrow(
      /SIMULATOR_CHANGES must be true or false, got "sometimes"/,
    );
  });
});
