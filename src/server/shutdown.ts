// Owns the graceful stop on SIGTERM/SIGINT: readiness goes to 503, open
// subscriptions complete (over SSE and WebSocket), the listener closes,
// requests in flight finish (or are cut after the timeout), then the gateway's
// pools and whatever else main.ts started are closed.

import type { Server } from 'node:http';
import type { Logger } from '../observability/logger';

/** What shutdown needs of the gateway (src/gateway.ts's Gateway): that it starts draining. */
export interface Draining {
  /** From now on /ready answers 503 and every response says `Connection: close`; requests keep being served. */
  drain(): void;
}

export interface ShutdownOptions {
  readonly server: Server;
  readonly gateway: Draining;
  /** How long requests in flight may take to finish (SHUTDOWN_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /**
   * Closes the WebSocket connections (src/server/websocket.ts), run as draining begins: an upgraded connection is no
   * longer the HTTP server's, so neither server.close() nor the cut would end it.
   */
  readonly closeUpgraded?: () => Promise<unknown>;
  /** Run once the connections are closed, in parallel: upstream pool and Redis, simulator, tracing. */
  readonly cleanup: ReadonlyArray<() => Promise<unknown>>;
}

/** Interval at which connections that went idle while draining are closed. */
const SWEEP_MS = 100;

/**
 * Drains and stops; resolves when everything is closed, never rejects. Calling
 * `cut()` (a second signal) closes the connections still open at once.
 */
export function shutdown({ server, gateway, timeoutMs, logger, closeUpgraded, cleanup }: ShutdownOptions): {
  done: Promise<void>;
  cut(): void;
} {
  // Ends the open subscriptions too: an SSE response then ends like any other, a WebSocket one sends `complete`.
  gateway.drain();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const upgradedClosed = (closeUpgraded?.() ?? Promise.resolve()).catch((error: unknown) => {
    logger.error({ err: error }, 'closing the WebSocket connections failed');
  });
  // server.close() stops accepting and closes idle keep-alive connections; a busy one ends after its response, which
  // says Connection: close while draining. The sweep catches a connection that went idle just before draining began.
  const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
  logger.info({ timeoutMs }, 'draining: /ready answers 503, no new connections, requests in flight finish');
  let cutTimer: NodeJS.Timeout | undefined;
  const cut = () => {
    logger.warn('connections still open after draining: closing them now');
    server.closeAllConnections();
  };
  const done = (async () => {
    cutTimer = setTimeout(cut, timeoutMs);
    await Promise.all([closed, upgradedClosed]);
    clearTimeout(cutTimer);
    clearInterval(sweep);
    const results = await Promise.allSettled(cleanup.map((close) => close()));
    for (const result of results) {
      if (result.status === 'rejected') logger.error({ err: result.reason }, 'closing a resource failed');
    }
    logger.info('stopped');
  })();
  return { done, cut };
}
