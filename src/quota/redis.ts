// Owns the one Redis connection that replicas share quota state through: a
// short bound on every command, no offline queue, reconnection by itself, one
// warning per outage, and `undefined` instead of an error whenever Redis
// cannot answer, so callers fall back to their local state.

import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';
import { exportsOf } from '../runtime/interop';

export interface SharedRedis {
  /**
   * Runs `op`, or resolves `undefined` when Redis is down, slow or failing: no GraphQL request waits on Redis
   * longer than the command timeout, and none fails because of it.
   */
  run<T>(op: (redis: Redis) => Promise<T>): Promise<T | undefined>;
  /** Called whenever the connection is (re)established, so local state kept during an outage can be dropped. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

export interface SharedRedisOptions {
  /** Longest a command may take before the caller goes on without Redis (default 50 ms). */
  commandTimeoutMs?: number;
  /** How long Redis is skipped after a command timed out, so a hung server costs one timeout, not one per call. */
  pauseAfterTimeoutMs?: number;
}

/** The key prefix of everything the gateway writes, so an operator can find (and flush) it. */
export const KEY_PREFIX = 'pcgw:';

export function createSharedRedis(url: string, logger: Logger, options: SharedRedisOptions = {}): SharedRedis {
  const commandTimeoutMs = options.commandTimeoutMs ?? 50;
  const pauseAfterTimeoutMs = options.pauseAfterTimeoutMs ?? 1_000;
  const reconnectListeners: Array<() => void> = [];
  let healthy = true;
  let pausedUntil = 0;
  let closing = false;

  const outage = (why: string) => {
    if (!healthy || closing) return;
    healthy = false;
    // The URL may carry a password: only its host is named.
    logger.warn(
      { redis: safeHost(url), reason: why },
      'Redis is unreachable: quota state is local to this process until it is back',
    );
  };
  const recovered = () => {
    pausedUntil = 0;
    if (!healthy) logger.info({ redis: safeHost(url) }, 'Redis is reachable again: quota state is shared again');
    healthy = true;
    for (const listener of reconnectListeners) listener();
  };

  // ioredis is loaded only when a Redis URL is configured, so a gateway without one (the default) never parses it.
  // Until it is loaded and connected, run() answers undefined, as it does while Redis is away.
  let redis: Redis | undefined;
  const connecting = import('ioredis')
    .then((module) => {
      // rediss:// turns TLS on in ioredis itself. Without an offline queue a command sent while disconnected fails
      // at once instead of waiting for the reconnection; retryStrategy keeps reconnecting while the process runs.
      const client = new (exportsOf(module, 'Redis').Redis)(url, {
        enableOfflineQueue: false,
        commandTimeout: commandTimeoutMs,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        retryStrategy: (times) => Math.min(100 * times, 2_000),
        lazyConnect: false,
      });
      client.on('error', (error: Error) => outage(error.message));
      client.on('close', () => outage('connection closed'));
      client.on('ready', recovered);
      redis = client;
      return client;
    })
    .catch((error: unknown) => {
      outage(`ioredis could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });

  return {
    async run(op) {
      if (closing || redis?.status !== 'ready' || Date.now() < pausedUntil) return undefined;
      try {
        const result = await op(redis);
        // A server that hung without dropping the connection comes back without a new 'ready'.
        if (!healthy) recovered();
        return result;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (/timed? ?out/i.test(message)) pausedUntil = Date.now() + pauseAfterTimeoutMs;
        outage(message);
        return undefined;
      }
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    async close() {
      closing = true;
      const client = await connecting;
      if (!client) return;
      await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 500))]);
      client.disconnect();
    },
  };
}

function safeHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'redis';
  }
}
