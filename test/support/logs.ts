// A gateway logger whose lines the test reads: the real pino logger (same
// options, redaction included) writing into memory instead of stdout.

import type { LogLevel } from '../../src/config/config';
import { createLogger, type Logger } from '../../src/observability/logger';

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every line as written, JSON text. */
  readonly lines: string[];
  /** Every line parsed. */
  records(): Array<Record<string, unknown>>;
  /** The parsed lines with this message. */
  withMessage(msg: string): Array<Record<string, unknown>>;
}

export function captureLogs(level: LogLevel = 'trace'): CapturedLogs {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => lines.push(line) } });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records, withMessage: (msg) => records().filter((record) => record.msg === msg) };
}
