// Subscription.customerChanges over WebSocket (graphql-transport-ws, the
// graphql-ws client against the real server path): replay from a cursor then
// live with no gap and no duplicate, only new changes without a cursor,
// refusals before anything is sent (no token, no read role, past
// SUBSCRIPTIONS_MAX), the end of a stream when its token expires, the
// gateway_subscriptions{transport="ws"} gauge and the server's ping frames;
// and the endpoint itself: 404 on another path, a connection_init without a
// token (4401 Unauthorized, counted as missing), the upgrade's headers that
// reach Partner Center, documents that do not parse or validate, persisted
// documents only, closing (1001, 4403 for a connection_init while closing, a
// socket that does not answer the close frame cut)
// and the bound on a message's size.

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect as connectTcp } from 'node:net';
import { type Client, type ClientOptions, createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Config } from '../src/config/config';
import { MAX_REQUEST_BODY_BYTES } from '../src/server/body-size';
import { attachWebSocket, KEEP_ALIVE_MS } from '../src/server/websocket';
import { type SyncedGateway, startSyncedGateway } from './support/customer-base';
import { customerId, startGateway } from './support/gateway';
import { bearer } from './support/sign-in';
import {
  customerListHandler,
  defaultHandler,
  json,
  rosterItem,
  startUpstream,
  type UpstreamHandler,
} from './support/upstream';

const ROSTER = Array.from({ length: 6 }, (_, n) => rosterItem(n + 1));

/** A stand-in that keeps the qualifications added to it, so the sync's later reads find what the gateway recorded. */
function standIn(): UpstreamHandler {
  const list = customerListHandler(ROSTER);
  const added = new Map<string, string[]>();
  return (call, res, attempt) => {
    if (call.resource === 'customers') return list(call, res, attempt);
    const id = call.customerId ?? '';
    if (call.resource === 'qualifications' && call.method === 'GET') {
      return json(res, 200, [
        { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2021-05-06T19:59:56Z' },
        ...(added.get(id) ?? []).map((qualification) => ({ qualification })),
      ]);
    }
    if (call.resource === 'qualifications' && call.method === 'POST') {
      const { qualification } = JSON.parse(call.body) as { qualification: string };
      added.set(id, [...(added.get(id) ?? []), qualification]);
      return json(res, 201, { qualification });
    }
    return defaultHandler(call, res, attempt);
  };
}

let synced: SyncedGateway | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await synced?.close();
  synced = undefined;
});

async function start(overrides: Partial<Config> = {}): Promise<SyncedGateway> {
  synced = await startSyncedGateway(standIn(), overrides);
  return synced;
}

