// Owns GraphQL over WebSocket on /graphql (the graphql-transport-ws protocol,
// graphql-ws's server over the ws package), the way yoga documents it: each
// operation goes through yoga's envelope (its plugins, error masking and
// context). The caller's token comes in the connection_init payload and is
// checked before the connection is acknowledged; subscriptions refused when
// they start go out as `error` messages; a ping frame every 12 s keeps idle
// connections alive; on SIGTERM open subscriptions complete and the sockets
// close with 1001. ws and graphql-ws are loaded on the first upgrade, so a
// gateway nobody speaks WebSocket to never loads them.

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import type { OperationResult, Context as SocketContext } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../config/config';
import type { Transport } from '../customer-base/change-feed';
import { GatewayError, maskError } from '../domain/errors';
import type { Context } from '../request/context';
import { MAX_REQUEST_BODY_BYTES } from './body-size';

/** graphql-ws's interval between ping frames (and the wait for each pong): under the 15 s SPEC allows an idle stream. */
export const KEEP_ALIVE_MS = 12_000;
/** How long closing waits for completed subscriptions' last messages before the sockets close. */
const COMPLETE_WAIT_MS = 1_000;
/** How long a socket may take to answer the close frame before it is cut. */
const CLOSE_WAIT_MS = 2_000;

export interface WebSocketOptions {
  readonly config: Config;
  /** Interval of the server's ping frames; a socket that has not answered one by the next is cut. */
  readonly keepAliveMs?: number;
}

export interface WebSocketEndpoint {
  /**
   * Refuses new connections, waits briefly for the subscriptions' `complete` messages (gateway.drain() ends their
   * streams), then closes every socket with 1001 Going away: an upgraded connection is no longer the HTTP server's,
   * so server.close() would wait for it.
   */
  close(): Promise<void>;
  /** Open WebSocket connections. */
  connections(): number;
}

type Yoga = YogaServerInstance<Record<string, unknown>, Context>;
type Extra = { readonly socket: WebSocket; readonly request: IncomingMessage };

