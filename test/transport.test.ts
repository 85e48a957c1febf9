// The client's dispatcher tells a request when it is written to its socket
// (src/partner-center/transport.ts, tellingWrites), the time pacing counts a
// call from; against a real loopback server that holds its answer until told.

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_WRITTEN, readText, tellingWrites } from '../src/partner-center/transport';

const held: ServerResponse[] = [];
const arrived: string[] = [];
const server = createServer((req, res) => {
  arrived.push(req.url ?? '');
  held.push(res);
});
let origin: string;
const agent = new Agent();
const dispatcher = tellingWrites(agent);

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const until = async (done: () => boolean) => {
  for (let tries = 0; tries < 200 && !done(); tries++) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('telling a request when it is written', () => {
  it('calls the hook once, when the request goes out and before any answer; the answer is read as ever', async () => {
    const seen: string[] = [];
    const options = { origin, path: '/one', method: 'GET', [ON_WRITTEN]: () => seen.push('written') };
    const answer = dispatcher.request(options as Dispatcher.RequestOptions);
    await until(() => arrived.includes('/one'));
    expect(seen).toEqual(['written']);
    const res = held.shift() as ServerResponse;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    const response = await answer;
    expect(response.statusCode).toBe(200);
    expect(await readText(response.body)).toBe('{"ok":true}');
    expect(seen).toEqual(['written']);
  });

  it('leaves a request without the hook as it is, and reports an error to the caller as ever', async () => {
    const plain = dispatcher.request({ origin, path: '/two', method: 'GET' });
    await until(() => arrived.includes('/two'));
    (held.shift() as ServerResponse).writeHead(204).end();
    expect((await plain).statusCode).toBe(204);
    const written: string[] = [];
    const refused = dispatcher.request({
      origin: 'http://127.0.0.1:1',
      path: '/three',
      method: 'GET',
      [ON_WRITTEN]: () => written.push('written'),
    } as Dispatcher.RequestOptions);
    await expect(refused).rejects.toThrow();
    // Never written: no connection.
    expect(written).toEqual([]);
  });
});