/** A graphql-ws client of the gateway; `authorization` goes in connection_init (none when undefined). */
function connect(
  gw: SyncedGateway,
  authorization: string | undefined,
  options: Partial<ClientOptions> = {},
): { client: Client; closes: number[] } {
  const closes: number[] = [];
  const client = createClient({
    url: gw.gw.wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    ...options,
    connectionParams: authorization === undefined ? {} : { authorization },
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  clients.push(client);
  return { client, closes };
}

interface Followed {
  /** What each `next` carried: a change's customerId and kind, or the codes of its errors. */
  readonly received: string[];
  /** The error the stream ended with: the codes of an `error` message's errors, or a close code. */
  error?: string[] | number;
  completed: boolean;
  stop(): void;
}

function follow(client: Client, after?: string): Followed {
  const followed: Followed = { received: [], completed: false, stop: () => {} };
  followed.stop = client.subscribe<{ customerChanges: { customerId: string; kind: string } }>(
    {
      query: 'subscription ($after: String) { customerChanges(after: $after) { customerId kind source } }',
      variables: after === undefined ? {} : { after },
    },
    {
      next: (result) => {
        const change = result.data?.customerChanges;
        if (change) followed.received.push(`${change.customerId} ${change.kind}`);
        for (const error of result.errors ?? []) followed.received.push(`error ${String(error.extensions?.code)}`);
      },
      error: (error) => {
        followed.error = Array.isArray(error)
          ? error.map((one: { extensions?: { code?: unknown } }) => String(one.extensions?.code))
          : (error as { code: number }).code;
      },
      complete: () => {
        followed.completed = true;
      },
    },
  );
  return followed;
}

/** One change, source GATEWAY: a qualification added to customer n through the gateway. */
async function add(gw: SyncedGateway, n: number): Promise<void> {
  const writer = await gw.entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
  const { body } = await gw.gw.query(
    `mutation { addCustomerQualification(input: { customerId: "${customerId(n)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
    undefined,
    bearer(writer),
  );
  expect(body.errors).toBeUndefined();
}

const added = (n: number) => `${customerId(n)} QUALIFICATION_ADDED`;

async function openSubscriptions(gw: SyncedGateway): Promise<string> {
  const text = await (await fetch(gw.gw.url.replace(/\/graphql$/, '/metrics'))).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('gateway_subscriptions{'))
    .sort()
    .join('\n');
}

const gauge = (sse: number, ws: number) =>
  `gateway_subscriptions{transport="sse"} ${sse}\ngateway_subscriptions{transport="ws"} ${ws}`;

describe('customerChanges over WebSocket', () => {
  it('replays the changes after a cursor, then sends the next one live: no gap, no duplicate', async () => {
    const gw = await start();
    for (const n of [1, 2, 3]) await add(gw, n);
    const { body } = await gw.gw.query<{ customerBase: { changes: { edges: Array<{ cursor: string }> } } }>(
      '{ customerBase { changes { edges { cursor } } } }',
      undefined,
      bearer(gw.caller),
    );
    const cursors = body.data?.customerBase.changes.edges.map((edge) => edge.cursor) ?? [];
    expect(cursors).toHaveLength(3);

    const followed = follow(connect(gw, `Bearer ${gw.caller}`).client, cursors[0]);
    await expect.poll(() => followed.received).toEqual([added(2), added(3)]);
    await add(gw, 4);
    await expect.poll(() => followed.received).toEqual([added(2), added(3), added(4)]);
    await add(gw, 5);
    await expect.poll(() => followed.received).toEqual([added(2), added(3), added(4), added(5)]);
    expect(followed.error).toBeUndefined();
  });

  it('without `after` sends only new changes', async () => {
    const gw = await start();
    await add(gw, 1);
    const followed = follow(connect(gw, `Bearer ${gw.caller}`).client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    await add(gw, 2);
    await expect.poll(() => followed.received).toEqual([added(2)]);
  });

  it('refuses a caller without a token (4401) and one without a read role (4403), sending nothing', async () => {
    const gw = await start();
    const anonymous = connect(gw, undefined);
    const noToken = follow(anonymous.client);
    const noRole = connect(gw, `Bearer ${await gw.entra.signCallerToken({ roles: ['Other.Role'] })}`);
    const forbidden = follow(noRole.client);
    await expect.poll(() => [noToken.error, forbidden.error]).toEqual([4401, 4403]);
    expect([anonymous.closes, noRole.closes]).toEqual([[4401], [4403]]);
    await add(gw, 1);
    expect([noToken.received, forbidden.received]).toEqual([[], []]);
    expect(await openSubscriptions(gw)).toBe(gauge(0, 0));
  });

  it('refuses a subscription with a bad cursor with an error message: BAD_USER_INPUT', async () => {
    const gw = await start();
    const followed = follow(connect(gw, `Bearer ${gw.caller}`).client, 'not-a-cursor');
    await expect.poll(() => followed.error).toEqual(['BAD_USER_INPUT']);
    expect(followed.received).toEqual([]);
  });

  it('refuses one more than SUBSCRIPTIONS_MAX with TOO_MANY_SUBSCRIPTIONS; the open one goes on', async () => {
    const gw = await start({ subscriptionsMax: 1 });
    const first = follow(connect(gw, `Bearer ${gw.caller}`).client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    const second = follow(connect(gw, `Bearer ${gw.caller}`).client);
    await expect.poll(() => second.error).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
    await add(gw, 1);
    await expect.poll(() => first.received).toEqual([added(1)]);
    expect(second.received).toEqual([]);
  });

  it("ends the stream with UNAUTHENTICATED when the caller's token expires", async () => {
    const gw = await start();
    const token = await gw.entra.signCallerToken({}, { expiresIn: 3 });
    const followed = follow(connect(gw, `Bearer ${token}`).client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    await expect
      .poll(() => ({ received: followed.received, completed: followed.completed }), { timeout: 10_000 })
      .toEqual({ received: ['error UNAUTHENTICATED'], completed: true });
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 0));
  });

  it('counts the open subscription in gateway_subscriptions{transport="ws"}, and not once it completes', async () => {
    const gw = await start();
    expect(await openSubscriptions(gw)).toBe(gauge(0, 0));
    const followed = follow(connect(gw, `Bearer ${gw.caller}`).client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    followed.stop();
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 0));
  });

  it('accepts the token as `Authorization` in connection_init too, and serves queries', async () => {
    const gw = await start();
    const client = createClient({
      url: gw.gw.wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${gw.caller}` },
    });
    clients.push(client);
    const result = await new Promise<unknown>((resolve, reject) => {
      let last: unknown;
      client.subscribe(
        { query: '{ customerBase { sync { customersKnown } } }' },
        { next: (value) => (last = value), error: reject, complete: () => resolve(last) },
      );
    });
    expect(result).toEqual({ data: { customerBase: { sync: { customersKnown: ROSTER.length } } } });
  });
});

