// The start errors loadConfig gives an environment, as tests read them.

import { ConfigError, loadConfig } from '../../src/config/config';

/** The problems loadConfig names for `env`; throws when it accepts the environment. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
}
