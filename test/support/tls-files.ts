// The paths of the throwaway TLS files that test/support/tls.ts (the vitest globalSetup) made for this run:
// the server certificate and key for 127.0.0.1 and localhost, and the CA that signed them.

export interface TlsFiles {
  /** PEM server certificate for IP 127.0.0.1 and DNS localhost. */
  readonly cert: string;
  /** PEM private key of that certificate. */
  readonly key: string;
  /**
   * The file NODE_EXTRA_CA_CERTS names: the throwaway CA's PEM, followed by any CAs the shell running the tests
   * already trusted that way. Hand it to a child process as NODE_EXTRA_CA_CERTS to give it the workers' trust.
   */
  readonly ca: string;
}

/** The TLS file paths from the environment; throws when the globalSetup did not run in this process's parent. */
export function tlsFiles(): TlsFiles {
  const cert = process.env.TEST_TLS_CERT;
  const key = process.env.TEST_TLS_KEY;
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (!cert || !key || !ca) {
    const missing = Object.entries({ TEST_TLS_CERT: cert, TEST_TLS_KEY: key, NODE_EXTRA_CA_CERTS: ca })
      .filter(([, value]) => !value)
      .map(([name]) => name);
    throw new Error(
      `tlsFiles(): ${missing.join(', ')} not set. The vitest globalSetup test/support/tls.ts makes the test ` +
        'certificates and sets these variables before the workers start; run the tests through vitest with ' +
        "vitest.config.ts (pool 'forks'), not a file on its own.",
    );
  }
  return { cert, key, ca };
}
