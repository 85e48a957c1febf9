// With `changes`, a few of the simulator's roster customers change over time (a vetting decided, an MCA accepted,
// a qualification added), in a seeded order and never a sample customer; without it every answer stays the same.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANGEABLE_IDS } from '../src/simulator/changes';
import { SAMPLE_CUSTOMERS, SIMULATED_ROSTER, type Simulator, startSimulator } from '../src/simulator/simulator';

const RESOURCES = ['qualifications', 'agreements?agreementType=MicrosoftCustomerAgreement'];
const SAMPLES = Object.values(SAMPLE_CUSTOMERS);
const WAIT_MS = 5_000;

/** Every customer's qualifications and MCA agreements, as the simulator answers them now. */
async function answers(simulator: Simulator, ids: readonly string[]): Promise<Map<string, string>> {
  const entries = await Promise.all(
    ids.flatMap((id) =>
      RESOURCES.map(async (resource) => {
        const response = await fetch(`${simulator.url}/v1/customers/${id}/${resource}`, {
          headers: { authorization: 'Bearer test' },
        });
        return [`${id} ${resource}`, `${response.status} ${await response.text()}`] as const;
      }),
    ),
  );
  return new Map(entries);
}

const differing = (before: Map<string, string>, after: Map<string, string>) =>
  [...before.keys()].filter((key) => before.get(key) !== after.get(key));

describe('the simulator changing over time', () => {
  let simulator: Simulator | undefined;
  afterEach(async () => {
    await simulator?.close();
    simulator = undefined;
  });

  it('changes only roster customers that are not samples', () => {
    expect(CHANGEABLE_IDS.length).toBe(SIMULATED_ROSTER.length - (SAMPLES.length - 1));
    expect(CHANGEABLE_IDS.some((id) => SAMPLES.includes(id as (typeof SAMPLES)[number]))).toBe(false);
  });

  it('changes some roster customer within a bounded wait, and never a sample customer', async () => {
    simulator = await startSimulator({ changes: { everyMs: 20, seed: 1 } });
    const ids = [...SAMPLES, ...CHANGEABLE_IDS];
    const first = await answers(simulator, ids);
    const deadline = Date.now() + WAIT_MS;
    let changed: string[] = [];
    while (changed.length === 0 && Date.now() < deadline) {
      await sleep(50);
      changed = differing(first, await answers(simulator, ids));
    }
    expect(changed.length).toBeGreaterThan(0);
    expect(simulator.changesMade()).toBeGreaterThan(0);
    // A few more rounds of changes: the samples still answer as at first.
    await sleep(200);
    const later = await answers(simulator, ids);
    expect(differing(first, later).filter((key) => SAMPLES.some((id) => key.startsWith(id)))).toEqual([]);
    expect(differing(first, later).every((key) => CHANGEABLE_IDS.some((id) => key.startsWith(id)))).toBe(true);
  });

  it('changes the same customers the same way for the same seed, and stops at the bound', async () => {
    // The answers before any change: a simulator without changes gives them.
    const fixed = await startSimulator();
    const first = await answers(fixed, CHANGEABLE_IDS);
    await fixed.close();
    const run = async () => {
      const started = await startSimulator({ changes: { everyMs: 5, seed: 7, max: 12 } });
      try {
        const deadline = Date.now() + WAIT_MS;
        while (started.changesMade() < 12 && Date.now() < deadline) await sleep(20);
        await sleep(50);
        expect(started.changesMade()).toBe(12);
        const after = await answers(started, CHANGEABLE_IDS);
        // Dates are when the change happened; which customers changed, and what into, is the seed's.
        const strip = (text: string | undefined) => text?.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<date>');
        return differing(first, after).map((key) => `${key} ${strip(after.get(key))}`);
      } finally {
        await started.close();
      }
    };
    const once = await run();
    expect(once.length).toBeGreaterThan(0);
    expect(await run()).toEqual(once);
  });

  it('changes nothing without the option', async () => {
    simulator = await startSimulator();
    const ids = [...SAMPLES, ...CHANGEABLE_IDS];
    const first = await answers(simulator, ids);
    await sleep(200);
    expect(simulator.changesMade()).toBe(0);
    expect(differing(first, await answers(simulator, ids))).toEqual([]);
  });
});
