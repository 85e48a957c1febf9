// Owns counting on the hot path in plain numbers: a prom-client Counter whose
// increments add to a number per label set, handed to prom-client only when
// the registry is scraped (the Counter's `collect`). prom-client's own `inc`
// validates and hashes the labels on every call, which several counts per
// Partner Center call made a visible part of a request's CPU
// (bench/README.md "Logging and metrics").

import { Counter, type Registry } from 'prom-client';

export interface Tally<L extends string> {
  /** Adds 1 to the count of these label values. */
  inc(labels: Readonly<Record<L, string>>): void;
}

export function createTally<L extends string>(
  registry: Registry,
  { name, help, labelNames }: { name: string; help: string; labelNames: readonly L[] },
): Tally<L> {
  const counts = new Map<string, { readonly labels: Readonly<Record<L, string>>; value: number }>();
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of counts.values()) this.inc(labels, value);
    },
  });
  return {
    inc(labels) {
      let key = '';
      for (const label of labelNames) key += `${labels[label]}\n`;
      const count = counts.get(key);
      if (count) count.value++;
      else counts.set(key, { labels: { ...labels }, value: 1 });
    },
  };
}