/** Serves GraphQL over WebSocket on `server`'s /graphql. */
export function attachWebSocket(server: Server, yoga: Yoga, options: WebSocketOptions): WebSocketEndpoint {
  const endpoint = new URL(yoga.graphqlEndpoint, 'http://gateway').pathname;
  let loaded: Promise<WebSocketServer> | undefined;
  let closing = false;
  /** The connections' contexts, for closing: which subscriptions each still has open. */
  const open = new Set<SocketContext<Record<string, unknown>, Extra>>();
  /** Each acknowledged connection's Request: its authorization and the upgrade's other headers. */
  const requests = new WeakMap<object, Request>();

  const load = async (): Promise<WebSocketServer> => {
    const [{ WebSocketServer }, { useServer }] = await Promise.all([import('ws'), import('graphql-ws/use/ws')]);
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BODY_BYTES });
    useServer<Record<string, unknown>, Extra>(
      {
        execute: (args) => (args.rootValue as Roots).execute(args),
        subscribe: (args) => (args.rootValue as Roots).subscribe(args),
        onConnect: async (ctx) => {
          if (closing) return false;
          const request = requestOf(ctx.extra.request, ctx.connectionParams, endpoint);
          requests.set(ctx, request);
          // Who asks, checked before the connection is acknowledged: nothing is ever sent to a refused caller.
          const refusal = await refusalOf(yoga, request);
          if (refusal === 'UNAUTHENTICATED') {
            ctx.extra.socket.close(4401, 'Unauthorized');
            return false;
          }
          if (refusal === 'FORBIDDEN') return false;
          open.add(ctx);
          return true;
        },
        onClose: (ctx) => {
          open.delete(ctx);
        },
        onSubscribe: async (ctx, _id, payload) => {
          const request = requests.get(ctx);
          if (request === undefined)
            return [new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } })];
          if (options.config.persistedDocuments && !options.config.allowArbitraryDocuments) {
            return [
              new GraphQLError(
                'Only persisted documents are served here (ALLOW_ARBITRARY_DOCUMENTS=false), and not over WebSocket: use HTTP with a documentId.',
                { extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } },
              ),
            ];
          }
          const transport: Transport = 'ws';
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            request,
            transport,
            params: payload,
          });
          let document: DocumentNode;
          try {
            document = parse(payload.query);
          } catch (error) {
            return [masked(error)];
          }
          const errors = validate(schema, document);
          if (errors.length > 0) return errors.map(masked);
          const args: ExecutionArgs = {
            schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } satisfies Roots,
          };
          if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') return args;
          // Subscribed here, so that a refusal (who asks, SYNC_NOT_ENABLED, TOO_MANY_SUBSCRIPTIONS, a bad cursor) goes
          // out as an `error` message, masked as over HTTP, rather than as a result.
          const started = await subscribe(args);
          if (!isAsyncIterable(started)) {
            const refused = (started.errors ?? []).map(masked);
            return refused.length > 0 ? refused : [masked(new Error('The subscription did not start.'))];
          }
          return { ...args, rootValue: { execute, subscribe: () => started } satisfies Roots };
        },
      },
      wss,
      options.keepAliveMs ?? KEEP_ALIVE_MS,
    );
    return wss;
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://gateway').pathname !== endpoint) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    loaded ??= load();
    loaded.then(
      (wss) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
      () => refuseUpgrade(socket, 500, 'Internal Server Error'),
    );
  };
  server.on('upgrade', onUpgrade);

  return {
    connections: () => open.size,
    async close() {
      closing = true;
      server.off('upgrade', onUpgrade);
      if (loaded === undefined) return;
      const wss = await loaded;
      // Streams ended by the drain send `complete` as they finish: a moment for that before the sockets close.
      const until = Date.now() + COMPLETE_WAIT_MS;
      while ([...open].some((ctx) => Object.keys(ctx.subscriptions).length > 0) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const closed = [...wss.clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === client.CLOSED) return resolve();
            const cut = setTimeout(() => client.terminate(), CLOSE_WAIT_MS);
            client.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            client.close(1001, 'Going away');
          }),
      );
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** What onSubscribe hands execute and subscribe: yoga's enveloped ones (or a subscription already started). */
interface Roots {
  execute(args: ExecutionArgs): OperationResult;
  subscribe(args: ExecutionArgs): OperationResult;
}

/**
 * The fetch Request an operation's context is built from: the upgrade's URL and headers (language, correlation id,
 * trace headers, which no span reads yet: the tracing plugin starts its SERVER span per HTTP request), with the
 * connection_init payload's authorization (`authorization` or `Authorization`) and only that.
 */
function requestOf(upgrade: IncomingMessage, params: Readonly<Record<string, unknown>> | undefined, endpoint: string) {
  const headers = new Headers();
  for (const name of ['accept-language', 'ms-correlationid', 'traceparent', 'tracestate', 'user-agent']) {
    const value = upgrade.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization === 'string' && authorization !== '') headers.set('authorization', authorization);
  return new Request(`http://${upgrade.headers.host ?? 'gateway'}${endpoint}`, { headers });
}

/** Why a caller is refused a connection: verified as queries are, and holding a read role. */
async function refusalOf(yoga: Yoga, request: Request): Promise<'UNAUTHENTICATED' | 'FORBIDDEN' | undefined> {
  const transport: Transport = 'ws';
  // yoga's types spread the initial context into Context in a way TypeScript cannot follow; it is the gateway's Context.
  const context = (await yoga.getEnveloped({ request, transport }).contextFactory()) as unknown as Context;
  try {
    await context.access.readSnapshot();
    return undefined;
  } catch (error) {
    if (error instanceof GatewayError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) {
      return error.code;
    }
    throw error;
  }
}

/** What a client may see of an error: the gateway's masking, as over HTTP. */
function masked(error: unknown): GraphQLError {
  const result = maskError(error, 'Unexpected error.');
  return result instanceof GraphQLError ? result : new GraphQLError(result.message);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
