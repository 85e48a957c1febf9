// A loopback TCP proxy in front of a real redis-server whose faults the test decides: latency on chosen commands
// (found by parsing the RESP request stream), stalls, resets, black holes and refused connections.

import { connect, createServer, type Socket } from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /**
   * Adds `ms` of latency (from their arrival) to the next `count` (default 1) commands, client->server, whose name
   * matches `match` (case-insensitive: 'EVALSHA' or /^(GET|SET)$/), or to any command when `match` is omitted.
   * Later commands on the same connection queue behind a delayed one. Resolves when those commands were forwarded
   * (or dropped with their connection, or the proxy closed).
   */
  delayCommands(opts: { ms: number; count?: number; match?: string | RegExp }): Promise<void>;
  /** Holds all traffic in both directions for `ms`, then releases it in order; resolves at the release. */
  stall(ms: number): Promise<void>;
  /** Destroys every open connection, client and server side, with an RST, as a reset would; new ones are accepted. */
  resetConnections(): void;
  /**
   * Drops all data in both directions silently (new connections are accepted, their data dropped too) until
   * heal(). A connection that lost data is out of step with its client, so heal() resets it.
   */
  blackhole(): void;
  /** Ends blackhole() and down(). */
  heal(): void;
  /** Refuses new connections (resets them at once) and resets existing ones, until heal(). */
  down(): void;
  /** Currently open client connections. */
  readonly connections: number;
  /** RESP commands forwarded client->server. */
  readonly commandsSeen: number;
  close(): Promise<void>;
}

/** Queued bytes per direction and connection above which the sending side is no longer read. */
const HIGH_WATER = 1 << 20;
/** A request that does not end within this many bytes resets its connection. */
const MAX_COMMAND = 64 << 20;

type Rule = { ms: number; left: number; inFlight: number; match: RegExp | string | undefined; done: () => void };
/** A client's command (or, past anything not RESP, raw bytes), or a chunk of the server's replies. */
type Item = { data: Buffer; command: boolean; releaseAt: number; rule: Rule | undefined };
/** One direction of a connection: what waits to be written from `from` to `to`. */
type Lane = { from: Socket; to: Socket; queue: Item[]; bytes: number; busy: boolean };
/** A client connection and its own to the server; `pending` holds an incomplete command, `need` bytes long at least. */
type Link = {
  up: Lane;
  down: Lane;
  pending: Buffer[];
  size: number;
  need: number;
  raw: boolean;
  lost: boolean;
  dead: boolean;
};

/**
 * Byte length and name of the first complete command in `buf`; while it is incomplete, the length `buf` must reach
 * before it is worth reading again; throws if `buf` is not RESP.
 */
function nextCommand(buf: Buffer): { end: number; name: string } | number {
  const line = (at: number) => {
    const eol = buf.indexOf('\r\n', at);
    return eol < 0 ? null : { text: buf.toString('latin1', at, eol), next: eol + 2 };
  };
  const head = line(0);
  if (!head) return buf.length + 1;
  if (!head.text.startsWith('*')) return { end: head.next, name: head.text.trim().split(/\s+/)[0] ?? '' }; // inline
  const count = Number(head.text.slice(1));
  if (!Number.isInteger(count)) throw new Error(`not RESP: ${head.text}`);
  let at = head.next;
  let name = '';
  for (let i = 0; i < count; i++) {
    const bulk = line(at);
    if (!bulk) return buf.length + 1;
    const length = Number(bulk.text.slice(1));
    if (!bulk.text.startsWith('$') || !Number.isInteger(length) || length < 0)
      throw new Error(`not RESP: ${bulk.text}`);
    if (bulk.next + length + 2 > buf.length) return bulk.next + length + 2;
    if (i === 0) name = buf.toString('latin1', bulk.next, bulk.next + length);
    at = bulk.next + length + 2;
  }
  return { end: at, name };
}

