// Owns the gateway's logger: pino writing JSON lines to stdout, the redaction
// of secrets, and the adapter that sends yoga's own log calls through pino.
// The child logger per request is made in context.ts.

import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config/config';
import { GatewayError } from '../domain/errors';

export type { Logger };

/**
 * Keys whose values never reach a log line: at the top level, one level down
 * and under `headers` (the request and upstream headers logged at trace).
 * Code never writes a token on purpose; this is the net under that rule.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'token', 'accessToken', 'access_token', 'refreshToken', 'password'];
export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `headers.${key}`]);

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout (buffered, see bufferedStdout) by default. Tests pass an object with `write(line)`. */
  destination?: DestinationStream;
}

export function createLogger({ level = 'info', destination }: LoggerOptions = {}): Logger {
  const options = {
    level,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names rather than numbers: easier to grep and to filter in any log store.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? bufferedStdout());
}

/** How long a line may wait in the buffer before it is written. */
export const FLUSH_INTERVAL_MS = 250;

/**
 * stdout written in chunks: lines are buffered and written synchronously once 4 KiB are waiting, or every
 * FLUSH_INTERVAL_MS, whichever comes first, and what is left when the process exits. pino's default destination
 * writes every line synchronously; a write per line was, with the line itself, the largest part of what logging cost
 * a cheap request, and writing the chunks asynchronously cost it about 5% more CPU than writing them synchronously:
 * each write woke a thread of libuv's pool, which took the core from the event loop (bench/README.md "Logging and
 * metrics"). As with pino's default, a stdout
 * that stops reading stalls the gateway rather than piling lines up in memory. A process killed with SIGKILL loses at
 * most the last interval's lines.
 */
function bufferedStdout(): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  const flush = () => {
    try {
      stdout.flush();
    } catch {
      // Closed as the process exits.
    }
  };
  setInterval(flush, FLUSH_INTERVAL_MS).unref();
  // pino flushes an asynchronous destination at exit by itself, not a synchronous one that buffers.
  process.once('exit', flush);
  return stdout;
}

export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * yoga's logger, backed by pino: a leading string becomes the message, a
 * leading Error is serialised with its stack as `err`, and every further
 * argument is kept under `args`. Errors yoga reports for GatewayErrors are
 * skipped: the client already logged those upstream failures at warn.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      const [first, ...rest] = args;
      if (level === 'error' && first instanceof GraphQLError && first.originalError instanceof GatewayError) return;
      const fields: Record<string, unknown> = {};
      if (rest.length > 0) fields.args = rest.map((arg) => (arg instanceof Error ? pino.stdSerializers.err(arg) : arg));
      if (typeof first === 'string') logger[level](fields, first);
      else if (first instanceof Error) {
        // A GraphQLError wrapping an unexpected error: the original carries the useful stack.
        const cause = first instanceof GraphQLError && first.originalError ? first.originalError : first;
        logger[level]({ ...fields, err: cause }, cause.message);
      } else logger[level]({ ...fields, value: first }, 'yoga');
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}
