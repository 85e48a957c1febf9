// Owns how long to wait between attempts: the backoff curve of retries and
// the wait a 429 asks for (Retry-After in seconds or as a date, else the
// message's "Try again in N seconds").

/**
 * The wait before `attempt` (2, 3, ...): the base doubled for each retry before it, scaled by a jitter
 * between 0.5 and 1 so that callers that failed together do not come back together.
 */
export function backoffDelayMs(baseMs: number, attempt: number, random: number): number {
  return baseMs * 2 ** (attempt - 2) * (0.5 + random / 2);
}

/** Seconds to wait from Retry-After (delta seconds or HTTP date), else from the message, else 1. */
export function retryAfterSeconds(header: string | string[] | undefined, body: string, now = Date.now()): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined) {
    if (/^\s*\d+\s*$/.test(value)) return Math.max(0, Number(value));
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  const fromMessage = /try again in (\d+) seconds?/i.exec(body);
  return fromMessage ? Number(fromMessage[1]) : 1;
}
