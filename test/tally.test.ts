// The tallies (src/observability/tally.ts) count and time in plain numbers and show them to
// prom-client's registry at scrape time. What a scrape serves must be what
// prom-client's own Counter and Histogram serve for the same calls, byte for
// byte, whatever the calls, their order and the scrapes between them.

import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHistogramTally, createTally } from '../src/observability/tally';

const LABELS = ['resource', 'status'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

const labels = fc.record({
  resource: fc.constantFrom('customers', 'qualifications', 'mca_status', 'a "quoted"\nvalue'),
  status: fc.constantFrom('200', '429', 'timeout'),
});
/** Observed values around and on the bounds, and far outside them. */
const values = fc.oneof(
  fc.constantFrom(0, 0.01, 0.025, 1, 8, 20, 20.000001, 1e9),
  fc.double({ min: 0, max: 30, noNaN: true }),
);
/** A call, or (null) a scrape of both registries. */
const steps = fc.array(fc.option(fc.tuple(labels, values), { freq: 6 }), { maxLength: 200 });

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10, 20];

describe('tallies against prom-client', () => {
  it('a histogram tally serves what a prom-client Histogram serves, with given and with default buckets', async () => {
    for (const buckets of [BUCKETS, undefined]) {
      await fc.assert(
        fc.asyncProperty(steps, async (calls) => {
          const ours = new Registry();
          const theirs = new Registry();
          const family = { name: 'upstream_seconds', help: 'Time.', labelNames: LABELS };
          const tally = createHistogramTally(ours, { ...family, ...(buckets ? { buckets } : {}) });
          const histogram = new Histogram({ ...family, ...(buckets ? { buckets } : {}), registers: [theirs] });
          for (const call of calls) {
            if (call === null) expect(await ours.metrics()).toBe(await theirs.metrics());
            else {
              tally.observe(call[0], call[1]);
              histogram.observe(call[0], call[1]);
            }
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
          ours.resetMetrics();
          theirs.resetMetrics();
          expect(await ours.metrics()).toBe(await theirs.metrics());
          // Counting starts again from nothing after a reset.
          for (const call of calls.slice(0, 3)) {
            if (call === null) continue;
            tally.observe(call[0], call[1]);
            histogram.observe(call[0], call[1]);
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
        }),
        { numRuns: 150 },
      );
    }
  });

  it('a counter tally serves what a prom-client Counter serves, across scrapes', async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (calls) => {
        const ours = new Registry();
        const theirs = new Registry();
        const family = { name: 'upstream_total', help: 'Calls.', labelNames: LABELS };
        const tally = createTally(ours, family);
        const counter = new Counter({ ...family, registers: [theirs] });
        for (const call of calls) {
          if (call === null) expect(await ours.metrics()).toBe(await theirs.metrics());
          else {
            tally.inc(call[0]);
            counter.inc(call[0]);
          }
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
      }),
      { numRuns: 150 },
    );
  });

  it('a histogram tally skips a value that is not a finite number, where prom-client would throw', async () => {
    const registry = new Registry();
    const tally = createHistogramTally(registry, { name: 't', help: 'T.', labelNames: LABELS, buckets: [1] });
    const at: Labels = { resource: 'customers', status: '200' };
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) tally.observe(at, value);
    tally.observe(at, 1);
    tally.observe(at, 1.5);
    expect(await registry.metrics()).toBe(
      [
        '# HELP t T.',
        '# TYPE t histogram',
        't_bucket{le="1",resource="customers",status="200"} 1',
        't_bucket{le="+Inf",resource="customers",status="200"} 2',
        't_sum{resource="customers",status="200"} 2.5',
        't_count{resource="customers",status="200"} 2',
        '',
      ].join('\n'),
    );
  });

  it('keeps label sets apart that share a value under another label', async () => {
    const registry = new Registry();
    const tally = createTally(registry, { name: 'c', help: 'C.', labelNames: LABELS });
    tally.inc({ resource: 'a', status: 'b' });
    tally.inc({ resource: 'b', status: 'a' });
    tally.inc({ resource: 'a', status: 'b' });
    expect(await registry.metrics()).toBe(
      ['# HELP c C.', '# TYPE c counter', 'c{resource="a",status="b"} 2', 'c{resource="b",status="a"} 1', ''].join(
        '\n',
      ),
    );
  });

  it('refuses a family without labels', () => {
    expect(() => createTally(new Registry(), { name: 'n', help: 'N.', labelNames: [] })).toThrow(
      'a tally needs at least one label',
    );
  });
});
