// The server entry: the only file that reads process.env and opens a port.
// With no upstream configured it loads and starts the built-in simulator
// (never loaded otherwise), with the simulator's defaults for every setting not
// given (config/simulator-defaults.ts: sign in, sync), and says so.
// On SIGTERM or SIGINT it drains (src/server/shutdown.ts) and exits 0.

import { createServer } from 'node:http';
import { ConfigError, createConfig, loadConfig } from './config/config';
import { SecretSetting, type SignInSettings } from './config/sign-in-settings';
import { createGateway } from './gateway';
import { createLogger } from './observability/logger';
import { startTracing } from './observability/tracing';
import { exampleQuery } from './server/graphiql';
import { shutdown } from './server/shutdown';

/** How often a few of the simulator's customers change when nothing is configured (SIMULATOR_CHANGES). */
const CHANGES_EVERY_MS = 15_000;

async function main(): Promise<void> {
  // Handlers from the first line: until a process has one, the kernel's default action ends it at once, so a signal
  // that arrives while the gateway starts (a supervisor's, or one right after the start-up line) would kill it
  // half-started. One that arrives now is kept and acted on once the gateway serves.
  let startupSignal: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals) => {
    startupSignal ??= signal;
  };
  process.on('SIGINT', (signal) => onSignal(signal));
  process.on('SIGTERM', (signal) => onSignal(signal));
  // With no Partner Center configured, what the operator did not set shows the whole product (signed in, synced).
  let config = loadConfig(process.env, { simulatorDefaults: true });
  const logger = createLogger({ level: config.logLevel });

  let closeSimulator = async () => {};
  let sampleCustomers: Readonly<Record<string, string>> = {};
  if (config.baseUrl === undefined) {
    if (config.production) {
      console.error(
        'Refusing to start: NODE_ENV=production and no Partner Center is configured. Set PARTNER_CENTER_BASE_URL (or PARTNER_CENTER_CLOUD=public|usgov|china for the official URL).',
      );
      process.exit(1);
    }
    // Loaded only here: a gateway with a Partner Center configured never builds the simulator's roster.
    const { SAMPLE_CUSTOMERS, SIMULATED_SIGN_IN, startSimulator } = await import('./simulator/simulator');
    sampleCustomers = SAMPLE_CUSTOMERS;
    const simulator = await startSimulator({
      maxRecorded: 1_000,
      ...(config.simulatorChanges ? { changes: { everyMs: CHANGES_EVERY_MS, seed: 1 } } : {}),
    });
    closeSimulator = simulator.close;
    config = createConfig({
      ...config,
      baseUrl: simulator.url,
      simulator: true,
      // A gateway that signs in itself signs in to the simulator's Entra, with its development credentials.
      signIn: simulatedSignIn(config.signIn, simulator.url, SIMULATED_SIGN_IN),
    });
  }

  // The OpenTelemetry SDK is loaded only here, only when an OTLP endpoint is configured.
  const tracing = config.tracing ? await startTracing() : undefined;
  const gateway = createGateway(config, {
    logger,
    tracing,
    processMetrics: true,
    graphiqlDefaultQuery: exampleQuery({ simulated: config.simulator }),
  });
  const server = createServer(gateway);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://localhost:${port}/graphql`;

  if (config.simulator) {
    const banner = '!'.repeat(78);
    const base = `http://localhost:${port}`;
    console.log(
      [
        banner,
        '!! SIMULATED DATA: no Partner Center is configured, so the built-in simulator',
        `!! plays Partner Center at ${config.baseUrl}. Requests without a token are served`,
        '!! as a development user. Set PARTNER_CENTER_BASE_URL or PARTNER_CENTER_CLOUD for real data.',
        config.signIn.mode === 'forward'
          ? "!! PARTNER_CENTER_AUTH=forward: callers' tokens go to the simulator; Entra is not simulated."
          : `!! PARTNER_CENTER_AUTH=${config.signIn.mode}: the gateway signs in to the simulator's Entra itself.`,
        config.syncRatePerMinute > 0
          ? `!! Customer-base sync: on, ${config.syncRatePerMinute} calls a minute (SYNC_RATE_PER_MINUTE).`
          : config.signIn.mode === 'forward'
            ? '!! Customer-base sync: off (PARTNER_CENTER_AUTH=forward: the gateway holds no token to sync with).'
            : '!! Customer-base sync: off (SYNC_RATE_PER_MINUTE=0).',
        config.simulatorChanges
          ? `!! Simulated changes: a few customers change every ~${CHANGES_EVERY_MS / 1000} s (SIMULATOR_CHANGES=false: off).`
          : '!! Simulated changes: off (SIMULATOR_CHANGES=false).',
        banner,
        `GraphiQL: ${url}`,
        `Customer base: ${base}/customer-base`,
        `CSV export: ${base}/exports/customers.csv`,
        'Sample customers:',
        ...Object.entries(sampleCustomers).map(([name, id]) => `  ${id}  ${name}`),
      ].join('\n'),
    );
  }
  logger.info(
    { url, cloud: config.cloud, upstream: config.baseUrl, tracing: config.tracing, metrics: config.metrics },
    `Partner Center gateway (${config.cloud} cloud, upstream ${config.baseUrl}) at ${url}`,
  );
  // Out now rather than with the next chunk: whoever started the gateway is waiting for this line.
  logger.flush();

  let stopping: ReturnType<typeof shutdown> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal (Ctrl-C twice): the operator does not want to wait.
      stopping.cut();
      return;
    }
    logger.info({ signal }, 'stopping');
    stopping = shutdown({
      server,
      gateway,
      timeoutMs: config.shutdownTimeoutMs,
      logger,
      cleanup: [
        async () => gateway.dispose(),
        async () => closeSimulator(),
        async () => {
          await tracing?.shutdown();
        },
      ],
    });
    void stopping.done.finally(() => process.exit(0));
  };
  onSignal = stop;
  if (startupSignal) stop(startupSignal);
}

/** The sign-in settings for the simulator: what the operator set, the simulator's credentials for what is missing. */
function simulatedSignIn(
  settings: SignInSettings,
  url: string,
  credentials: { tenantId: string; clientId: string; clientSecret: string; refreshToken: string },
): SignInSettings {
  if (settings.mode === 'forward') return settings;
  return {
    ...settings,
    tenantId: credentials.tenantId,
    clientId: credentials.clientId,
    clientSecret: new SecretSetting(credentials.clientSecret),
    refreshToken: settings.mode === 'app-user' ? new SecretSetting(credentials.refreshToken) : undefined,
    authorityHost: url,
  };
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('The gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
