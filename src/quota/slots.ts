// Owns the per-token concurrency slots (PARTNER_CENTER_MAX_CONCURRENCY): at
// most N upstream calls in flight per token, the rest queued in order. A token
// has state only while it has calls in flight or queued, so memory follows
// the calls, not the number of tokens ever seen, and nothing needs sweeping.

export interface Slots {
  /**
   * Takes one of the token's slots, queueing until one frees up. Rejects with `timeout()` at the deadline and
   * with `cancelled()` when `signal` aborts; either way the call leaves the queue. Resolves with the release.
   */
  acquire(
    token: string,
    deadline: number,
    signal: AbortSignal | undefined,
    errors: { timeout(): Error; cancelled(): Error },
  ): Promise<() => void>;
}

interface Gate {
  active: number;
  readonly waiting: Array<() => void>;
}

export function createSlots(perToken: number): Slots {
  const gates = new Map<string, Gate>();

  const releaser = (token: string, gate: Gate) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = gate.waiting.shift();
      // The slot passes straight to the next in line, so `active` stays as it is.
      if (next) return next();
      gate.active--;
      // Idle: forgotten. A gate is only ever deleted with no holder and no waiter, so no caller keeps a stale one.
      if (gate.active === 0 && gates.get(token) === gate) gates.delete(token);
    };
  };

  return {
    async acquire(token, deadline, signal, errors) {
      if (signal?.aborted) throw errors.cancelled();
      let gate = gates.get(token);
      if (!gate) {
        gate = { active: 0, waiting: [] };
        gates.set(token, gate);
      }
      if (gate.active < perToken) {
        gate.active++;
        return releaser(token, gate);
      }
      const queued = gate;
      await new Promise<void>((resolve, reject) => {
        const leave = (error: Error) => {
          const index = queued.waiting.indexOf(granted);
          if (index >= 0) queued.waiting.splice(index, 1);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        };
        const onAbort = () => leave(errors.cancelled());
        const granted = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const timer = setTimeout(() => leave(errors.timeout()), Math.max(0, deadline - Date.now()));
        signal?.addEventListener('abort', onAbort, { once: true });
        queued.waiting.push(granted);
      });
      return releaser(token, queued);
    },
  };
}
