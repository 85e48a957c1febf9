import { describe, expect, it } from 'vitest';
import { ConfigError, createConfig, loadConfig } from '../src/config/config';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
};

describe('quota settings', () => {
  it('keeps cache, pacing and Redis off by default, with 10000 cache entries at most once on', () => {
    expect(loadConfig({})).toMatchObject({
      cacheTtlSeconds: 0,
      cacheMaxEntries: 10_000,
      ratePerMinute: 0,
      redisUrl: undefined,
      maxConcurrencyPerToken: 32,
      maxCustomersPerRequest: 200,
    });
  });

  it('reads CACHE_TTL_SECONDS, CACHE_MAX_ENTRIES, PARTNER_CENTER_RATE_PER_MINUTE and REDIS_URL', () => {
    expect(
      loadConfig({
        CACHE_TTL_SECONDS: '300',
        CACHE_MAX_ENTRIES: '50000',
        PARTNER_CENTER_RATE_PER_MINUTE: '450',
        REDIS_URL: 'rediss://:secret@redis.example.com:6380/2',
      }),
    ).toMatchObject({
      cacheTtlSeconds: 300,
      cacheMaxEntries: 50_000,
      ratePerMinute: 450,
      redisUrl: 'rediss://:secret@redis.example.com:6380/2',
    });
  });

  it('counts empty values as unset', () => {
    expect(
      loadConfig({ CACHE_TTL_SECONDS: '', CACHE_MAX_ENTRIES: ' ', PARTNER_CENTER_RATE_PER_MINUTE: '', REDIS_URL: '' }),
    ).toMatchObject({ cacheTtlSeconds: 0, cacheMaxEntries: 10_000, ratePerMinute: 0, redisUrl: undefined });
  });

  it('names each bad variable, and never prints a Redis password', () => {
    const problems = problemsOf({
      CACHE_TTL_SECONDS: '-1',
      CACHE_MAX_ENTRIES: '0',
      PARTNER_CENTER_RATE_PER_MINUTE: 'fast',
      REDIS_URL: 'http://:hunter2@redis:6379',
    });
    expect(problems).toHaveLength(4);
    for (const name of ['CACHE_TTL_SECONDS', 'CACHE_MAX_ENTRIES', 'PARTNER_CENTER_RATE_PER_MINUTE', 'REDIS_URL']) {
      expect(problems.some((problem) => problem.startsWith(name))).toBe(true);
    }
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('holds programmatic settings to the same rules', () => {
    expect(() => createConfig({ ratePerMinute: -5 })).toThrow(ConfigError);
    expect(() => createConfig({ redisUrl: 'localhost:6379' })).toThrow(ConfigError);
  });
});
