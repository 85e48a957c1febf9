// The fault proxy of test/support/fault-proxy.ts against a real redis-server and ioredis: what passes through
// unchanged, and each fault it injects (delayed commands, stalls, resets, black holes, refusals), then healed.

import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import { type RedisServer, startRedis } from './support/redis-server';

let redis: RedisServer;
let proxy: FaultProxy;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await proxy?.close();
});

/** The next `name` event (an 'error' before it does not reject, unlike events.once). */
const next = (emitter: EventEmitter, name: string) =>
  new Promise<unknown[]>((resolve) => emitter.once(name, (...args) => resolve(args)));

/** An ioredis client through the proxy, reconnecting every 20 ms; disconnected after the test. */
async function client(options: RedisOptions = {}, ready = true): Promise<Redis> {
  const c = new Redis(proxy.url, { retryStrategy: () => 20, maxRetriesPerRequest: 1, ...options });
  c.on('error', () => undefined);
  clients.push(c);
  if (ready) await next(c, 'ready');
  return c;
}

/** Resolves with what `promise` gives and the milliseconds since `since`; logs the label into `order`. */
async function timed<T>(promise: Promise<T>, since: number, order: string[], label: string) {
  const value = await promise;
  order.push(label);
  return { value, ms: performance.now() - since };
}

