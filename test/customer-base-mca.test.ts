// The customer base's MCA acceptance: a snapshot written before the
// agreements were read still loads (its customers unknown until read), an
// accepted MCA is settled (a pass re-reads no MCA fact of an accepted
// customer, and both of every customer not accepted), the gauge counts the
// snapshot by acceptance, a move of the current template drops every cached
// answer, and a confirmation through the gateway shows at once in customer,
// customerBase and the CSV.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firstPassEnded } from './support/customer-base';
import { DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  createHold,
  customerListHandler,
  type Hold,
  json,
  type RecordedCall,
  rosterItem,
  startUpstream,
  type Upstream,
} from './support/upstream';

const ROSTER = [1, 2, 3, 4].map(rosterItem);
const [signed, attested, neither, oldFormat] = ROSTER.map((item) => item.id) as [string, string, string, string];
/** The list the stand-in answers: the whole roster unless a test lists fewer. */
let list = customerListHandler(ROSTER);
/** Attestations confirmed through the gateway, per customer. */
let confirmed = new Map<string, unknown[]>();
let hold: Hold | undefined;

function answer(call: RecordedCall, res: ServerResponse) {
  if (call.resource === 'customers') return list(call, res, 1);
  if (call.resource === 'qualifications') return json(res, 200, []);
  if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
  if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus') {
    return json(res, 200, { isSigned: call.customerId === signed });
  }
  if (call.resource === 'agreements' && call.method === 'POST') {
    const created = { ...JSON.parse(call.body), userId: 'partner-user' };
    confirmed.set(call.customerId ?? '', [...(confirmed.get(call.customerId ?? '') ?? []), created]);
    return json(res, 201, created);
  }
  if (call.resource === 'agreements') {
    const own = call.customerId === attested ? [ATTESTATION] : [];
    return json(res, 200, agreementsBody([...own, ...(confirmed.get(call.customerId ?? '') ?? [])]));
  }
  return json(res, 404, { code: 600008, description: 'Not found' });
}

let entra: EntraStandIn;
let upstream: Upstream;
let reader: string;
let running: RunningGateway[] = [];
const dir = mkdtempSync(join(tmpdir(), 'customer-base-mca-'));

beforeAll(async () => {
  upstream = await startUpstream((call, res, attempt) =>
    hold && call.resource === 'customers' ? hold.handler(answer)(call, res, attempt) : answer(call, res),
  );
  entra = await startEntra();
  reader = await entra.signCallerToken();
});
afterAll(async () => {
  await entra.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  upstream.calls.length = 0;
  confirmed = new Map();
  hold = undefined;
  list = customerListHandler(ROSTER);
  entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);
});
afterEach(async () => {
  hold?.open();
  for (const gw of running) await gw.close();
  running = [];
});

async function syncing(overrides: Record<string, unknown> = {}) {
  const gw = await startSignedInGateway(upstream.url, signInSettings(entra), {
    ratePerMinute: 600_000,
    syncRatePerMinute: 300_000,
    ...overrides,
  });
  running.push(gw);
  return gw;
}

const ask = async <T>(gw: RunningGateway, query: string, token = reader) => {
  const { body } = await gw.query<T>(query, undefined, bearer(token));
  expect(body.errors).toBeUndefined();
  return body.data as T;
};

/** Customer n as the snapshot stores its profile. */
const stored = (n: number) => ({
  id: customerId(n),
  companyName: `Company 00${n}`,
  domain: `company${n}.onmicrosoft.com`,
  relationshipToPartner: 'reseller',
});
/** ATTESTATION as the snapshot stores it: parsed, its date normalised. */
const STORED_ATTESTATION = {
  dateAgreed: '2019-08-26T00:00:00.000Z',
  templateId: ATTESTATION.templateId,
  agreementLink: ATTESTATION.agreementLink,
  primaryContact: ATTESTATION.primaryContact,
};

const SUMMARY = '{ customerBase { summary { mcaAccepted mcaNotAccepted mcaAcceptanceUnknown } } }';
type SummaryData = { customerBase: { summary: Record<string, number> } };

