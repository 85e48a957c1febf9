// Owns counting and timing on the hot path in plain numbers: counters and
// histograms whose per-request work is a lookup in nested maps and an
// addition, handed to prom-client's registry only when it is scraped.
// prom-client's own `inc` and `observe` validate and hash the labels on every
// call, which the several counts and timings of each request made a visible
// part of a cheap request's CPU (bench/README.md "Logging and metrics").
// What a scrape shows is what prom-client's Counter and Histogram show for
// the same calls, byte for byte (test/tally.test.ts).

import { Counter, type Metric, type Registry } from 'prom-client';

export interface Tally<L extends string> {
  /** Adds 1 to the count of these label values; a label left out is left out of the series, as in prom-client. */
  inc(labels: Readonly<Partial<Record<L, string>>>): void;
}

export interface HistogramTally<L extends string> {
  /** Counts `value` into the first bucket whose upper bound is at least it, and into the sum and count. */
  observe(labels: Readonly<Record<L, string>>, value: number): void;
}

interface Family<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

/** The histogram buckets prom-client uses when none are given. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One entry per set of label values, found through one map per label: the label values are the gateway's own
 * constant strings, so no key is built or hashed per call. Entries keep the order they were first seen in.
 */
function labelSets<L extends string, E>(
  labelNames: readonly L[],
  create: (labels: Readonly<Partial<Record<L, string>>>) => E,
) {
  if (labelNames.length === 0) throw new Error('a tally needs at least one label');
  const last = labelNames.length - 1;
  let root = new Map<string, unknown>();
  let entries: E[] = [];
  return {
    entries: () => entries,
    clear() {
      root = new Map();
      entries = [];
    },
    find(labels: Readonly<Partial<Record<L, string>>>): E {
      let map = root;
      for (let index = 0; index < last; index++) {
        const value = labels[labelNames[index] as L] as string;
        let next = map.get(value) as Map<string, unknown> | undefined;
        if (!next) {
          next = new Map();
          map.set(value, next);
        }
        map = next;
      }
      const value = labels[labelNames[last] as L] as string;
      let entry = map.get(value) as E | undefined;
      if (!entry) {
        entry = create({ ...labels });
        map.set(value, entry);
        entries.push(entry);
      }
      return entry;
    },
  };
}

/** A prom-client Counter whose increments are added up in plain numbers and handed to it at scrape time. */
export function createTally<L extends string>(registry: Registry, { name, help, labelNames }: Family<L>): Tally<L> {
  const counts = labelSets(labelNames, (labels) => ({ labels, value: 0 }));
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of counts.entries()) this.inc(labels, value);
    },
  });
  return {
    inc(labels) {
      counts.find(labels).value++;
    },
  };
}

interface Buckets<L extends string> {
  readonly labels: Readonly<Partial<Record<L, string>>>;
  /** Observations per bucket, not cumulative; one more than the bounds, for +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram registered in prom-client's registry as a metric of its own: it answers the registry's `get` and
 * `reset` as prom-client's Histogram does (cumulative `_bucket` lines with `le`, then `_sum` and `_count`).
 */
export function createHistogramTally<L extends string>(
  registry: Registry,
  { name, help, labelNames, buckets = DEFAULT_BUCKETS }: Family<L> & { buckets?: readonly number[] },
): HistogramTally<L> {
  const bounds = [...buckets].sort((a, b) => a - b);
  const sets = labelSets<L, Buckets<L>>(labelNames, (labels) => ({
    labels,
    counts: new Array<number>(bounds.length + 1).fill(0),
    sum: 0,
    count: 0,
  }));
  const metric = {
    name,
    help,
    reset: () => sets.clear(),
    async get() {
      const values: { labels: Record<string, string | number | undefined>; value: number; metricName: string }[] = [];
      for (const { labels, counts, sum, count } of sets.entries()) {
        let cumulative = 0;
        bounds.forEach((le, index) => {
          cumulative += counts[index] as number;
          values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${name}_bucket` });
        values.push({ labels: { ...labels }, value: sum, metricName: `${name}_sum` });
        values.push({ labels: { ...labels }, value: count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
  // The registry reads a metric through `name`, `get` and `reset` alone; its type names only prom-client's classes.
  registry.registerMetric(metric as unknown as Metric);
  return {
    observe(labels, value) {
      // prom-client throws on these; a timing must never fail the request it times.
      if (!Number.isFinite(value)) return;
      const entry = sets.find(labels);
      let index = 0;
      while (index < bounds.length && value > (bounds[index] as number)) index++;
      entry.counts[index] = (entry.counts[index] as number) + 1;
      entry.sum += value;
      entry.count++;
    },
  };
}
