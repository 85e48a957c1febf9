// Owns the checks and rewrites of the URLs that settings carry: the
// Partner Center base URL (trailing `/v1`, plain http off loopback), CORS
// origins as browsers send them, Redis URLs, and a URL's password hidden for
// messages. config.ts calls them while it validates the environment.

/** The URL when it is plain http: to a host other than loopback, else undefined. */
export function insecureBaseUrl(baseUrl: string | undefined): string | undefined {
  if (baseUrl === undefined || !URL.canParse(baseUrl)) return undefined;
  const { protocol, hostname } = new URL(baseUrl);
  if (protocol === 'https:') return undefined;
  const loopback =
    hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
  return loopback ? undefined : baseUrl;
}

/** `HTTP://LocalHost:3000/` -> `http://localhost:3000`, as browsers send it; anything else is returned unchanged. */
export function normaliseOrigin(entry: string): string {
  if (!/^https?:\/\//i.test(entry) || !URL.canParse(entry)) return entry;
  const url = new URL(entry);
  return url.pathname === '/' && !url.search && !url.hash && !url.username ? url.origin : entry;
}

/**
 * A CORS origin is `*` or scheme://host[:port], exactly as browsers send it in
 * Origin; `localhost:3000` (no scheme) would never match and is refused.
 */
export function corsOriginProblem(origin: string): string[] {
  if (origin === '*') return [];
  if (!/^https?:\/\//i.test(origin)) {
    return [`CORS_ORIGINS entry "${origin}" has no scheme: write it as a browser sends it, e.g. http://${origin}`];
  }
  if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
    return [
      `CORS_ORIGINS entry "${origin}" is not an origin: expected scheme://host[:port] with no path, e.g. http://localhost:3000`,
    ];
  }
  return [];
}

export function isRedisUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
}

/** The URL without its password, for messages: REDIS_URL may carry one. */
export function redactUrl(value: string): string {
  if (!URL.canParse(value)) return value.replace(/:[^:@/]*@/, ':***@');
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}

/** Strips trailing slashes and a trailing `/v1`: the client appends `/v1/...` itself. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/i, '');
}
