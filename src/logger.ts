// Owns the gateway's structured log lines (one JSON object per line). Callers
// pass fields they chose; nothing here ever receives a token.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger writing JSON lines through `write` (stdout/stderr by default); tests pass their own `write`. */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string, level: LogLevel) => void = defaultWrite,
): Logger {
  const log =
    (at: LogLevel) =>
    (message: string, fields: LogFields = {}) => {
      if (ORDER[at] < ORDER[level]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields }), at);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function defaultWrite(line: string, level: LogLevel): void {
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
}

export const silentLogger: Logger = createLogger('error', () => {});
