// A rolling deploy sends SIGTERM: the real gateway process stops accepting
// connections, answers /ready with 503, lets the request in flight finish with
// its data, completes open subscriptions (SSE and WebSocket), closes its pools
// and exits 0. Requests that outlive SHUTDOWN_TIMEOUT_MS are cut, and the
// process still exits 0.

import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/config/config';
import { customerId, TOKEN } from './support/gateway';
import { logLines, startGatewayProcess } from './support/process';
import { defaultHandler, type RecordedCall, startUpstream, type Upstream } from './support/upstream';

/** An upstream that holds every answer until the test releases it, and says when a call has arrived. */
async function startHoldingUpstream() {
  const held: Array<() => void> = [];
  let arrived: () => void = () => {};
  const firstCall = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const upstream = await startUpstream(
    (call: RecordedCall, res: ServerResponse, attempt: number) =>
      new Promise<void>((resolve) => {
        held.push(() => {
          void defaultHandler(call, res, attempt);
          resolve();
        });
        arrived();
      }),
  );
  return {
    upstream,
    firstCall,
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

function write(socket: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(text, (error) => (error ? reject(error) : resolve())));
}

/** Everything the server sends on `socket` until it closes it. */
async function readToEnd(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'close');
  return text;
}

const QUERY = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;

/** Sends the GraphQL request that the holding upstream keeps in flight. */
function askQualifications(base: string): Promise<Response> {
  return fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: TOKEN },
    body: JSON.stringify({ query: QUERY }),
  });
}

describe('graceful shutdown', () => {
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await upstream?.close();
  });

  it('on SIGTERM finishes the request in flight with its data, says 503 on /ready, refuses new connections and exits 0', async () => {
    const holding = await startHoldingUpstream();
    upstream = holding.upstream;
    const gateway = startGatewayProcess({ PORT: '0', PARTNER_CENTER_BASE_URL: upstream.url });
    const base = await gateway.listening();
    expect((await fetch(`${base}/ready`)).status).toBe(200);

    // A probe connection whose request has begun but not ended: a connection with a request under way is not idle,
    // so closing the listener leaves it open. Its bytes are written before the GraphQL request below is sent, so
    // the server has read them by the time that request reaches the upstream.
    const probe = connect(Number(new URL(base).port), '127.0.0.1');
    await once(probe, 'connect');
    const probeAnswer = readToEnd(probe);
    await write(probe, 'GET /ready HTTP/1.1\r\nHost: gateway\r\n');

    const inFlight = askQualifications(base);
    await holding.firstCall;

    gateway.child.kill('SIGTERM');
    await gateway.waitForOutput(/"msg":"draining/);

    await expect(fetch(`${base}/health`)).rejects.toThrow();
    await write(probe, '\r\n');
    expect(await probeAnswer).toMatch(/^HTTP\/1\.1 503 /);

    holding.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    expect(await gateway.exited()).toBe(0);
    expect(upstream.calls).toHaveLength(1);

    const messages = logLines(gateway.stdout()).map((line) => line.msg);
    expect(messages).toContain('graphql request');
    expect(messages.indexOf('stopped'), gateway.stdout()).toBeGreaterThan(messages.indexOf('graphql request'));
  });

  it('cuts a request that outlives SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    const holding = await startHoldingUpstream();
    upstream = holding.upstream;
    const gateway = startGatewayProcess({
      PORT: '0',
      PARTNER_CENTER_BASE_URL: upstream.url,
      SHUTDOWN_TIMEOUT_MS: '100',
    });
    const base = await gateway.listening();
    const inFlight = askQualifications(base);
    await holding.firstCall;

    gateway.child.kill('SIGTERM');

    await expect(inFlight).rejects.toThrow();
    expect(await gateway.exited()).toBe(0);
    expect(gateway.stdout()).toContain('closing them now');
    holding.release();
  });

  it('on SIGTERM completes the open subscriptions, over SSE and WebSocket, and exits 0 without waiting for the cut', async () => {
    // The compiled build in simulator mode: it signs in to the simulator and syncs, so customerChanges is served.
    const gateway = startGatewayProcess({ PORT: '0', SHUTDOWN_TIMEOUT_MS: '10000' }, { compiled: true });
    const base = await gateway.listening();
    const subscription = 'subscription { customerChanges { customerId kind } }';

    const sse = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: subscription }),
    });
    expect(sse.status).toBe(200);
    const sseText = sse.text();

    const closes: number[] = [];
    const client = createClient({
      url: `${base.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      // Not lazy: the client keeps its socket once the subscription completes, so the close it sees is the gateway's.
      lazy: false,
      retryAttempts: 0,
      on: { closed: (event) => closes.push((event as { code: number }).code) },
    });
    let wsEnded: 'complete' | 'error' | undefined;
    client.subscribe(
      { query: subscription },
      {
        next: () => {},
        error: () => {
          wsEnded ??= 'error';
        },
        complete: () => {
          wsEnded ??= 'complete';
        },
      },
    );
    const open = async () =>
      (await (await fetch(`${base}/metrics`)).text())
        .split('\n')
        .filter((line) => line.startsWith('gateway_subscriptions{'))
        .sort();
    await expect
      .poll(open, { timeout: 10_000 })
      .toEqual(['gateway_subscriptions{transport="sse"} 1', 'gateway_subscriptions{transport="ws"} 1']);

    gateway.child.kill('SIGTERM');

    // The SSE response ends (its body completes), the WebSocket subscription completes and its socket closes 1001.
    expect(await sseText).toMatch(/event: complete/);
    await expect.poll(() => ({ wsEnded, closes })).toEqual({ wsEnded: 'complete', closes: [1001] });
    expect(await gateway.exited()).toBe(0);
    const messages = logLines(gateway.stdout()).map((line) => line.msg);
    expect(messages).toContain('stopped');
    // Nothing held the drain until SHUTDOWN_TIMEOUT_MS: no connection had to be cut.
    expect(gateway.stdout()).not.toContain('closing them now');
    await client.dispose();
  });

  it('drains on SIGINT too', async () => {
    // The compiled build under plain node: tsx relays signals to a child of its own, which races under load.
    const gateway = startGatewayProcess({ PORT: '0' }, { compiled: true });
    await gateway.listening();

    gateway.child.kill('SIGINT');

    expect(await gateway.exited()).toBe(0);
    expect(logLines(gateway.stdout())).toContainEqual(expect.objectContaining({ msg: 'stopping', signal: 'SIGINT' }));
  });
});

describe('SHUTDOWN_TIMEOUT_MS', () => {
  it('is 10000 by default and read from the environment', () => {
    expect(loadConfig({}).shutdownTimeoutMs).toBe(10_000);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '25000' }).shutdownTimeoutMs).toBe(25_000);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: 'soon' })).toThrow(/SHUTDOWN_TIMEOUT_MS must be a whole number/);
  });
});
