// A setup file of vitest.mutation.config.ts only. Node reads NODE_EXTRA_CA_CERTS once, when the process starts;
// Stryker's runner process is already running when test/support/tls.ts (the globalSetup) sets it, and its test
// workers are threads of that process, so they would not trust the https stand-ins (Entra, the JWKS endpoint).
// This adds the throwaway CA to the default CA list of each worker thread instead, which is what the forked workers
// of `npm test` get from NODE_EXTRA_CA_CERTS.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const bundle = process.env.NODE_EXTRA_CA_CERTS;
if (bundle) {
  const extra =
    readFileSync(bundle, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const trusted = tls.getCACertificates('default');
  const missing = extra.filter((pem) => !trusted.includes(pem));
  if (missing.length > 0) tls.setDefaultCACertificates([...trusted, ...missing]);
}
