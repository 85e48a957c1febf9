// Owns the HTTP plumbing under the client: the keep-alive pool (through an
// outbound proxy when one is configured), telling when a request is written
// to its socket, and reading a response body to the end with a size cap.

import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import type { ClientConfig } from './types';

/** Largest body we read; a larger one is a bad response, never an out-of-memory. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A keep-alive pool for Partner Center. With HTTPS_PROXY or HTTP_PROXY set,
 * undici's EnvHttpProxyAgent tunnels through the proxy (CONNECT), except for
 * NO_PROXY hosts. All three are passed explicitly: EnvHttpProxyAgent would
 * otherwise read process.env itself, and only main.ts reads the environment.
 */
export function createDispatcher(config: ClientConfig): Dispatcher {
  const pool = { connections: config.poolConnections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000 };
  if (config.httpsProxy === undefined && config.httpProxy === undefined) return new Agent(pool);
  return new EnvHttpProxyAgent({
    ...pool,
    // Always a CONNECT tunnel, also to an http: Partner Center (a loopback stand-in): the proxy relays bytes and
    // never reads the request, its Authorization header included. undici 8 would otherwise forward plain http.
    proxyTunnel: true,
    httpsProxy: config.httpsProxy ?? '',
    httpProxy: config.httpProxy ?? '',
    noProxy: config.noProxy ?? '',
  });
}

/** A request's option: called once undici writes the request to its socket, the moment Partner Center counts from. */
export const ON_WRITTEN: unique symbol = Symbol('onWritten');

type Written = { [ON_WRITTEN]?: () => void };

/**
 * The dispatcher, telling each request that carries ON_WRITTEN when it is written: undici's onRequestStart comes
 * right before the headers go to the socket, after any wait for a connection and for the event loop. Pacing counts a
 * call from then, not from when the gateway let it go, which a busy event loop can leave tens of ms behind.
 */
export function tellingWrites(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose((dispatch) => (opts, handler) => {
    const onWritten = (opts as Written)[ON_WRITTEN];
    if (!onWritten) return dispatch(opts, handler);
    return dispatch(opts, {
      onRequestStart(controller, context) {
        onWritten();
        handler.onRequestStart?.(controller, context);
      },
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) =>
        handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
    });
  });
}

export class BodyTooLargeError extends Error {
  constructor() {
    super(`Partner Center sent a body larger than ${MAX_BODY_BYTES} bytes.`);
  }
}

/** Reads a response body to the end (so the socket goes back to the pool), refusing oversized ones. */
export async function readText(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new BodyTooLargeError();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
