// `npm start` with nothing configured shows the whole product: the compiled build, run as a child process the way
// an operator runs it, signs in to the simulator's Entra, syncs the customer base within seconds, answers
// `customerBase` and the CSV export without a token, says so in its banner, and lets the simulator's customers
// change (SIMULATOR_CHANGES=false: not).

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../src/simulator/simulator';
import { startGatewayProcess as start, stopGatewayProcess as stop } from './support/process';

const SYNC_WAIT_MS = 20_000;

interface Answer {
  data?: {
    customerBase: {
      sync: { customersKnown: number; customersSynced: number };
      summary: { customers: number; mcaAccepted: number };
    };
  };
  errors?: unknown[];
}

const ask = async (port: string): Promise<Answer> =>
  (await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: '{ customerBase { sync { customersKnown customersSynced } summary { customers mcaAccepted } } }',
    }),
  }).then((response) => response.json())) as Answer;

describe('npm start with nothing configured', () => {
  it('signs in to the simulator, syncs the customer base within seconds and serves it and its export tokenless', async () => {
    const gateway = start({ PORT: '0' }, { compiled: true });
    const [, port = ''] = await gateway.waitForOutput(/GraphiQL: http:\/\/localhost:(\d+)\/graphql/);
    await gateway.waitForOutput(new RegExp(SAMPLE_CUSTOMERS.doesNotExist));
    const banner = gateway.stdout();
    expect(banner).toContain('SIMULATED DATA');
    expect(banner).toContain("PARTNER_CENTER_AUTH=app-user: the gateway signs in to the simulator's Entra itself.");
    expect(banner).toMatch(/Customer-base sync: on, \d+ calls a minute/);
    expect(banner).toContain('Simulated changes: a few customers change every ~15 s');
    expect(banner).toContain(`http://localhost:${port}/customer-base`);
    expect(banner).toContain(`http://localhost:${port}/exports/customers.csv`);

    const deadline = Date.now() + SYNC_WAIT_MS;
    let answer = await ask(port);
    const synced = (a: Answer) =>
      a.data !== undefined &&
      a.data.customerBase.sync.customersKnown > 0 &&
      a.data.customerBase.sync.customersSynced === a.data.customerBase.sync.customersKnown;
    while (!synced(answer) && Date.now() < deadline) {
      await sleep(250);
      answer = await ask(port);
    }
    expect(answer.errors).toBeUndefined();
    expect(synced(answer)).toBe(true);
    expect(answer.data?.customerBase.summary.customers).toBe(answer.data?.customerBase.sync.customersKnown);
    expect(answer.data?.customerBase.summary.mcaAccepted).toBeGreaterThan(0);

    const csv = await fetch(`http://127.0.0.1:${port}/exports/customers.csv`);
    expect(csv.status).toBe(200);
    expect((await csv.text()).includes(SAMPLE_CUSTOMERS.approvedEducation)).toBe(true);
    expect(await stop(gateway.child)).toBe(0);
  });

  it('says the changes are off with SIMULATOR_CHANGES=false', async () => {
    const gateway = start({ PORT: '0', SIMULATOR_CHANGES: 'false' }, { compiled: true });
    await gateway.waitForOutput(new RegExp(SAMPLE_CUSTOMERS.doesNotExist));
    expect(gateway.stdout()).toContain('Simulated changes: off (SIMULATOR_CHANGES=false).');
    expect(gateway.stdout()).toMatch(/Customer-base sync: on/);
    expect(await stop(gateway.child)).toBe(0);
  });

  it('keeps the sync off, and says so, when PARTNER_CENTER_AUTH=forward is given', async () => {
    const gateway = start({ PORT: '0', PARTNER_CENTER_AUTH: 'forward' }, { compiled: true });
    await gateway.waitForOutput(new RegExp(SAMPLE_CUSTOMERS.doesNotExist));
    expect(gateway.stdout()).toContain('Customer-base sync: off');
    expect(gateway.stdout()).toContain('PARTNER_CENTER_AUTH=forward');
    expect(await stop(gateway.child)).toBe(0);
  });
});
