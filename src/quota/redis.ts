// Owns the one Redis connection that replicas share state through: a short
// bound on each command a request waits for and a longer one for background
// work, no offline queue, reconnection by itself, and `undefined` instead of
// an error whenever Redis cannot answer, so callers go on with local state.
// A slow or failed command affects only itself; Redis counts as unreachable
// (one warning) only when the connection drops or commands keep failing for
// more than a second, and as back (one info line) when a command succeeds.

import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';
import { exportsOf } from '../runtime/interop';

export interface RunOptions {
  /** Work no request waits for (writing an answer back, releasing a lease): the longer bound, and no failure counted. */
  readonly background?: boolean;
}

export interface SharedRedis {
  /**
   * Runs `op`, or resolves `undefined` when Redis is away, slow or failing: no GraphQL request waits on Redis
   * longer than the command bound, and none fails because of it.
   */
  run<T>(op: (redis: Redis) => Promise<T>, options?: RunOptions): Promise<T | undefined>;
  /**
   * What was learned while Redis was slow or away, to be written once it answers: `op` runs now in the background,
   * and again after each failure (when Redis answers again, or a second later), until it lands. A later write under
   * the same `key` replaces one still waiting; `op` answers `false` when what it would write no longer holds (a
   * window closed meanwhile), which also ends it. At most MAX_WRITE_BACKS wait; the oldest goes first.
   */
  writeBack(key: string, op: (redis: Redis) => Promise<unknown>): void;
  /** Called on every (re)connection and when Redis answers again after it was unreachable: what was learned meanwhile can be written. */
  onReconnect(listener: () => void): void;
  /**
   * A connection of its own for blocking reads (XREAD BLOCK), which would hold every other command behind them on
   * the shared one; its commands may take `blockMs` and a second more. The caller disconnects it. Undefined when
   * ioredis could not be loaded.
   */
  blocking(blockMs: number): Promise<Redis | undefined>;
  close(): Promise<void>;
}

export interface SharedRedisOptions {
  /** Longest a command a request waits for may take before it goes on without Redis (default 50 ms). */
  commandTimeoutMs?: number;
  /** Longest background work may take (default 2000 ms). */
  backgroundTimeoutMs?: number;
  /** How long commands must keep failing before Redis counts as unreachable (default 1000 ms). */
  unreachableAfterMs?: number;
}

/** The key prefix of everything the gateway writes, so an operator can find (and flush) it. */
export const KEY_PREFIX = 'pcgw:';

const TIMED_OUT = Symbol('timed out');

/** Writes waiting for Redis to answer: beyond it the oldest is dropped (with one debug line per outage). */
const MAX_WRITE_BACKS = 10_000;
/** How long a failed write back waits before it is tried again, when Redis gives no sign of being back. */
const WRITE_BACK_RETRY_MS = 1_000;

