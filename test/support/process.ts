// Starts the real entry point as a child process, the way an operator does:
// `tsx src/main.ts` (the sources) or `node dist/main.js` with `npm start`'s flags (the compiled build),
// with an environment the test chose and nothing of the gateway's settings
// inherited from the shell running the tests. Stops what it started.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { START_FLAGS } from './start-flags';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
export const WAIT_MS = 20_000;

/** Variables the gateway (or a library it configures) reads: none may leak in from the environment running the tests. */
const GATEWAY_VARIABLES =
  /^(PARTNER_CENTER_|GATEWAY_|OTEL_|CACHE_|SYNC_|SIMULATOR_)|^(PORT|NODE_ENV|LOG_LEVEL|GRAPHIQL|INTROSPECTION|CORS_ORIGINS|METRICS|SHUTDOWN_TIMEOUT_MS|REDIS_URL|PERSISTED_DOCUMENTS|ALLOW_ARBITRARY_DOCUMENTS|NODE_EXTRA_CA_CERTS)$|^(https?|no|all)_proxy$/i;

export interface GatewayProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal), or rejects after WAIT_MS. */
  exited(): Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout, or rejects after WAIT_MS or when the process exits. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Waits for the start line and resolves with the gateway's base URL, e.g. http://127.0.0.1:43210 */
  listening(): Promise<string>;
}

const running = new Set<ChildProcess>();

/**
 * Starts the gateway with `env` on top of the test runner's environment (minus
 * the gateway's own variables). Registers an afterEach hook that stops it.
 */
export function startGatewayProcess(
  env: Record<string, string>,
  { compiled = false }: { compiled?: boolean | string } = {},
): GatewayProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !GATEWAY_VARIABLES.test(entry[0]),
    ),
  );
  const [command, args] = compiled
    ? [process.execPath, [...START_FLAGS, typeof compiled === 'string' ? compiled : 'dist/main.js']]
    : [TSX, ['src/main.ts']];
  const child = spawn(command, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: 'pipe' });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const withinWait = <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${WAIT_MS} ms; stdout:\n${out}\nstderr:\n${err}`)),
        WAIT_MS,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const waitForOutput = (pattern: RegExp) =>
    withinWait(
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match) {
            child.stdout?.off('data', check);
            resolve(match);
          }
        };
        child.stdout?.on('data', check);
        check();
        void closed.then(() => reject(new Error(`the gateway exited; stdout:\n${out}\nstderr:\n${err}`)));
      }),
      `no ${pattern} on stdout`,
    );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => withinWait(closed, 'the gateway did not exit'),
    waitForOutput,
    listening: async () => {
      const [, port] = await waitForOutput(/ at http:\/\/localhost:(\d+)\/graphql/);
      return `http://127.0.0.1:${port}`;
    },
  };
}

/** Stops a child this module started: SIGTERM first, SIGKILL if it lingers. */
export async function stopGatewayProcess(child: ChildProcess): Promise<number | null> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    return await closed;
  } finally {
    clearTimeout(timer);
  }
}

/** JSON log lines of a process's stdout (the simulator banner and other plain lines are skipped). */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterEach(async () => {
  await Promise.all([...running].map((child) => stopGatewayProcess(child)));
});
