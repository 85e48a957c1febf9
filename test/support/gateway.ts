// Starts the real gateway (yoga over node:http on loopback) against a given
// upstream and sends GraphQL over real HTTP, as a frontend would.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, createConfig } from '../../src/config/config';
import { createGateway, type Gateway, type GatewayDeps } from '../../src/gateway';
import { attachWebSocket, type WebSocketEndpoint } from '../../src/server/websocket';

export const TOKEN = 'Bearer test-token-app-user';

export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: TData | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  };
}

export interface RunningGateway {
  readonly url: string;
  readonly gateway: Gateway;
  readonly config: Config;
  /** The WebSocket endpoint (graphql-transport-ws) on the same server, at wsUrl. */
  readonly webSocket: WebSocketEndpoint;
  readonly wsUrl: string;
  /** POSTs a GraphQL request; sends TOKEN unless `headers.authorization` is given (null omits it). */
  query<TData = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string | null>,
  ): Promise<GraphQLResponse<TData>>;
  /** How many callers went away before their response was complete (the gateway has seen them go). */
  disconnects(): number;
  close(): Promise<void>;
}

export async function startGateway(
  upstreamUrl: string,
  overrides: Partial<Config> = {},
  deps: GatewayDeps = {},
): Promise<RunningGateway> {
  const config = createConfig({ baseUrl: upstreamUrl, ...overrides });
  const gateway = createGateway(config, { retryBaseDelayMs: 10, ...deps });
  const server = createServer(gateway);
  const webSocket = attachWebSocket(server, gateway, { config });
  let disconnects = 0;
  // Registered after yoga's own listener, so when this counts, yoga has already aborted the request's signal.
  server.on('request', (_req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) disconnects++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    url,
    gateway,
    config,
    webSocket,
    wsUrl: url.replace(/^http/, 'ws'),
    async query(query, variables, headers = {}) {
      const sent: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (!('authorization' in headers)) sent.authorization = TOKEN;
      for (const [name, value] of Object.entries(headers)) if (value !== null) sent[name] = value;
      const response = await fetch(url, { method: 'POST', headers: sent, body: JSON.stringify({ query, variables }) });
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
    disconnects: () => disconnects,
    close: async () => {
      await webSocket.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.dispose();
    },
  };
}

/** A deterministic GUID for test customer n. */
export function customerId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** `count` test customers' GUIDs, customer `from` first. */
export function customerIds(count: number, from = 1): string[] {
  return Array.from({ length: count }, (_, i) => customerId(from + i));
}
