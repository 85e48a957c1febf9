// GET /customer-base: the page for the partner's people. Over HTTP, a reader
// gets the HTML with a strict CSP and no-store; no token is a 401, no read
// role a 403 (MISSING_ROLE), the sync off a 404 (SYNC_NOT_ENABLED), a POST a
// 405; the compiled build serves it too. In headless Chromium (every other
// origin blocked, the caller's token added by a route as an authenticating
// proxy would) the page shows the summary's numbers, the customers whose MCA
// is not accepted with paging, links to the CSV export, and a change made
// through the gateway arriving live, without a reload, and its stream
// resumed from its last cursor after a cut connection. With
// PAGE_SCREENSHOT=docs/customer-base-page.png it also writes the docs'
// screenshot.

import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../src/page/page';
import { launchChromium } from './support/browser';
import { type SyncedGateway, startSyncedGateway } from './support/customer-base';
import { customerId, type RunningGateway, startGateway } from './support/gateway';
import { startGatewayProcess, stopGatewayProcess } from './support/process';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  type CustomerItem,
  customerListHandler,
  json,
  type RecordedCall,
} from './support/upstream';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Generous: Chromium shares two cores with the other test files. */
const WAIT = { timeout: 90_000 };

const COMPANIES = [
  'Adatum Corporation',
  'Alpine Ski House',
  'Bellows College',
  'Best For You Organics',
  'Blue Yonder Airlines',
  'City Power & Light',
  'Coho Winery',
  'Contoso Pharmaceuticals',
  'Consolidated Messenger',
  'Fabrikam Residences',
  'First Up Consultants',
  'Fourth Coffee',
  'Graphic Design Institute',
  'Humongous Insurance',
  'Lamna Healthcare',
  'Liberty Delightful Sinful Bakery',
  'Litware Inc.',
  'Lucerne Publishing',
  'Margie’s Travel',
  'Munson’s Pickles and Preserves',
  'Nod Publishers',
  'Northwind Traders',
  'Proseware Inc.',
  'Relecloud',
  'School of Fine Art',
  'Southridge Video',
  'Tailspin Toys',
  'Tailwind Traders',
  'Trey Research',
  'The Phone Company',
  'VanArsdel Ltd.',
  'Wide World Importers',
  'Wingtip Toys',
  'Woodgrove Bank',
  'World Wide Importers',
  'Alpine Ski School',
  'Bellows Academy',
  'Coho Vineyard',
  'Fabrikam Fiber',
  'Northwind Electric',
];
const ROSTER: CustomerItem[] = COMPANIES.map((name, index) => {
  const n = index + 1;
  return {
    id: customerId(n),
    companyProfile: {
      tenantId: customerId(n),
      domain: `${name.toLowerCase().replace(/[^a-z]+/g, '')}.example`,
      companyName: name,
    },
    relationshipToPartner: n % 4 === 0 ? 'advisor' : 'reseller',
  };
});
const numberOf = (id: string | undefined) => Number.parseInt((id ?? '').slice(-12), 16);
const VETTING = ['Approved', 'InReview', 'Denied'];

/**
 * Every fifth customer signed the MCA directly, every seventh was attested by the partner, every eleventh has no
 * reseller relationship (unknown), the rest have not accepted it; every third holds Education (approved, in review,
 * denied in turn), every eighth a state-owned entity qualification without status. Attestations and qualifications
 * POSTed are kept.
 */
function partnerCenter() {
  const list = customerListHandler(ROSTER);
  const attested = new Map<number, Array<Record<string, unknown>>>();
  const added = new Map<number, Array<Record<string, unknown>>>();
  for (let n = 7; n <= ROSTER.length; n += 7) if (n % 5 !== 0) attested.set(n, [ATTESTATION]);
  return (call: RecordedCall, res: ServerResponse) => {
    if (call.resource === 'customers') return list(call, res, 1);
    const n = numberOf(call.customerId);
    if (call.resource === 'qualifications' && call.method === 'POST') {
      const created = { qualification: (JSON.parse(call.body) as { qualification: string }).qualification };
      added.set(n, [...(added.get(n) ?? []), created]);
      return json(res, 201, created);
    }
    if (call.resource === 'qualifications') {
      const held: Array<Record<string, unknown>> = [...(added.get(n) ?? [])];
      if (n % 3 === 0) held.push({ qualification: 'Education', vettingStatus: VETTING[(n / 3) % 3] });
      if (n % 8 === 0) held.push({ qualification: 'StateOwnedEntity' });
      return json(res, 200, held);
    }
    if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
    if (n % 11 === 0 && n % 5 !== 0 && n % 7 !== 0) {
      return json(res, 403, { code: 20002, description: 'No reseller relationship' });
    }
    if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus')
      return json(res, 200, { isSigned: n % 5 === 0 });
    if (call.resource === 'agreements') {
      const held = attested.get(n) ?? [];
      attested.set(n, held);
      if (call.method === 'GET') return json(res, 200, agreementsBody(held));
      const created = {
        ...(JSON.parse(call.body) as Record<string, unknown>),
        agreementLink: CURRENT_TEMPLATE.agreementLink,
      };
      held.push(created);
      return json(res, 201, created);
    }
    return json(res, 404, {});
  };
}