describe('MCA acceptance in the customer base', () => {
  it('loads a snapshot written before the agreements were read, and re-reads only what can still change', async () => {
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    const read = { qualifications: [], qualificationsAt: twoHoursAgo, mcaAt: twoHoursAgo };
    const snapshotPath = join(dir, 'settled.json');
    writeFileSync(
      snapshotPath,
      JSON.stringify({
        version: 1,
        state: { listedAt: twoHoursAgo, lastPassCompletedAt: twoHoursAgo },
        customers: [
          { ...stored(1), ...read, mca: true, agreements: [], agreementsAt: twoHoursAgo },
          { ...stored(2), ...read, mca: false, agreements: [STORED_ATTESTATION], agreementsAt: twoHoursAgo },
          { ...stored(3), ...read, mca: false, agreements: [], agreementsAt: twoHoursAgo },
          // Written before the agreements were read: no agreements, no agreementsAt.
          { ...stored(4), ...read, mca: false },
        ],
      }),
    );
    hold = createHold();
    const gw = await syncing({ snapshotPath });
    await hold.untilHeld(1);
    // Before the pass reads anything: the old customer's acceptance is unknown.
    expect((await ask<SummaryData>(gw, SUMMARY)).customerBase.summary).toEqual({
      mcaAccepted: 2,
      mcaNotAccepted: 1,
      mcaAcceptanceUnknown: 1,
    });
    // The snapshot answers mcaAcceptance with no call: the template it has not read yet is current for none.
    const held = await ask<{
      customerBase: { customers: { nodes: Array<{ id: string; mcaAcceptance: unknown }> } };
    }>(
      gw,
      '{ customerBase { customers(first: 10) { nodes { id mcaAcceptance { accepted directlySigned attestations { templateId currentTemplate } } } } } }',
    );
    expect(Object.fromEntries(held.customerBase.customers.nodes.map((node) => [node.id, node.mcaAcceptance]))).toEqual({
      [signed]: { accepted: true, directlySigned: true, attestations: [] },
      [attested]: {
        accepted: true,
        directlySigned: false,
        attestations: [{ templateId: STORED_ATTESTATION.templateId, currentTemplate: false }],
      },
      [neither]: { accepted: false, directlySigned: false, attestations: [] },
      [oldFormat]: null,
    });
    expect(upstream.calls.filter((call) => call.resource !== 'customers')).toEqual([]);
    hold.open();
    await firstPassEnded(gw, bearer(reader));
    for (let tries = 0; tries < 200; tries++) {
      const sync = await ask<{ customerBase: { sync: { lastPassCompletedAt: string } } }>(
        gw,
        '{ customerBase { sync { lastPassCompletedAt } } }',
      );
      if (Date.parse(sync.customerBase.sync.lastPassCompletedAt) > twoHoursAgo) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const readOf = (resource: string) =>
      upstream.calls
        .filter((call) => call.resource === resource)
        .map((call) => call.customerId)
        .sort();
    expect(readOf('qualifications')).toEqual([signed, attested, neither, oldFormat].sort());
    // Settled: nothing of the MCA is read again for the two accepted customers.
    expect(readOf('directSignedMicrosoftCustomerAgreementStatus')).toEqual([neither, oldFormat].sort());
    expect(readOf('agreements')).toEqual([neither, oldFormat].sort());
    expect((await ask<SummaryData>(gw, SUMMARY)).customerBase.summary).toEqual({
      mcaAccepted: 2,
      mcaNotAccepted: 2,
      mcaAcceptanceUnknown: 0,
    });
    const sync = await ask<{ customerBase: { sync: Record<string, number> } }>(
      gw,
      '{ customerBase { sync { customersKnown customersSynced } } }',
    );
    expect(sync.customerBase.sync).toEqual({ customersKnown: 4, customersSynced: 4 });
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('gateway_customer_base_customers{mca="accepted"} 2');
    expect(metrics).toContain('gateway_customer_base_customers{mca="not_accepted"} 2');
    expect(metrics).toContain('gateway_customer_base_customers{mca="unknown"} 0');
  });

  // A template moved from none read yet, and from another template: every cached answer is dropped, even a page of
  // a customer the pass did not read (settled, read within the hour), whose attestation is now of the current one.
  it.each([
    ['none read yet', {}],
    ['another template', { agreementTemplateId: 'an-earlier-template' }],
  ])('answers afresh a cached page when the current template moves from %s', async (_from, template) => {
    const now = Date.now();
    const twoHoursAgo = now - 2 * 3_600_000;
    const snapshotPath = join(dir, `template-${Object.keys(template).length}.json`);
    writeFileSync(
      snapshotPath,
      JSON.stringify({
        version: 1,
        state: { listedAt: twoHoursAgo, lastPassCompletedAt: twoHoursAgo, ...template },
        customers: [
          // Attested, and every read fresh: the pass reads nothing of it.
          {
            ...stored(2),
            qualifications: [],
            qualificationsAt: now,
            mca: false,
            mcaAt: now,
            agreements: [STORED_ATTESTATION],
            agreementsAt: now,
          },
          // Due: its MCA's reads make the pass read the current template.
          {
            ...stored(3),
            qualifications: [],
            qualificationsAt: twoHoursAgo,
            mca: false,
            mcaAt: twoHoursAgo,
            agreements: [],
            agreementsAt: twoHoursAgo,
          },
        ],
      }),
    );
    list = customerListHandler(ROSTER.slice(1, 3));
    hold = createHold();
    const gw = await syncing({ snapshotPath });
    await hold.untilHeld(1);
    const PAGE =
      '{ customerBase { customers(where: { companyNameStartsWith: "Company 002" }) { nodes { id mcaAcceptance { attestations { currentTemplate } } } } } }';
    type PageData = {
      customerBase: { customers: { nodes: Array<{ mcaAcceptance: { attestations: unknown[] } }> } };
    };
    const currentOf = (data: PageData) => data.customerBase.customers.nodes[0]?.mcaAcceptance.attestations;
    expect(currentOf(await ask<PageData>(gw, PAGE))).toEqual([{ currentTemplate: false }]);
    const { body } = await gw.query(PAGE, undefined, bearer(reader));
    expect((body as { extensions?: { responseCache?: unknown } }).extensions?.responseCache).toEqual({ hit: true });

    hold.open();
    for (let tries = 0; tries < 400; tries++) {
      const sync = await ask<{ customerBase: { sync: { lastPassCompletedAt: string } } }>(
        gw,
        '{ customerBase { sync { lastPassCompletedAt } } }',
      );
      if (Date.parse(sync.customerBase.sync.lastPassCompletedAt) > twoHoursAgo) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(upstream.calls.filter((call) => call.resource === 'agreement_metadata')).toHaveLength(1);
    expect(upstream.calls.filter((call) => call.customerId === attested)).toEqual([]);
    expect(currentOf(await ask<PageData>(gw, PAGE))).toEqual([{ currentTemplate: true }]);
  });

  it('shows a confirmation through the gateway at once in customer, customerBase and the CSV', async () => {
    const gw = await syncing();
    await firstPassEnded(gw, bearer(reader));
    expect((await ask<SummaryData>(gw, SUMMARY)).customerBase.summary).toEqual({
      mcaAccepted: 2,
      mcaNotAccepted: 2,
      mcaAcceptanceUnknown: 0,
    });
    const writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
    const before = upstream.calls.length;
    const confirmation = await gw.query<{
      confirmCustomerAgreement: { customer: { mcaAcceptance: { accepted: boolean } } };
    }>(
      `mutation { confirmCustomerAgreement(input: { customerId: "${neither}", dateAgreed: "2026-01-02T03:04:05Z", primaryContact: { firstName: "Ana", lastName: "Lee", email: "ana@example.com" } }) { customer { mcaAcceptance { accepted } } } }`,
      undefined,
      bearer(writer),
    );
    expect(confirmation.body.errors).toBeUndefined();
    expect(confirmation.body.data?.confirmCustomerAgreement.customer.mcaAcceptance.accepted).toBe(true);
    // The POST and the payload's fresh reads; the template was read by the sync's pass already.
    expect(upstream.calls.slice(before).map((call) => `${call.method} ${call.resource}`)).toEqual([
      'POST agreements',
      'GET directSignedMicrosoftCustomerAgreementStatus',
      'GET agreements',
    ]);

    expect((await ask<SummaryData>(gw, SUMMARY)).customerBase.summary).toEqual({
      mcaAccepted: 3,
      mcaNotAccepted: 1,
      mcaAcceptanceUnknown: 0,
    });
    const node = await ask<{ customerBase: { customers: { nodes: Array<Record<string, unknown>> } } }>(
      gw,
      '{ customerBase { customers(where: { mcaAccepted: false }) { nodes { id } } } }',
    );
    expect(node.customerBase.customers.nodes).toEqual([{ id: oldFormat }]);
    const csv = await (
      await fetch(gw.url.replace('/graphql', '/exports/customers.csv?mcaAccepted=true&mcaDirectlySigned=false'), {
        headers: bearer(reader),
      })
    ).text();
    const rows = csv.split('\r\n').slice(1, -1);
    expect(rows.map((row) => row.slice(0, 36)).sort()).toEqual([attested, neither].sort());
    expect(rows.find((row) => row.startsWith(neither))?.endsWith(',true,2026-01-02T03:04:05.000Z')).toBe(true);
  });

  it('files a confirmation among the stored attestations by date, records MCA_ACCEPTED as GATEWAY, and confirms a customer it does not hold', async () => {
    const gw = await syncing();
    await firstPassEnded(gw, bearer(reader));
    const writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
    const confirm = async (id: string, dateAgreed: string) => {
      const { body } = await gw.query(
        `mutation { confirmCustomerAgreement(input: { customerId: "${id}", dateAgreed: "${dateAgreed}", primaryContact: { firstName: "Ana", lastName: "Lee", email: "ana@example.com" } }) { attestation { dateAgreed } } }`,
        undefined,
        bearer(writer),
      );
      return body;
    };
    // Older than the attestation the snapshot holds: it goes after it.
    expect((await confirm(attested, '2019-05-01T00:00:00Z')).errors).toBeUndefined();
    expect((await confirm(neither, '2026-01-02T03:04:05Z')).errors).toBeUndefined();
    // A customer the snapshot does not hold (not listed): confirmed all the same, and the snapshot is left alone.
    const unlisted = customerId(9);
    expect(await confirm(unlisted, '2026-01-02T03:04:05Z')).toEqual({
      data: { confirmCustomerAgreement: { attestation: { dateAgreed: '2026-01-02T03:04:05.000Z' } } },
    });

    const data = await ask<{
      customerBase: {
        customers: {
          nodes: Array<{
            id: string;
            mcaAcceptance: { attestations: Array<{ dateAgreed: string; currentTemplate: boolean }> };
          }>;
        };
        changes: { nodes: Array<{ kind: string; source: string; customerId: string }> };
      };
    }>(
      gw,
      '{ customerBase { customers(first: 100) { nodes { id mcaAcceptance { attestations { dateAgreed currentTemplate } } } } changes { nodes { kind source customerId } } } }',
    );
    const dates = (id: string) =>
      data.customerBase.customers.nodes
        .find((node) => node.id === id)
        ?.mcaAcceptance.attestations.map((attestation) => attestation.dateAgreed);
    expect(dates(attested)).toEqual(['2019-08-26T00:00:00.000Z', '2019-05-01T00:00:00.000Z']);
    // The pass read the current template into the snapshot: every attestation here is of it.
    expect(
      data.customerBase.customers.nodes.flatMap((node) =>
        node.mcaAcceptance.attestations.map((a) => a.currentTemplate),
      ),
    ).toEqual([true, true, true]);
    expect(dates(neither)).toEqual(['2026-01-02T03:04:05.000Z']);
    expect(data.customerBase.customers.nodes.map((node) => node.id).sort()).toEqual(
      ROSTER.map((item) => item.id).sort(),
    );
    expect(data.customerBase.changes.nodes).toEqual([{ kind: 'MCA_ACCEPTED', source: 'GATEWAY', customerId: neither }]);
  });
});