describe('keep-alive', () => {
  it('pings every 12 s by default, within the 15 s an idle stream may go without a keep-alive', () => {
    expect(KEEP_ALIVE_MS).toBe(12_000);
  });

  it('sends ping frames to an idle connection, and cuts one that does not answer them', async () => {
    const gw = await start();
    // The gateway's own endpoint again, on a second server, with pings every 100 ms.
    const server = createServer(gw.gw.gateway);
    const endpoint = attachWebSocket(server, gw.gw.gateway, { config: gw.gw.config, keepAliveMs: 100 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    try {
      const answering = new WebSocket(url, 'graphql-transport-ws');
      let pings = 0;
      answering.on('ping', () => pings++);
      await once(answering, 'open');
      answering.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${gw.caller}` } }));
      await expect.poll(() => pings).toBeGreaterThanOrEqual(3);
      expect(answering.readyState).toBe(WebSocket.OPEN);
      answering.close();

      const silent = new WebSocket(url, 'graphql-transport-ws', { autoPong: false });
      const closed = once(silent, 'close');
      await once(silent, 'open');
      silent.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${gw.caller}` } }));
      const [code] = await closed;
      expect(code).toBe(1006);
    } finally {
      await endpoint.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** A socket speaking graphql-transport-ws by hand, and every message it receives, parsed. */
function rawSocket(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
  const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = once(socket, 'close').then(([code]) => code as number);
  return { socket, messages, closed, opened: once(socket, 'open') };
}

describe('the WebSocket endpoint', () => {
  it('answers an upgrade to another path with 404 Not Found', async () => {
    const gw = await start();
    const socket = new WebSocket(gw.gw.wsUrl.replace(/\/graphql$/, '/other'), 'graphql-transport-ws');
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, IncomingMessage];
    expect([response.statusCode, response.statusMessage, response.headers]).toEqual([
      404,
      'Not Found',
      { connection: 'close', 'content-length': '0' },
    ]);
    socket.on('error', () => {});
    socket.terminate();
    expect(gw.gw.webSocket.connections()).toBe(0);
  });

  it("takes the upgrade's Accept-Language and MS-CorrelationId to Partner Center, and the token only from connection_init", async () => {
    const gw = await start();
    const correlationId = '5d2b4d5e-6f70-4a81-9b92-a3b4c5d6e7f8';
    const headers = { 'accept-language': 'fr-FR', 'ms-correlationid': correlationId };
    // A token in the upgrade's Authorization header is not the caller's: only connection_init's counts.
    const headerOnly = rawSocket(gw.gw.wsUrl, { ...headers, authorization: `Bearer ${gw.caller}` });
    await headerOnly.opened;
    headerOnly.socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    expect(await headerOnly.closed).toBe(4401);

    const { socket, messages, opened } = rawSocket(gw.gw.wsUrl, headers);
    await opened;
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${gw.caller}` } }));
    await expect.poll(() => messages.map((message) => message.type)).toEqual(['connection_ack']);
    expect(gw.gw.webSocket.connections()).toBe(1);
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `{ customer(id: "${customerId(2)}") { companyName } }` },
      }),
    );
    await expect.poll(() => messages.map((message) => message.type)).toEqual(['connection_ack', 'next', 'complete']);
    expect(messages[1]?.payload).toEqual({ data: { customer: { companyName: 'Company 002' } } });
    const calls = gw.upstream.calls.filter((call) => call.headers['ms-correlationid'] === correlationId);
    expect(calls.map((call) => [call.resource, call.headers['x-locale']])).toEqual([['customer', 'fr-FR']]);
    socket.close();
    await expect.poll(() => gw.gw.webSocket.connections()).toBe(0);
  });

  it('closes a connection_init without a token, or with an empty one, with 4401 Unauthorized, counted as missing', async () => {
    const gw = await start();
    for (const payload of [{}, { authorization: '' }]) {
      const { socket, opened } = rawSocket(gw.gw.wsUrl);
      const closed = once(socket, 'close');
      await opened;
      socket.send(JSON.stringify({ type: 'connection_init', payload }));
      const [code, reason] = await closed;
      expect([code, String(reason)]).toEqual([4401, 'Unauthorized']);
    }
    const metrics = await (await fetch(gw.gw.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toContain('gateway_caller_auth_total{result="missing"} 2');
    expect(metrics).not.toContain('gateway_caller_auth_total{result="invalid"}');
  });

  it('refuses a document that does not parse or does not validate with an error message, masked as over HTTP', async () => {
    const gw = await start();
    const { client } = connect(gw, `Bearer ${gw.caller}`);
    const outcome2 = (payload: { query: string; operationName?: string }) =>
      new Promise<unknown>((resolve) => {
        client.subscribe(payload, { next: () => {}, error: resolve, complete: () => resolve('complete') });
      });
    const outcome = (query: string) => outcome2({ query });
    expect(await outcome('subscription { customerChanges {')).toEqual([
      expect.objectContaining({
        message: 'Syntax Error: Expected Name, found <EOF>.',
        extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }),
      }),
    ]);
    // An operation name the document does not hold: an error message too, the connection kept.
    expect(await outcome2({ query: '{ __typename }', operationName: 'Missing' })).toEqual([
      expect.objectContaining({
        message: 'Could not determine what operation to execute.',
        extensions: expect.objectContaining({ code: 'OPERATION_RESOLUTION_FAILURE' }),
      }),
    ]);
    expect(await outcome('subscription { customerChanges { nope nor } }')).toEqual([
      expect.objectContaining({ message: 'Cannot query field "nope" on type "CustomerChange".' }),
      expect.objectContaining({ message: 'Cannot query field "nor" on type "CustomerChange".' }),
    ]);
  });

  it('refuses every operation when only persisted documents are served, and serves them when query text is allowed too', async () => {
    const documents = new Map([['sha256:x', '{ __typename }']]);
    // Persisted documents only: no synced gateway (its first pass is awaited with query text), a forward-mode one.
    const upstream = await startUpstream();
    const only = await startGateway(upstream.url, { persistedDocuments: documents, allowArbitraryDocuments: false });
    try {
      const client = createClient({ url: only.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
      clients.push(client);
      const refused = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: '{ __typename }' }, { next: resolve, error: resolve, complete: () => {} });
      });
      expect(refused).toEqual([
        {
          message:
            'Only persisted documents are served here (ALLOW_ARBITRARY_DOCUMENTS=false), and not over WebSocket: use HTTP with a documentId.',
          extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' },
        },
      ]);
    } finally {
      await only.close();
      await upstream.close();
    }

    const gw = await start({ persistedDocuments: documents });
    const served = follow(connect(gw, `Bearer ${gw.caller}`).client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    await add(gw, 1);
    await expect.poll(() => served.received).toEqual([added(1)]);
  });

  it('on close, completes the subscriptions the drain ended and closes every socket with 1001', async () => {
    const gw = await start();
    // The client keeps its socket after its last subscription completes: the gateway closes it.
    const { client, closes } = connect(gw, `Bearer ${gw.caller}`, { lazyCloseTimeout: 60_000 });
    const followed = follow(client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    expect(gw.gw.webSocket.connections()).toBe(1);
    gw.gw.gateway.drain();
    await gw.gw.webSocket.close();
    expect(followed.completed).toBe(true);
    expect(followed.error).toBeUndefined();
    await expect.poll(() => closes).toEqual([1001]);
    expect(gw.gw.webSocket.connections()).toBe(0);
  });

  it('while closing, refuses a connection_init (4403) and waits a moment for open subscriptions before closing with 1001', async () => {
    const gw = await start();
    const { client, closes } = connect(gw, `Bearer ${gw.caller}`);
    const followed = follow(client);
    await expect.poll(() => openSubscriptions(gw)).toBe(gauge(0, 1));
    const late = rawSocket(gw.gw.wsUrl);
    await late.opened;
    // Not drained: the subscription stays open, so closing waits its second for it.
    const closing = gw.gw.webSocket.close();
    late.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${gw.caller}` } }));
    expect(await late.closed).toBe(4403);
    expect(late.messages).toEqual([]);
    expect(closes).toEqual([]);
    await closing;
    await expect.poll(() => closes).toEqual([1001]);
    expect(followed.completed).toBe(false);
  });

  it('on close, cuts a socket that does not answer the close frame', async () => {
    const gw = await start();
    const { port } = new URL(gw.gw.url);
    // A client that upgrades, then reads what it is sent and never answers: not even the close frame.
    const tcp = connectTcp(Number(port), '127.0.0.1');
    let received = Buffer.alloc(0);
    tcp.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    const ended = once(tcp, 'close');
    tcp.write(
      [
        'GET /graphql HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Protocol: graphql-transport-ws',
        '',
        '',
      ].join('\r\n'),
    );
    await expect.poll(() => received.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    await gw.gw.webSocket.close();
    await ended;
    // The close frame it was sent: 1001 Going away.
    const frame = received.subarray(received.indexOf('\r\n\r\n') + 4);
    expect([frame[0], frame.readUInt16BE(2), frame.subarray(4).toString()]).toEqual([0x88, 1001, 'Going away']);
  });

  it('closes a connection whose message is larger than a request body may be (1009)', async () => {
    const gw = await start();
    const { socket, closed, opened } = rawSocket(gw.gw.wsUrl);
    await opened;
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(MAX_REQUEST_BODY_BYTES) } }));
    expect(await closed).toBe(1009);
  });
});
