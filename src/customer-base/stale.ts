// Owns stale answers (STALE_IF_ERROR_SECONDS): when a request's read of a
// customer fails because Partner Center throttles, is unavailable or does
// not answer in time, the newer of the snapshot's answer and the cache's, no
// older than the setting, is served instead with no error, and the response's
// `extensions.stale` lists each field so served with when it was read.

import type { ExecutionResult, GraphQLResolveInfo } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { GatewayError } from '../domain/errors';
import type { CustomerStore, StoredCustomer } from './store';

/** The failures a stored answer may stand in for; a refusal (4xx) never is. */
const STALE_CODES = new Set(['UPSTREAM_THROTTLED', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT']);

export interface StaleEntry {
  readonly path: ReadonlyArray<string | number>;
  readonly syncedAt: string;
}

/** The stale answers served in each request, for its extensions. */
const servedByContext = new WeakMap<object, StaleEntry[]>();

function pathOf(info: GraphQLResolveInfo): Array<string | number> {
  const path: Array<string | number> = [];
  for (let at: GraphQLResolveInfo['path'] | undefined = info.path; at; at = at.prev) path.unshift(at.key);
  return path;
}

/**
 * Runs `load`; when it fails with a transient upstream code and the snapshot's `pick` of the customer or the cache's
 * last answer (`cached`) was read no more than `maxAgeSeconds` ago, answers the newer instead and notes it for the
 * response.
 */
export async function orStale<T>(
  load: () => Promise<T>,
  options: {
    readonly store: CustomerStore | undefined;
    readonly maxAgeSeconds: number;
    readonly id: string;
    readonly pick: (customer: StoredCustomer) => { value: T; at: number } | undefined;
    /** The cache's last answer for this read (kept only with CACHE_TTL_SECONDS and STALE_IF_ERROR_SECONDS). */
    readonly cached?: () => Promise<{ value: unknown; at: number } | undefined>;
    readonly context: object;
    readonly info: GraphQLResolveInfo;
  },
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (options.maxAgeSeconds <= 0) throw error;
    if (!(error instanceof GatewayError) || !STALE_CODES.has(error.code)) throw error;
    const stored = options.store?.get(options.id);
    const fromSnapshot = stored && options.pick(stored);
    const fromCache = (await options.cached?.()) as { value: T; at: number } | undefined;
    const picked = fromCache && (!fromSnapshot || fromCache.at > fromSnapshot.at) ? fromCache : fromSnapshot;
    if (!picked || Date.now() - picked.at > options.maxAgeSeconds * 1000) throw error;
    const served = servedByContext.get(options.context) ?? [];
    served.push({ path: pathOf(options.info), syncedAt: new Date(picked.at).toISOString() });
    servedByContext.set(options.context, served);
    return picked.value;
  }
}

/** Adds `extensions.stale` to a response in which a stored answer stood in for a failed read. */
export function useStaleExtensions(): Plugin {
  return {
    onExecute({ args }) {
      const context = args.contextValue as object;
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const served = servedByContext.get(context);
          if (!served?.length) return;
          const plain = result as ExecutionResult;
          setResult({ ...plain, extensions: { ...plain.extensions, stale: served } });
        },
      };
    },
  };
}