const drained = (socket: Socket) =>
  new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.on('drain', done).on('close', done);
  });

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  const waits = new Set<() => void>();
  let rules: Rule[] = [];
  let stalledUntil = 0;
  let blackholed = false;
  let refusing = false;
  let closed = false;
  let commandsSeen = 0;

  /** A timer close() can end early. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waits.add(done);
    });

  const settle = (rule: Rule | undefined) => {
    if (rule && --rule.inFlight === 0 && rule.left === 0) rule.done();
  };

  const claim = (name: string): Rule | undefined => {
    const rule = rules.find(
      (r) =>
        r.left > 0 && (r.match === undefined || (typeof r.match === 'string' ? r.match === name : r.match.test(name))),
    );
    if (!rule) return undefined;
    rule.left--;
    rule.inFlight++;
    rules = rules.filter((r) => r.left > 0);
    return rule;
  };

  const teardown = (link: Link, reset: boolean) => {
    if (link.dead) return;
    link.dead = true;
    links.delete(link);
    for (const socket of [link.up.from, link.up.to]) {
      if (socket.destroyed) continue;
      if (reset && !socket.connecting) socket.resetAndDestroy();
      else socket.destroy();
    }
    for (const item of [...link.up.queue, ...link.down.queue]) settle(item.rule);
    link.up.queue = [];
    link.down.queue = [];
  };

  /** Forwards a lane's queue in order, holding for stalls and delayed commands, dropping it while black-holed. */
  const pump = async (link: Link, lane: Lane) => {
    if (lane.busy) return;
    lane.busy = true;
    try {
      while (!link.dead && lane.queue.length > 0) {
        const item = lane.queue[0] as Item;
        const hold = Math.max(stalledUntil, item.releaseAt) - Date.now();
        if (hold > 0 && !blackholed) {
          await wait(hold);
          continue;
        }
        lane.queue.shift();
        lane.bytes -= item.data.length;
        if (lane.bytes < HIGH_WATER && lane.from.isPaused()) lane.from.resume();
        if (blackholed) link.lost = true;
        else {
          if (item.command) commandsSeen++;
          if (!lane.to.write(item.data)) await drained(lane.to);
        }
        settle(item.rule);
      }
    } finally {
      lane.busy = false;
    }
  };

  const enqueue = (lane: Lane, item: Item) => {
    lane.queue.push(item);
    lane.bytes += item.data.length;
    if (lane.bytes >= HIGH_WATER) lane.from.pause();
  };

  /** Splits the client's bytes into commands, each claiming a delay rule if one matches. */
  const ingest = (link: Link, chunk: Buffer) => {
    const raw = (data: Buffer) => enqueue(link.up, { data, command: false, releaseAt: 0, rule: undefined });
    if (link.raw) return raw(chunk);
    link.pending.push(chunk);
    link.size += chunk.length;
    if (link.size < link.need) return; // a large value still arriving: not worth joining and reading again yet
    let buf = Buffer.concat(link.pending);
    try {
      for (;;) {
        const cmd = nextCommand(buf);
        if (typeof cmd === 'number') {
          link.need = cmd;
          break;
        }
        const rule = claim(cmd.name.toUpperCase());
        const releaseAt = rule ? Date.now() + rule.ms : 0;
        enqueue(link.up, { data: buf.subarray(0, cmd.end), command: true, releaseAt, rule });
        buf = buf.subarray(cmd.end);
      }
    } catch {
      link.raw = true; // not RESP after all: pass the rest through as it comes
      raw(buf);
      buf = buf.subarray(buf.length);
    }
    link.pending = buf.length > 0 ? [buf] : [];
    link.size = buf.length;
    if (link.need > MAX_COMMAND) teardown(link, true);
  };

  const server = createServer((client) => {
    client.on('error', () => undefined);
    if (refusing || closed) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    upstream.on('error', () => undefined);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const lane = (from: Socket, to: Socket): Lane => ({ from, to, queue: [], bytes: 0, busy: false });
    const link: Link = {
      up: lane(client, upstream),
      down: lane(upstream, client),
      pending: [],
      size: 0,
      need: 0,
      raw: false,
      lost: false,
      dead: false,
    };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      ingest(link, chunk);
      void pump(link, link.up);
    });
    upstream.on('data', (chunk: Buffer) => {
      enqueue(link.down, { data: chunk, command: false, releaseAt: 0, rule: undefined });
      void pump(link, link.down);
    });
    client.on('close', () => teardown(link, false));
    upstream.on('close', () => teardown(link, false));
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return links.size;
    },
    get commandsSeen() {
      return commandsSeen;
    },
    delayCommands({ ms, count = 1, match }) {
      if (count <= 0 || closed) return Promise.resolve();
      return new Promise<void>((done) => {
        const pattern =
          typeof match === 'string'
            ? match.toUpperCase()
            : match && new RegExp(match.source, `${match.flags.replace(/[gyi]/g, '')}i`);
        rules.push({ ms, left: count, inFlight: 0, match: pattern, done });
      });
    },
    stall(ms) {
      stalledUntil = Math.max(stalledUntil, Date.now() + ms);
      return wait(ms);
    },
    resetConnections() {
      for (const link of [...links]) teardown(link, true);
    },
    blackhole() {
      blackholed = true;
    },
    heal() {
      blackholed = false;
      refusing = false;
      for (const link of [...links]) if (link.lost) teardown(link, true);
    },
    down() {
      refusing = true;
      for (const link of [...links]) teardown(link, true);
    },
    async close() {
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const link of [...links]) teardown(link, false);
      for (const done of [...waits]) done();
      for (const rule of rules) rule.done();
      rules = [];
      await stopped;
    },
  };
}
