// The customer-base settings: SYNC_RATE_PER_MINUTE (off by default, only for a
// gateway that signs in itself, and below PARTNER_CENTER_RATE_PER_MINUTE),
// SYNC_MAX_AGE_MINUTES and SNAPSHOT_PATH.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import { configProblems } from './support/config';

const APP = {
  PARTNER_CENTER_AUTH: 'app',
  PARTNER_CENTER_RATE_PER_MINUTE: '450',
};

describe('customer-base settings', () => {
  it('keeps the sync off by default, with a maximum age of 60 minutes and the snapshot in memory', () => {
    const config = loadConfig({});
    expect([config.syncRatePerMinute, config.syncMaxAgeMinutes, config.snapshotPath]).toEqual([0, 60, undefined]);
  });

  it('reads the rate, the age and the path', () => {
    const config = loadConfig({
      ...APP,
      SYNC_RATE_PER_MINUTE: '300',
      SYNC_MAX_AGE_MINUTES: '30',
      SNAPSHOT_PATH: '/var/lib/gw/snapshot.json',
    });
    expect([config.syncRatePerMinute, config.syncMaxAgeMinutes, config.snapshotPath]).toEqual([
      300,
      30,
      '/var/lib/gw/snapshot.json',
    ]);
  });

  it('refuses the sync in forward mode', () => {
    expect(configProblems({ SYNC_RATE_PER_MINUTE: '300', PARTNER_CENTER_RATE_PER_MINUTE: '450' })).toEqual([
      'SYNC_RATE_PER_MINUTE needs a gateway that signs in itself (PARTNER_CENTER_AUTH=app-user or app): in forward mode there is no token to sync with',
    ]);
  });

  it('refuses a sync rate that PARTNER_CENTER_RATE_PER_MINUTE does not exceed', () => {
    expect(configProblems({ PARTNER_CENTER_AUTH: 'app', SYNC_RATE_PER_MINUTE: '300' })).toEqual([
      "SYNC_RATE_PER_MINUTE=300 needs PARTNER_CENTER_RATE_PER_MINUTE set larger (got 0): the sync's calls count toward it, and requests need the rest",
    ]);
    expect(configProblems({ ...APP, SYNC_RATE_PER_MINUTE: '450' })).toHaveLength(1);
  });

  it('refuses a maximum age that is not a whole number of minutes from 1', () => {
    expect(configProblems({ SYNC_MAX_AGE_MINUTES: '0' })).toEqual([
      'SYNC_MAX_AGE_MINUTES must be a whole number from 1 to 525600, got "0"',
    ]);
  });
});
