// Owns the checks of the customer-base settings that depend on others: the
// background sync needs a gateway that signs in itself, and a pacing budget
// larger than its own rate (its calls count toward it; requests need the rest).

import type { AuthMode } from './sign-in-settings';

export function syncProblems(config: {
  readonly syncRatePerMinute: number;
  readonly ratePerMinute: number;
  readonly signIn: { readonly mode: AuthMode };
}): string[] {
  if (config.syncRatePerMinute <= 0) return [];
  const problems: string[] = [];
  if (config.signIn.mode === 'forward') {
    problems.push(
      'SYNC_RATE_PER_MINUTE needs a gateway that signs in itself (PARTNER_CENTER_AUTH=app-user or app): in forward mode there is no token to sync with',
    );
  }
  if (config.ratePerMinute <= config.syncRatePerMinute) {
    problems.push(
      `SYNC_RATE_PER_MINUTE=${config.syncRatePerMinute} needs PARTNER_CENTER_RATE_PER_MINUTE set larger (got ${config.ratePerMinute}): the sync's calls count toward it, and requests need the rest`,
    );
  }
  return problems;
}
