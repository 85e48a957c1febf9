// Owns what a start with no Partner Center configured (the simulator mode)
// turns on by default so that `npm start` shows the whole product: the gateway
// signs in itself (to the simulator's Entra) and syncs the customer base within
// seconds at the simulator's own rate. Each setting the operator gave wins:
// loadConfig(env, { simulatorDefaults: true }) (main.ts) passes the names the
// environment gives, and applies these before it checks the settings together.

import type { SignInSettings } from './sign-in-settings';

/** The settings the simulator's defaults read and set (a Config, or loadConfig's settings before their checks). */
export interface SimulatorDefaultable {
  readonly baseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly signIn: SignInSettings;
  readonly ratePerMinute: number;
  readonly syncRatePerMinute: number;
  readonly syncMaxAgeMinutes: number;
}

/** The simulator's own pacing: its roster of a few hundred customers × 4 reads is synced in a few seconds. */
export const SIMULATOR_RATE_PER_MINUTE = 24_000;
export const SIMULATOR_SYNC_RATE_PER_MINUTE = 12_000;
/** The simulator's customers change every ~15 s: the sync reads them again after a minute, so changes show. */
export const SIMULATOR_SYNC_MAX_AGE_MINUTES = 1;
const MAX_RATE = 1_000_000;

/**
 * The configuration a simulator-mode start runs with: `config` as loaded, with the simulator's defaults for every
 * setting not in `given` (PARTNER_CENTER_AUTH=app-user, the pacing and sync rates, a short sync age). A configured
 * Partner Center (baseUrl set) is returned unchanged. Pure: the caller checks the result (createConfig).
 */
export function simulatorDefaults<T extends SimulatorDefaultable>(config: T, given: ReadonlySet<string>): T {
  if (config.baseUrl !== undefined) return config;
  const set = (name: string) => given.has(name);
  // With REDIS_URL and no TOKEN_ENCRYPTION_KEY app-user cannot start: the operator's forward mode stays then.
  const canSignIn = config.redisUrl === undefined || config.signIn.tokenEncryptionKey !== undefined;
  const signIn =
    set('PARTNER_CENTER_AUTH') || !canSignIn ? config.signIn : { ...config.signIn, mode: 'app-user' as const };
  const signsIn = signIn.mode !== 'forward';

  let ratePerMinute = config.ratePerMinute;
  let syncRatePerMinute = config.syncRatePerMinute;
  if (!set('PARTNER_CENTER_RATE_PER_MINUTE')) {
    // Larger than a given sync rate: the sync's calls count toward it, and requests need the rest.
    ratePerMinute = Math.min(MAX_RATE, Math.max(SIMULATOR_RATE_PER_MINUTE, syncRatePerMinute * 2));
  }
  if (!set('SYNC_RATE_PER_MINUTE')) {
    // Within a given pacing budget, leaving requests half of it; off when the gateway does not sign in.
    syncRatePerMinute = signsIn ? Math.min(SIMULATOR_SYNC_RATE_PER_MINUTE, Math.floor(ratePerMinute / 2)) : 0;
  }
  return {
    ...config,
    signIn,
    ratePerMinute,
    syncRatePerMinute,
    syncMaxAgeMinutes: set('SYNC_MAX_AGE_MINUTES') ? config.syncMaxAgeMinutes : SIMULATOR_SYNC_MAX_AGE_MINUTES,
  };
}