interface Summary {
  customers: number;
  mcaAccepted: number;
  mcaNotAccepted: number;
  mcaAcceptanceUnknown: number;
  qualifications: Array<{ kind: string; vettingStatus: string | null; count: number }>;
}

let started: SyncedGateway;
let gw: RunningGateway;
let pageUrl: string;
const reader = () => ({ authorization: `Bearer ${started.caller}` });

beforeAll(async () => {
  started = await startSyncedGateway(partnerCenter());
  gw = started.gw;
  pageUrl = gw.url.replace('/graphql', '/customer-base');
}, 60_000);
afterAll(async () => {
  await started?.close();
});

async function summary(): Promise<Summary> {
  const { body } = await gw.query<{ customerBase: { summary: Summary } }>(
    '{ customerBase { summary { customers mcaAccepted mcaNotAccepted mcaAcceptanceUnknown qualifications { kind vettingStatus count } } } }',
    undefined,
    reader(),
  );
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.customerBase.summary;
}

async function notAccepted(after: string | null = null) {
  const { body } = await gw.query<{
    customerBase: {
      customers: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    };
  }>(
    'query ($after: String) { customerBase { customers(first: 20, after: $after, where: { mcaAccepted: false }) { nodes { id } pageInfo { hasNextPage endCursor } } } }',
    { after },
    reader(),
  );
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.customerBase.customers;
}

/**
 * A loopback relay to the gateway whose connections the test can cut, as a restarting proxy or a network drop
 * would; it records the `after` of each customerChanges subscription passed on.
 */