describe('the fault proxy', () => {
  it('passes commands and replies through unchanged: SET/GET, a pipeline of 100, a binary 1 MB value', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
    const c = await client();
    expect(proxy.connections).toBe(1);

    expect(await c.set('plain', 'value')).toBe('OK');
    expect(await c.get('plain')).toBe('value');

    const before = proxy.commandsSeen;
    const pipeline = c.pipeline();
    for (let i = 0; i < 50; i++) pipeline.set(`key:${i}`, `value ${i}\r\n*1\r\n`);
    for (let i = 0; i < 50; i++) pipeline.get(`key:${i}`);
    const results = await pipeline.exec();
    expect(proxy.commandsSeen - before).toBe(100);
    expect(results?.slice(0, 50).every(([error, reply]) => error === null && reply === 'OK')).toBe(true);
    expect(results?.slice(50).map(([, reply]) => reply)).toEqual(
      Array.from({ length: 50 }, (_, i) => `value ${i}\r\n*1\r\n`),
    );

    const big = randomBytes(1 << 20);
    expect(await c.set('big', big)).toBe('OK');
    expect((await c.getBuffer('big'))?.equals(big)).toBe(true);
    expect((await redis.client.getBuffer('big'))?.equals(big)).toBe(true);
  });

  it('reassembles a command split across chunks, byte by byte, and counts it once', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const socket = connect(proxy.port, '127.0.0.1');
    socket.setNoDelay(true);
    await next(socket, 'connect');
    try {
      const released = proxy.delayCommands({ ms: 50, match: 'set' });
      const command = Buffer.from('*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$4\r\nok\r\n\r\n');
      for (const byte of command) {
        socket.write(Buffer.of(byte));
        await sleep(1);
      }
      const [reply] = (await next(socket, 'data')) as [Buffer];
      await released;
      expect(reply.toString()).toBe('+OK\r\n');
      expect(proxy.commandsSeen).toBe(1);
      expect(await redis.client.get('split')).toBe('ok\r\n');
    } finally {
      socket.destroy();
    }
  });

  it('delays only the matched command, keeps later commands on its connection behind it, not other connections', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const [slow, fast] = [await client(), await client()];
    await slow.set('k', 'old');
    const before = proxy.commandsSeen;
    const order: string[] = [];
    const forwarded = proxy.delayCommands({ ms: 300, match: 'GET' });

    const t0 = performance.now();
    const get = timed(slow.get('k'), t0, order, 'delayed get');
    const set = timed(slow.set('k', 'new'), t0, order, 'set behind it');
    const ping = await timed(fast.ping(), t0, order, 'other connection');
    // The other connection's PING went through while the GET (and the SET after it) waited in the proxy.
    expect(proxy.commandsSeen - before).toBe(1);
    expect(ping.value).toBe('PONG');

    const [got] = await Promise.all([get, set, forwarded]);
    expect(got.value).toBe('old'); // the SET did not overtake the GET
    expect(got.ms).toBeGreaterThanOrEqual(290);
    expect(order).toEqual(['other connection', 'delayed get', 'set behind it']);
    expect(proxy.commandsSeen - before).toBe(3);

    // count defaults to 1: the next GET is not delayed (it answers before a 300 ms GET on the other connection)
    const again: string[] = [];
    void proxy.delayCommands({ ms: 300, match: /^get$/ });
    const t1 = performance.now();
    const held = timed(fast.get('k'), t1, again, 'delayed');
    await timed(slow.get('k'), t1, again, 'undelayed');
    await held;
    expect(again).toEqual(['undelayed', 'delayed']);
  });

  it('delays the next `count` matching commands of a pipeline; the stream queues behind the first', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const [piped, other] = [await client(), await client()];
    const before = proxy.commandsSeen;
    const forwarded = proxy.delayCommands({ ms: 500, count: 2, match: /^(GET|SET)$/ });
    const t0 = performance.now();
    const results = piped.pipeline().ping().set('p', '1').incr('p').get('p').set('p', '9').get('p').exec();
    expect(await other.ping()).toBe('PONG');
    // Only the pipeline's leading PING passed (and the other connection's PING): SET waits, INCR on behind it.
    while (proxy.commandsSeen - before < 2) await sleep(2);
    await sleep(50);
    expect(proxy.commandsSeen - before).toBe(2);
    expect((await results)?.map(([, reply]) => reply)).toEqual(['PONG', 'OK', 2, '2', 'OK', '9']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(490);
    await forwarded;
    expect(proxy.commandsSeen - before).toBe(7);
  });

  it('stalls traffic in both directions, then releases it in order', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const [a, b, blocked] = [await client(), await client(), await client()];
    await a.set('n', '0');
    // A reply redis sends during the stall is held too: BLPOP is answered by a push made directly to redis.
    const popped = blocked.blpop('list', 5);
    while (!String(await redis.client.client('LIST')).includes('cmd=blpop')) await sleep(5);
    const before = proxy.commandsSeen;

    const order: string[] = [];
    const t0 = performance.now();
    const stalled = proxy.stall(400);
    const incrs = [1, 2, 3].map((n) => timed(a.incr('n'), t0, order, `incr ${n}`));
    const ping = timed(b.ping(), t0, order, 'ping');
    await redis.client.lpush('list', 'x');
    const pop = timed(popped, t0, order, 'blpop');
    await stalled;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(395);

    const replies = await Promise.all([...incrs, ping, pop]);
    expect(replies.map((r) => r.value)).toEqual([1, 2, 3, 'PONG', ['list', 'x']]);
    for (const { ms } of replies) expect(ms).toBeGreaterThanOrEqual(395);
    expect(order.filter((label) => label.startsWith('incr'))).toEqual(['incr 1', 'incr 2', 'incr 3']);
    expect(proxy.commandsSeen - before).toBe(4);
  });

  it('resetConnections closes every connection at once; ioredis emits close and reconnects', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const [a, b] = [await client(), await client()];
    expect(proxy.connections).toBe(2);
    const closed = Promise.all([next(a, 'close'), next(b, 'close')]);
    proxy.resetConnections();
    expect(proxy.connections).toBe(0);
    await closed;
    await Promise.all([next(a, 'ready'), next(b, 'ready')]);
    expect(proxy.connections).toBe(2);
    expect(await a.set('after-reset', '1')).toBe('OK');
    expect(await b.get('after-reset')).toBe('1');
  });

  it('black-holes: a command times out, a new connection never gets ready; after heal() both work', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const c = await client({ commandTimeout: 100 });
    proxy.blackhole();
    const before = proxy.commandsSeen;
    await expect(c.get('k')).rejects.toThrow('Command timed out');
    expect(c.status).toBe('ready'); // no reset, no close: the data just vanished

    const late = await client({ commandTimeout: 100 }, false);
    while (proxy.connections < 2) await sleep(5);
    await sleep(100);
    expect(late.status).not.toBe('ready');
    expect(proxy.commandsSeen).toBe(before);

    // The connections that lost data are out of step with their clients; heal() resets them and they reconnect.
    const ready = Promise.all([next(c, 'ready'), next(late, 'ready')]);
    proxy.heal();
    await ready;
    expect(await c.set('healed', 'yes')).toBe('OK');
    expect(await late.get('healed')).toBe('yes');
  });

  it('down() refuses connections and closes the open ones until heal()', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const c = await client({ enableOfflineQueue: false });
    const closed = next(c, 'close');
    proxy.down();
    await closed;
    expect(proxy.connections).toBe(0);

    const probe = connect(proxy.port, '127.0.0.1');
    probe.on('error', () => undefined);
    await next(probe, 'close');
    await sleep(100); // ioredis keeps trying every 20 ms and is refused each time
    expect(c.status).not.toBe('ready');
    expect(proxy.connections).toBe(0);
    await expect(c.ping()).rejects.toThrow();

    proxy.heal();
    await next(c, 'ready');
    expect(await c.ping()).toBe('PONG');
  });

  it('close() ends every connection and pending delay, and refuses afterwards', async () => {
    proxy = await startFaultProxy({ port: redis.port });
    const c = await client({ retryStrategy: () => null });
    const forwarded = proxy.delayCommands({ ms: 10_000 });
    const stalled = proxy.stall(10_000);
    const pending = c.get('k').catch((error: Error) => error);
    const t0 = performance.now();
    await proxy.close();
    await Promise.all([forwarded, stalled]);
    expect(await pending).toBeInstanceOf(Error);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(proxy.connections).toBe(0);
  });
});
