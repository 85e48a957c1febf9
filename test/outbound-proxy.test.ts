// HTTPS_PROXY / HTTP_PROXY and NO_PROXY are honoured for Partner Center calls
// (undici's EnvHttpProxyAgent): calls tunnel through a loopback CONNECT proxy,
// except to NO_PROXY hosts. The proxy records each tunnel and the local port
// of each connection it opens, so the upstream can tell what came through it.

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import { useUpstream } from './support/fixtures';
import { customerId, startGateway, TOKEN } from './support/gateway';
import { startGatewayProcess, stopGatewayProcess } from './support/process';
import { startUpstream, type Upstream } from './support/upstream';

/** A forward proxy on loopback that only tunnels (CONNECT), as corporate HTTPS proxies do. */
async function startConnectProxy() {
  const tunnels: string[] = [];
  const outgoingPorts = new Set<number>();
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(405, { 'content-length': '0' });
    res.end();
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const target = connect(Number(port), host === 'localhost' ? '127.0.0.1' : (host ?? ''), () => {
      if (target.localPort !== undefined) outgoingPorts.add(target.localPort);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on('error', () => {
        client.destroy();
        target.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    /** How many of `upstream`'s calls arrived over a connection this proxy opened. */
    carried: (upstream: Upstream) =>
      upstream.calls.filter((call) => call.remotePort !== undefined && outgoingPorts.has(call.remotePort)).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const TWO_CUSTOMERS = `{ customers(ids: ["${customerId(1)}", "${customerId(2)}"]) { qualifications { kind } } }`;

let proxy: Awaited<ReturnType<typeof startConnectProxy>> | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('through a proxy (in process)', () => {
  const { upstream, gatewayWith } = useUpstream();

  it('tunnels every Partner Center call through the proxy', async () => {
    proxy = await startConnectProxy();
    const gw = await gatewayWith({ httpProxy: proxy.url });

    const { body } = await gw.query(TWO_CUSTOMERS);

    expect(body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    expect(proxy.carried(upstream)).toBe(2);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(upstream.url).host]));
  });

  it('reaches a NO_PROXY host directly', async () => {
    proxy = await startConnectProxy();
    const gw = await gatewayWith({ httpProxy: proxy.url, noProxy: 'example.com,127.0.0.1' });

    const { body } = await gw.query(TWO_CUSTOMERS);

    expect(body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(2);
    expect(proxy.tunnels).toEqual([]);
  });

  it('reads no proxy variable of its own environment: only the configuration counts', async () => {
    proxy = await startConnectProxy();
    const saved = { ...process.env };
    Object.assign(process.env, { HTTP_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: '127.0.0.1' });
    Object.assign(process.env, { no_proxy: '127.0.0.1' });
    try {
      // An HTTPS proxy alone leaves an http:// Partner Center direct, whatever HTTP_PROXY says.
      const direct = await gatewayWith({ httpsProxy: 'http://127.0.0.1:9' });
      expect((await direct.query(TWO_CUSTOMERS)).body.errors).toBeUndefined();
      expect(proxy.tunnels).toEqual([]);
      // A configured proxy tunnels the calls, whatever NO_PROXY says.
      const tunnelled = await gatewayWith({ httpProxy: proxy.url });
      expect((await tunnelled.query(TWO_CUSTOMERS)).body.errors).toBeUndefined();
      expect(proxy.carried(upstream)).toBe(2);
    } finally {
      for (const name of ['HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  it('sends the calls to an https Partner Center through the HTTPS proxy', async () => {
    // In this process the stand-in's self-signed certificate is not trusted, so the calls fail after the tunnel is
    // asked for: what counts here is where they went (the real process, which trusts it, is tested below).
    proxy = await startConnectProxy();
    const secure = await startUpstream(undefined, { tls: TLS });
    try {
      const gw = await startGateway(secure.url, { httpsProxy: proxy.url, maxAttempts: 1 });
      try {
        const { body } = await gw.query(TWO_CUSTOMERS);
        expect(body.errors?.length).toBeGreaterThan(0);
        expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(secure.url).host]));
      } finally {
        await gw.close();
      }
    } finally {
      await secure.close();
    }
  });

  it('goes direct when no proxy is configured', async () => {
    proxy = await startConnectProxy();
    const gw = await gatewayWith({});

    await gw.query(TWO_CUSTOMERS);

    expect(upstream.calls).toHaveLength(2);
    expect(proxy.tunnels).toEqual([]);
  });
});

const TLS_FILES = {
  cert: fileURLToPath(new URL('./fixtures/tls/localhost.crt', import.meta.url)),
  key: fileURLToPath(new URL('./fixtures/tls/localhost.key', import.meta.url)),
};
const TLS = { key: readFileSync(TLS_FILES.key, 'utf8'), cert: readFileSync(TLS_FILES.cert, 'utf8') };

describe('HTTPS_PROXY from the environment (the real process, https upstream)', () => {
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await upstream?.close();
  });

  it('tunnels calls to an https Partner Center through HTTPS_PROXY', async () => {
    const cert = TLS_FILES.cert;
    upstream = await startUpstream(undefined, { tls: TLS });
    proxy = await startConnectProxy();
    const gateway = startGatewayProcess({
      PORT: '0',
      PARTNER_CENTER_BASE_URL: upstream.url,
      HTTPS_PROXY: proxy.url,
      // The stand-in's certificate is self-signed for localhost: trust it in the child only.
      NODE_EXTRA_CA_CERTS: cert,
    });
    const base = await gateway.listening();

    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: TOKEN },
      body: JSON.stringify({ query: TWO_CUSTOMERS }),
    });

    expect(await response.json()).toEqual({
      data: { customers: [{ qualifications: [{ kind: 'EDUCATION' }] }, { qualifications: [{ kind: 'EDUCATION' }] }] },
    });
    expect(upstream.calls).toHaveLength(2);
    expect(proxy.carried(upstream)).toBe(2);
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(upstream.url).host]));
    expect(await stopGatewayProcess(gateway.child)).toBe(0);
  });
});

describe('the proxy settings', () => {
  it('reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY, lower case first, none by default', () => {
    expect(loadConfig({})).toMatchObject({ httpsProxy: undefined, httpProxy: undefined, noProxy: undefined });
    expect(
      loadConfig({
        HTTPS_PROXY: 'http://upper:3128',
        https_proxy: 'http://lower:3128',
        HTTP_PROXY: 'http://plain:3128',
        NO_PROXY: 'localhost,.internal',
      }),
    ).toMatchObject({
      httpsProxy: 'http://lower:3128',
      httpProxy: 'http://plain:3128',
      noProxy: 'localhost,.internal',
    });
  });

  it('refuses a proxy that is not an http(s) URL, naming the variable', () => {
    expect(() => loadConfig({ HTTPS_PROXY: 'proxy:3128' })).toThrow(/HTTPS_PROXY must be an http\(s\) proxy URL/);
  });
});