export function createSharedRedis(url: string, logger: Logger, options: SharedRedisOptions = {}): SharedRedis {
  const commandTimeoutMs = options.commandTimeoutMs ?? 50;
  const backgroundTimeoutMs = Math.max(commandTimeoutMs, options.backgroundTimeoutMs ?? 2_000);
  const unreachableAfterMs = options.unreachableAfterMs ?? 1_000;
  const reconnectListeners: Array<() => void> = [];
  let healthy = true;
  let closing = false;
  /** When the current run of failures began (no success since), and when its latest failure was. */
  let failingSince: number | undefined;
  let lastFailureAt = 0;
  /** While unreachable on a live connection, one command at a time finds out whether Redis answers again. */
  let probing = false;

  const waiting = new Map<string, (redis: Redis) => Promise<unknown>>();
  let flushing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let droppedSinceOutage = false;

  const outage = (why: string) => {
    if (!healthy || closing) return;
    healthy = false;
    // The URL may carry a password: only its host is named.
    logger.warn(
      { redis: safeHost(url), reason: why },
      'Redis is unreachable: shared state is local to this process until it is back',
    );
  };
  /** A command answered, or (`connected`) the connection is (re)established. */
  const succeeded = (connected = false) => {
    failingSince = undefined;
    if (healthy && !connected) return;
    if (!healthy) logger.info({ redis: safeHost(url) }, 'Redis is reachable again: shared state is shared again');
    healthy = true;
    droppedSinceOutage = false;
    for (const listener of reconnectListeners) listener();
    void flush();
  };
  const failed = (why: string) => {
    const now = Date.now();
    // Failures further apart than the threshold are separate blips, not one long outage.
    if (failingSince === undefined || now - lastFailureAt > unreachableAfterMs) failingSince = now;
    lastFailureAt = now;
    if (now - failingSince >= unreachableAfterMs) outage(`commands have failed for ${now - failingSince} ms: ${why}`);
  };

  // ioredis is loaded only when a Redis URL is configured, so a gateway without one (the default) never parses it.
  // Until it is loaded and connected, run() answers undefined, as it does while Redis is away.
  let redis: Redis | undefined;
  const connecting = import('ioredis')
    .then((module) => {
      // rediss:// turns TLS on in ioredis itself. Without an offline queue a command sent while disconnected fails
      // at once instead of waiting for the reconnection; retryStrategy keeps reconnecting while the process runs.
      // ioredis's own timeout is the longest bound, so a command nobody waits for any more is still let go.
      const client = new (exportsOf(module, 'Redis').Redis)(url, {
        enableOfflineQueue: false,
        commandTimeout: backgroundTimeoutMs,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        retryStrategy: (times) => Math.min(100 * times, 2_000),
        lazyConnect: false,
      });
      // A failed connection attempt shows as 'error' without 'close' when the connection never opened.
      client.on('error', (error: Error) => {
        if (client.status !== 'ready') outage(error.message);
      });
      client.on('close', () => outage('connection closed'));
      client.on('ready', () => succeeded(true));
      redis = client;
      return client;
    })
    .catch((error: unknown) => {
      outage(`ioredis could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });

  async function bounded<T>(client: Redis, op: (redis: Redis) => Promise<T>, ms: number) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, ms, TIMED_OUT);
    });
    try {
      // A late answer is let go: op's promise settles on its own (ioredis's own timeout at the latest).
      return await Promise.race([op(client), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function run<T>(op: (redis: Redis) => Promise<T>, runOptions: RunOptions = {}): Promise<T | undefined> {
    const client = redis;
    if (closing || client?.status !== 'ready') return undefined;
    const background = runOptions.background === true;
    const probe = !healthy && !background;
    if (probe && probing) return undefined;
    if (probe) probing = true;
    try {
      const result = await bounded(client, op, background ? backgroundTimeoutMs : commandTimeoutMs);
      if (result === TIMED_OUT) {
        if (!background) failed('a command timed out');
        return undefined;
      }
      // A server that hung without dropping the connection comes back without a new 'ready'.
      succeeded();
      return result;
    } catch (error) {
      if (!background) failed(error instanceof Error ? error.message : String(error));
      return undefined;
    } finally {
      if (probe) probing = false;
    }
  }

  /** Writes what waits, oldest first, while Redis answers; what fails waits for the next sign of Redis. */
  async function flush(): Promise<void> {
    if (flushing || closing) return;
    flushing = true;
    clearTimeout(retryTimer);
    retryTimer = undefined;
    try {
      for (const [key, op] of waiting) {
        if (closing) return;
        const outcome = await run(async (client) => ({ wrote: await op(client) }), { background: true });
        if (outcome === undefined) break;
        // Replaced while it was being written: the newer one waits.
        if (waiting.get(key) === op) waiting.delete(key);
      }
    } finally {
      flushing = false;
      if (waiting.size > 0 && !closing) {
        retryTimer = setTimeout(() => void flush(), WRITE_BACK_RETRY_MS);
        retryTimer.unref();
      }
    }
  }

  return {
    run,
    writeBack(key, op) {
      waiting.delete(key);
      waiting.set(key, op);
      if (waiting.size > MAX_WRITE_BACKS) {
        waiting.delete(waiting.keys().next().value as string);
        if (!droppedSinceOutage) logger.debug({ max: MAX_WRITE_BACKS }, 'Redis write backs: the oldest was dropped');
        droppedSinceOutage = true;
      }
      void flush();
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    async blocking(blockMs) {
      const client = await connecting;
      if (!client) return undefined;
      const own = client.duplicate({ commandTimeout: blockMs + 1_000, enableOfflineQueue: true });
      // Its failures show in the reads that use it; the shared connection reports Redis going away.
      own.on('error', () => undefined);
      return own;
    },
    async close() {
      closing = true;
      clearTimeout(retryTimer);
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