async function startRelay(target: URL) {
  const afters: Array<string | null> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (String(req.headers.accept).includes('text/event-stream')) {
        afters.push(
          (JSON.parse(body.toString('utf8')) as { variables?: { after?: string | null } }).variables?.after ?? null,
        );
      }
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    subscriptions: () => [...afters],
    cut: () => server.closeAllConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('GET /customer-base over HTTP', () => {
  it('answers a reader with the page: HTML, a strict CSP and no-store', async () => {
    const response = await fetch(pageUrl, { headers: reader() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(PAGE_CSP);
    expect(csp).toMatch(/^default-src 'self'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/);
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    expect(html).toContain('<h1>Customer base</h1>');
    // Everything it needs is in the page itself: no script, style or image from anywhere else.
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*stylesheet|https?:\/\//);
  });

  it('refuses a request without a token with 401, and a token without the read role with 403 MISSING_ROLE', async () => {
    const missing = await fetch(pageUrl);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]?.extensions).toEqual({
      code: 'UNAUTHENTICATED',
    });
    const noRole = await started.entra.signCallerToken({ roles: [] });
    const refused = await fetch(pageUrl, { headers: { authorization: `Bearer ${noRole}` } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect(((await refused.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'MISSING_ROLE',
    });
  });

  it('answers 405 to a POST', async () => {
    const response = await fetch(pageUrl, {
      method: 'POST',
      headers: { ...reader(), 'content-type': 'application/json' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
  });

  it('answers 404 SYNC_NOT_ENABLED while the sync is off', async () => {
    const off = await startGateway(started.upstream.url, { simulator: true });
    try {
      const response = await fetch(off.url.replace('/graphql', '/customer-base'));
      expect(response.status).toBe(404);
      const body = (await response.json()) as { errors: Array<{ message: string; extensions: unknown }> };
      expect(body.errors[0]?.extensions).toEqual({ code: 'SYNC_NOT_ENABLED' });
      expect(body.errors[0]?.message).toContain('SYNC_RATE_PER_MINUTE');
    } finally {
      await off.close();
    }
  });
});

describe('the compiled build', () => {
  it('serves the page from dist/ too: in simulator mode, syncing, to the development user with no token', async () => {
    const gateway = startGatewayProcess(
      {
        PORT: '0',
        PARTNER_CENTER_AUTH: 'app-user',
        PARTNER_CENTER_RATE_PER_MINUTE: '6000',
        SYNC_RATE_PER_MINUTE: '3000',
      },
      { compiled: true },
    );
    const base = await gateway.listening();
    const response = await fetch(`${base}/customer-base`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(await response.text()).toContain('<h1>Customer base</h1>');
    expect(await stopGatewayProcess(gateway.child)).toBe(0);
  });
});

describe('the customer-base page in a browser', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    page = await openPage(new URL(gw.url).origin);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** A tab where every other origin is blocked and recorded, and `origin`'s requests carry the reader's token. */
  async function openPage(origin: string): Promise<Page> {
    const opened = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await opened.route('**/*', (route) => {
      const request = route.request();
      const url = new URL(request.url());
      if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && !LOOPBACK.has(url.hostname)) {
        foreign.push(url.href);
        return route.abort('blockedbyclient');
      }
      // As an authenticating proxy in front of the gateway would: the page itself holds no token.
      if (url.origin === origin) {
        return route.continue({ headers: { ...request.headers(), authorization: `Bearer ${started.caller}` } });
      }
      return route.continue();
    });
    return opened;
  }

  const barCount = (name: string) => page.locator(`[data-bar="${name}"] .count`).innerText();

  it('shows the summary as bars with the numbers of customerBase.summary', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(pageUrl, { waitUntil: 'load', ...WAIT });
    await page.locator('[data-bar="mca-accepted"]').waitFor(WAIT);
    const expected = await summary();
    expect(expected.mcaNotAccepted).toBeGreaterThan(20);
    expect(await page.locator('#customer-count').innerText()).toBe(String(expected.customers));
    expect(await barCount('mca-accepted')).toBe(String(expected.mcaAccepted));
    expect(await barCount('mca-not-accepted')).toBe(String(expected.mcaNotAccepted));
    expect(await barCount('mca-unknown')).toBe(String(expected.mcaAcceptanceUnknown));
    expect(await page.locator('[data-bar="mca-not-accepted"] [role="img"]').getAttribute('aria-label')).toBe(
      `Not accepted: ${expected.mcaNotAccepted} of ${expected.customers} customers (${Math.round((expected.mcaNotAccepted / expected.customers) * 100)}%)`,
    );
    expect(expected.qualifications.length).toBeGreaterThanOrEqual(4);
    const shown = await page
      .locator('#qualification-bars .bar')
      .evaluateAll((bars) =>
        bars.map((bar) => [(bar as HTMLElement).dataset.bar, bar.querySelector('.count')?.textContent]),
      );
    expect(shown).toEqual(
      expected.qualifications.map((item) => [`${item.kind}:${item.vettingStatus ?? 'null'}`, String(item.count)]),
    );
    expect(await page.locator('#sync-enabled').innerText()).toBe('Yes');
    expect(await page.locator('#sync-known').innerText()).toBe(String(ROSTER.length));
    // Nothing the CSP refused, nothing the script threw.
    expect(errors).toEqual([]);
  });

  it('lists exactly the customers whose MCA is not accepted, a page of 20 at a time', async () => {
    const first = await notAccepted();
    const rowIds = () =>
      page.locator('#not-accepted tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.id));
    await expect.poll(rowIds, WAIT).toEqual(first.nodes.map((node) => node.id));
    expect(await page.locator('#not-accepted thead th').allInnerTexts()).toEqual([
      'Customer',
      'Domain',
      'Relationship',
      'Signed directly',
      'Synced',
    ]);
    expect(await page.locator('#previous').isDisabled()).toBe(true);

    const second = await notAccepted(first.pageInfo.endCursor);
    await page.locator('#next').click();
    await expect.poll(rowIds, WAIT).toEqual(second.nodes.map((node) => node.id));
    expect(await page.locator('#page-number').innerText()).toBe('Page 2');
    expect(await page.locator('#next').isDisabled()).toBe(!second.pageInfo.hasNextPage);

    await page.locator('#previous').click();
    await expect.poll(rowIds, WAIT).toEqual(first.nodes.map((node) => node.id));
    expect(await page.locator('#page-number').innerText()).toBe('Page 1');
  });

  it('links to the CSV export of what it shows and of the whole base', async () => {
    const origin = new URL(gw.url).origin;
    expect(await page.locator('#csv-not-accepted').evaluate((link) => (link as HTMLAnchorElement).href)).toBe(
      `${origin}/exports/customers.csv?mcaAccepted=false`,
    );
    expect(await page.locator('#csv-all').evaluate((link) => (link as HTMLAnchorElement).href)).toBe(
      `${origin}/exports/customers.csv`,
    );
  });

  it('shows a change made through the gateway without a reload, and reads the numbers again', async () => {
    const customer = customerId(1);
    const rowIds = () =>
      page.locator('#not-accepted tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.id));
    expect(await rowIds()).toContain(customer);
    await expect.poll(() => page.locator('#live-state .live.on').count(), WAIT).toBe(1);
    const before = await summary();
    const writer = await started.entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
    const { body } = await gw.query(
      'mutation ($input: ConfirmCustomerAgreementInput!) { confirmCustomerAgreement(input: $input) { customer { mcaAcceptance { accepted } } } }',
      {
        input: {
          customerId: customer,
          dateAgreed: new Date(Date.now() - 60_000).toISOString(),
          primaryContact: { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com' },
        },
      },
      { authorization: `Bearer ${writer}` },
    );
    expect(body.errors).toBeUndefined();
    const arrived = page.locator(`#changes li[data-kind="MCA_ACCEPTED"][data-customer-id="${customer}"]`);
    await expect.poll(() => arrived.count(), WAIT).toBe(1);
    expect(await arrived.innerText()).toContain('Adatum Corporation');
    expect(await arrived.innerText()).toContain('made through this gateway');
    // The newest first.
    expect(await page.locator('#changes li').first().getAttribute('data-customer-id')).toBe(customer);
    const after = await summary();
    expect(after.mcaAccepted).toBe(before.mcaAccepted + 1);
    await expect.poll(() => barCount('mca-accepted'), WAIT).toBe(String(after.mcaAccepted));
    await expect.poll(() => barCount('mca-not-accepted'), WAIT).toBe(String(after.mcaNotAccepted));
    await expect.poll(rowIds, WAIT).not.toContain(customer);

    const added = await gw.query(
      'mutation ($input: AddCustomerQualificationInput!) { addCustomerQualification(input: $input) { qualification { kind } } }',
      { input: { customerId: customerId(2), qualification: 'STATE_OWNED_ENTITY' } },
      { authorization: `Bearer ${writer}` },
    );
    expect(added.body.errors).toBeUndefined();
    const qualified = page.locator(`#changes li[data-kind="QUALIFICATION_ADDED"][data-customer-id="${customerId(2)}"]`);
    await expect.poll(() => qualified.count(), WAIT).toBe(1);
    expect(await qualified.innerText()).toContain('Alpine Ski House');
    expect(await qualified.innerText()).toContain('StateOwnedEntity · made through this gateway');
    expect(await page.locator('#changes li').first().getAttribute('data-customer-id')).toBe(customerId(2));
    const counted = (await summary()).qualifications.find((item) => item.kind === 'STATE_OWNED_ENTITY')?.count;
    await expect.poll(() => barCount('STATE_OWNED_ENTITY:null'), WAIT).toBe(String(counted));
    if (process.env.PAGE_SCREENSHOT) await page.screenshot({ path: process.env.PAGE_SCREENSHOT });
  });

  it('reconnects after its stream breaks, from its last cursor: no change missed, none twice', async () => {
    const relay = await startRelay(new URL(gw.url));
    try {
      const tab = await openPage(relay.url);
      await tab.goto(`${relay.url}/customer-base`, { waitUntil: 'load', ...WAIT });
      await expect.poll(() => tab.locator('#live-state .live.on').count(), WAIT).toBe(1);
      const cursorsShown = () =>
        tab.locator('#changes li').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.cursor));
      const before = await cursorsShown();
      expect(before).toHaveLength(2);

      relay.cut();
      // Recorded while the page has no stream: it must come with the replay from the page's last cursor.
      const writer = await started.entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
      const added = await gw.query(
        'mutation ($input: AddCustomerQualificationInput!) { addCustomerQualification(input: $input) { qualification { kind } } }',
        { input: { customerId: customerId(4), qualification: 'STATE_OWNED_ENTITY' } },
        { authorization: `Bearer ${writer}` },
      );
      expect(added.body.errors).toBeUndefined();
      await expect.poll(() => tab.locator(`#changes li[data-customer-id="${customerId(4)}"]`).count(), WAIT).toBe(1);
      const after = await cursorsShown();
      expect(after.slice(1)).toEqual(before);
      expect(relay.subscriptions()).toEqual([before[0], before[0]]);
      await tab.close();
    } finally {
      await relay.close();
    }
  });

  it('asked no other origin for anything', () => {
    expect(foreign).toEqual([]);
  });
});
