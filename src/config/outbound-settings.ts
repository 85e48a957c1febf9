// Owns the settings of what the gateway sends out besides Partner Center's
// calls themselves: OpenTelemetry tracing (the standard OTEL_* variables) and
// the outbound proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, lower case first).
// config.ts calls them while it reads the environment.

type Read = (name: string) => string | undefined;

/** Whether tracing is on: an OTLP endpoint is set and tracing is not disabled; a protocol other than http/json is a problem. */
export function readTracing(read: Read, problems: string[]): boolean {
  // Standard OpenTelemetry variables: the endpoint switches tracing on; the exporter reads the rest itself.
  const tracesDisabled =
    read('OTEL_SDK_DISABLED')?.toLowerCase() === 'true' || read('OTEL_TRACES_EXPORTER')?.toLowerCase() === 'none';
  const tracing =
    !tracesDisabled &&
    (read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined || read('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = read(name);
    // The gateway ships the OTLP/HTTP JSON exporter; a collector expecting protobuf or gRPC would drop every span.
    if (protocol !== undefined && protocol !== 'http/json') {
      problems.push(`${name} must be http/json (the OTLP/HTTP JSON exporter is built in), got "${protocol}"`);
    }
  }
  return tracing;
}

/** The proxies, as curl and undici read them; a value that is not an http(s) URL is a problem. */
export function readProxies(
  read: Read,
  problems: string[],
): { httpsProxy: string | undefined; httpProxy: string | undefined; noProxy: string | undefined } {
  // Proxies the way curl and undici read them: lower case first.
  const proxy = (name: string): string | undefined => {
    const value = read(name.toLowerCase()) ?? read(name);
    if (value !== undefined && !(URL.canParse(value) && /^https?:$/.test(new URL(value).protocol))) {
      problems.push(`${name} must be an http(s) proxy URL, got "${value}"`);
      return undefined;
    }
    return value;
  };
  const httpsProxy = proxy('HTTPS_PROXY');
  const httpProxy = proxy('HTTP_PROXY');
  const noProxy = read('no_proxy') ?? read('NO_PROXY');
  return { httpsProxy, httpProxy, noProxy };
}
