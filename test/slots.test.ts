// The per-token concurrency slots on their own: a waiter that times out or is
// cancelled leaves the queue (the next in line gets the slot), a release counts
// once, and a call whose request already went away takes no slot.

import { describe, expect, it } from 'vitest';
import { createSlots } from '../src/quota/slots';

const errors = { timeout: () => new Error('timeout'), cancelled: () => new Error('cancelled') };
const LATER = () => Date.now() + 60_000;

/** Whether a promise has settled by the time the queued microtasks and one macrotask ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('per-token slots', () => {
  it('gives a timed-out waiter’s place to the next in line', async () => {
    const slots = createSlots(1);
    const release = await slots.acquire('t', LATER(), undefined, errors);
    const timedOut = slots.acquire('t', Date.now() + 5, undefined, errors);
    const next = slots.acquire('t', LATER(), undefined, errors);
    await expect(timedOut).rejects.toThrow('timeout');
    release();
    expect(await settled(next)).toBe(true);
    await expect(next).resolves.toBeTypeOf('function');
  });

  it('gives a cancelled waiter’s place to the next in line, and rejects it at once', async () => {
    const slots = createSlots(1);
    const release = await slots.acquire('t', LATER(), undefined, errors);
    const stop = new AbortController();
    const cancelled = slots.acquire('t', LATER(), stop.signal, errors);
    const next = slots.acquire('t', LATER(), undefined, errors);
    expect(await settled(cancelled)).toBe(false);
    stop.abort();
    await expect(cancelled).rejects.toThrow('cancelled');
    release();
    await expect(next).resolves.toBeTypeOf('function');
  });

  it('takes no slot for a call whose request already went away, though one is free', async () => {
    const slots = createSlots(1);
    const stop = new AbortController();
    stop.abort();
    await expect(slots.acquire('t', LATER(), stop.signal, errors)).rejects.toThrow('cancelled');
    // The slot is still free.
    expect(await settled(slots.acquire('t', LATER(), undefined, errors))).toBe(true);
  });

  it('counts a release once: releasing twice lets no second call through', async () => {
    const slots = createSlots(1);
    const release = await slots.acquire('t', LATER(), undefined, errors);
    const second = slots.acquire('t', LATER(), undefined, errors);
    const third = slots.acquire('t', LATER(), undefined, errors);
    release();
    release();
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe(false);
    (await second)();
    expect(await settled(third)).toBe(true);
  });

  it('keeps a token’s count while some of its calls are still in flight', async () => {
    const slots = createSlots(2);
    const first = await slots.acquire('t', LATER(), undefined, errors);
    await slots.acquire('t', LATER(), undefined, errors);
    first();
    // One call of two still in flight: one more may start, a fourth waits.
    expect(await settled(slots.acquire('t', LATER(), undefined, errors))).toBe(true);
    expect(await settled(slots.acquire('t', LATER(), undefined, errors))).toBe(false);
  });

  it('keeps a granted waiter’s abort from taking its slot back, and keeps tokens apart', async () => {
    const slots = createSlots(1);
    const release = await slots.acquire('t', LATER(), undefined, errors);
    expect(await settled(slots.acquire('other', LATER(), undefined, errors))).toBe(true);
    const stop = new AbortController();
    const waiter = slots.acquire('t', LATER(), stop.signal, errors);
    release();
    const releaseWaiter = await waiter;
    stop.abort();
    const after = slots.acquire('t', LATER(), undefined, errors);
    expect(await settled(after)).toBe(false);
    releaseWaiter();
    expect(await settled(after)).toBe(true);
  });
});
