// Setup a test file or describe block shares, registered as vitest hooks in one line:
//
//   const { upstream, gw } = useGateway({ attemptTimeoutMs: 500 });  // one stand-in upstream, one gateway
//   const { simulator, gw } = useSimulatorGateway();                 // the built-in simulator, one gateway
//   const { upstream, gatewayWith } = useUpstream();                 // one upstream, a gateway per test
//
// The returned objects can be named at once but start in beforeAll: use them inside tests and hooks.

import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Config } from '../../src/config/config';
import type { GatewayDeps } from '../../src/gateway';
import { type Simulator, startSimulator } from '../../src/simulator/simulator';
import { type RunningGateway, startGateway } from './gateway';
import { defaultHandler, startUpstream, type Upstream, type UpstreamHandler } from './upstream';

/** A stand-in for a server a beforeAll hook starts: every property read goes to the server once it has started. */
function startedLater<T extends object>(what: string): { ref: T; set(value: T): void; current(): T | undefined } {
  let current: T | undefined;
  const ref = new Proxy({} as T, {
    get(_target, key) {
      if (current === undefined) throw new Error(`${what} has not started yet: use it inside a test or hook`);
      const value = Reflect.get(current, key, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
  return {
    ref,
    set: (value) => {
      current = value;
    },
    current: () => current,
  };
}

/** What every test starts from: no recorded calls, and the upstream answering with the block's handler. */
function resetUpstream(upstream: Upstream, handler: UpstreamHandler): void {
  upstream.calls.length = 0;
  upstream.setHandler(handler);
}

/**
 * One upstream answering with `handler` (default: `defaultHandler`) and one gateway in front of it, configured with
 * `overrides`, for the whole block. Before each test the upstream forgets its calls and answers with `handler` again.
 */
export function useGateway(
  overrides: Partial<Config> = {},
  { handler = defaultHandler, deps = {} }: { handler?: UpstreamHandler; deps?: GatewayDeps } = {},
): { upstream: Upstream; gw: RunningGateway } {
  const upstream = startedLater<Upstream>('upstream');
  const gw = startedLater<RunningGateway>('gw');
  beforeAll(async () => {
    upstream.set(await startUpstream(handler));
    gw.set(await startGateway(upstream.ref.url, overrides, deps));
  });
  afterAll(async () => {
    await gw.current()?.close();
    await upstream.current()?.close();
  });
  beforeEach(() => resetUpstream(upstream.ref, handler));
  return { upstream: upstream.ref, gw: gw.ref };
}

/**
 * One upstream for the block, answering with `handler` (reset before each test like `useGateway`'s), and
 * `gatewayWith(overrides, deps)` to start a gateway in front of it inside a test; it is closed when the test ends.
 */
export function useUpstream(handler: UpstreamHandler = defaultHandler): {
  upstream: Upstream;
  gatewayWith(overrides?: Partial<Config>, deps?: GatewayDeps): Promise<RunningGateway>;
} {
  const upstream = startedLater<Upstream>('upstream');
  const running: RunningGateway[] = [];
  beforeAll(async () => {
    upstream.set(await startUpstream(handler));
  });
  afterAll(async () => {
    await upstream.current()?.close();
  });
  beforeEach(() => resetUpstream(upstream.ref, handler));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((gw) => gw.close()));
  });
  return {
    upstream: upstream.ref,
    async gatewayWith(overrides = {}, deps = {}) {
      const gw = await startGateway(upstream.ref.url, overrides, deps);
      running.push(gw);
      return gw;
    },
  };
}

/** The built-in Partner Center simulator and one gateway in simulator mode in front of it, for the whole block. */
export function useSimulatorGateway(
  overrides: Partial<Config> = {},
  deps: GatewayDeps = {},
): { simulator: Simulator; gw: RunningGateway } {
  const simulator = startedLater<Simulator>('simulator');
  const gw = startedLater<RunningGateway>('gw');
  beforeAll(async () => {
    simulator.set(await startSimulator());
    gw.set(await startGateway(simulator.ref.url, { simulator: true, ...overrides }, deps));
  });
  afterAll(async () => {
    await gw.current()?.close();
    await simulator.current()?.close();
  });
  return { simulator: simulator.ref, gw: gw.ref };
}
