// The server entry: the only file that reads process.env and opens a port.
// With no upstream configured it starts the built-in simulator and says so.

import { createServer } from 'node:http';
import { ConfigError, createConfig, loadConfig } from './config';
import { createGateway } from './gateway';
import { exampleQuery } from './graphiql';
import { createLogger } from './logger';
import { SAMPLE_CUSTOMERS, startSimulator } from './partner-center/simulator';

async function main(): Promise<void> {
  let config = loadConfig(process.env);
  const logger = createLogger(process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info');

  let closeSimulator = async () => {};
  if (config.baseUrl === undefined) {
    if (config.production) {
      console.error(
        'Refusing to start: NODE_ENV=production and no Partner Center is configured. Set PARTNER_CENTER_BASE_URL (or PARTNER_CENTER_CLOUD=public|usgov|china for the official URL).',
      );
      process.exit(1);
    }
    const simulator = await startSimulator({ maxRecorded: 1_000 });
    closeSimulator = simulator.close;
    config = createConfig({ ...config, baseUrl: simulator.url, simulator: true });
  }

  const gateway = createGateway(config, {
    logger,
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
    console.log(
      [
        banner,
        '!! SIMULATED DATA: no Partner Center is configured, so the built-in simulator',
        `!! answers at ${config.baseUrl}. Requests without a token are served as a`,
        '!! development user. Set PARTNER_CENTER_BASE_URL or PARTNER_CENTER_CLOUD for real data.',
        banner,
        `GraphiQL: ${url}`,
        'Sample customers:',
        ...Object.entries(SAMPLE_CUSTOMERS).map(([name, id]) => `  ${id}  ${name}`),
      ].join('\n'),
    );
  } else {
    console.log(`Partner Center gateway (${config.cloud} cloud, upstream ${config.baseUrl}) at ${url}`);
  }

  const stop = () => {
    server.close();
    server.closeAllConnections();
    void Promise.all([gateway.dispose(), closeSimulator()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('The gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
