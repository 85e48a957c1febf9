// vitest globalSetup: makes a throwaway CA and a server certificate for 127.0.0.1 and localhost with openssl, and
// points NODE_EXTRA_CA_CERTS at the CA so that the forked test workers, and what they spawn, trust https stand-ins.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The variables this setup sets, restored on teardown so a watch-mode rerun or a later setup sees the old values. */
const VARIABLES = ['NODE_EXTRA_CA_CERTS', 'TEST_TLS_CERT', 'TEST_TLS_KEY'] as const;

/** Certificates live for two days: long enough for any run, short enough that a leaked file is worthless soon. */
const DAYS = '2';

function openssl(args: string[], cwd: string): void {
  // stdio is piped rather than inherited so openssl's progress chatter stays out of the test output; a failure
  // still throws with its stderr attached by execFileSync.
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A random serial that is positive and never zero (the leading 01 byte): two runs' certificates must not share
 * issuer name and serial, or a client that caches certificates could mix them up.
 */
function serial(): string {
  return `0x01${randomBytes(15).toString('hex')}`;
}

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-tls-'));
  const previous = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  try {
    // P-256 keys: generating them takes milliseconds, where RSA keys would add noticeable time to every run.
    const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      [
        'req',
        '-x509',
        ...curve,
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        DAYS,
        '-subj',
        '/CN=partner-center-gateway throwaway test CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    openssl(['req', '-new', ...curve, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
    // Only these extensions go into the server certificate: without the subjectAltName Node refuses it for both
    // 127.0.0.1 and localhost (the common name is not consulted), and extendedKeyUsage serverAuth is what a
    // strict client checks before accepting it for a TLS server.
    writeFileSync(
      join(dir, 'server.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid,issuer',
        '',
      ].join('\n'),
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        serial(),
        '-days',
        DAYS,
        '-extfile',
        'server.ext',
        '-out',
        'server.crt',
      ],
      dir,
    );
    // The CA's private key has done its work: removing it now means nothing can issue more certificates under a
    // CA that every worker trusts, even while the run lasts.
    rmSync(join(dir, 'ca.key'));
    rmSync(join(dir, 'server.csr'));

    // A CA bundle the shell already trusted through NODE_EXTRA_CA_CERTS (a corporate proxy's, say) stays trusted:
    // it goes into the same file after the throwaway CA, because Node reads only one such file.
    let bundle = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const inherited = previous.NODE_EXTRA_CA_CERTS;
    if (inherited) {
      try {
        bundle += `\n${readFileSync(inherited, 'utf8')}`;
      } catch {
        // An unreadable inherited file was already ignored (with a warning) by Node itself; so is it here.
      }
    }
    const caPath = join(dir, 'ca-bundle.pem');
    writeFileSync(caPath, bundle);

    // vitest copies process.env into each forked worker when it starts it, which happens after every globalSetup
    // has run; Node reads NODE_EXTRA_CA_CERTS once at process start, so this is the last moment it can be set.
    process.env.NODE_EXTRA_CA_CERTS = caPath;
    process.env.TEST_TLS_CERT = join(dir, 'server.crt');
    process.env.TEST_TLS_KEY = join(dir, 'server.key');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return function teardown(): void {
    for (const name of VARIABLES) {
      const value = previous[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
