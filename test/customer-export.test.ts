// GET /exports/customers.csv: the snapshot as CSV, the filter as query
// parameters (a bad one is a 400 naming it), the caller verified and holding
// the read role, the exact header row and cells (enum values, qualifications,
// ISO dates), RFC 4180 quoting with CRLF, and formula-like cells defused.

import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../src/server/export-csv';
import { type SyncedGateway, startSyncedGateway } from './support/customer-base';
import type { EntraStandIn } from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  type CustomerItem,
  customerListHandler,
  json,
  type RecordedCall,
  type Upstream,
} from './support/upstream';

/** Names a spreadsheet would read as formulas, or that need quoting, and one customer without a name. */
const NAMES: Array<string | null> = [
  '=HYPERLINK("http://evil")',
  '+1 Holdings',
  '-minus Ltd',
  '@at Corp',
  'Comma, Inc.',
  'Quote "Q" LLC',
  'Line\nBreak',
  'Plain',
  null,
];
const ROSTER: CustomerItem[] = NAMES.map((name, index) => {
  const id = customerId(index + 1);
  return {
    id,
    companyProfile: { tenantId: id, domain: `d${index + 1}.example`, ...(name === null ? {} : { companyName: name }) },
    relationshipToPartner: index % 2 ? 'advisor' : 'reseller',
  };
});
const list = customerListHandler(ROSTER);
function handler(call: RecordedCall, res: ServerResponse) {
  if (call.resource === 'customers') return list(call, res, 1);
  const n = Number.parseInt((call.customerId ?? '').slice(-12), 16);
  if (call.resource === 'qualifications') {
    return json(
      res,
      200,
      n === 1 ? [{ qualification: 'Education', vettingStatus: 'Approved' }, { qualification: 'StateOwnedEntity' }] : [],
    );
  }
  if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
  if (call.resource === 'agreements' && n !== 3) {
    // Customer 2 never signed directly, and its partner attested it.
    const attested = { ...ATTESTATION, dateAgreed: '2024-05-06T07:08:09.1234567+02:00' };
    return json(res, 200, agreementsBody(n === 2 ? [attested] : []));
  }
  if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus' || call.resource === 'agreements') {
    return n === 3
      ? json(res, 403, { code: 20002, description: 'No relationship' })
      : json(res, 200, { isSigned: n % 2 === 1 });
  }
  return json(res, 404, {});
}

let started: SyncedGateway;
let entra: EntraStandIn;
let upstream: Upstream;
let gw: RunningGateway;
let reader: string;

beforeAll(async () => {
  started = await startSyncedGateway(handler);
  ({ entra, upstream, gw, caller: reader } = started);
});
afterAll(async () => {
  await started.close();
});

const exportUrl = (query = '') => gw.url.replace('/graphql', `/exports/customers.csv${query}`);
const download = (query = '', authorization: string | null = `Bearer ${reader}`) =>
  fetch(exportUrl(query), { headers: authorization === null ? {} : { authorization } });

describe('the CSV export', () => {
  it('writes every customer in the order of customerBase, with exact cells, quoting and CRLF', async () => {
    const before = upstream.calls.length;
    const response = await download();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="customers.csv"');
    const text = await response.text();
    expect(upstream.calls.length).toBe(before);
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(
      'id,companyName,domain,relationshipToPartner,mcaDirectlySigned,qualifications,syncedAt,mcaAccepted,mcaAttestedAt',
    );
    // The attested customer's newest attestation, in UTC with milliseconds.
    expect(lines[1]?.endsWith(',true,2024-05-06T05:08:09.123Z')).toBe(true);
    expect(lines.at(-1)).toBe('');
    const iso = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/;
    // Order: lower-cased names in code-point order ('+' < '-' < '=' < '@' < letters), the unnamed last.
    expect(text.replace(new RegExp(iso.source, 'g'), 'T')).toBe(
      [
        'id,companyName,domain,relationshipToPartner,mcaDirectlySigned,qualifications,syncedAt,mcaAccepted,mcaAttestedAt',
        `${customerId(2)},'+1 Holdings,d2.example,ADVISOR,false,,T,true,T`,
        `${customerId(3)},'-minus Ltd,d3.example,RESELLER,,,T,,`,
        `${customerId(1)},"'=HYPERLINK(""http://evil"")",d1.example,RESELLER,true,Education:APPROVED;StateOwnedEntity:,T,true,`,
        `${customerId(4)},'@at Corp,d4.example,ADVISOR,false,,T,false,`,
        `${customerId(5)},"Comma, Inc.",d5.example,RESELLER,true,,T,true,`,
        `${customerId(7)},"Line\nBreak",d7.example,RESELLER,true,,T,true,`,
        `${customerId(8)},Plain,d8.example,ADVISOR,false,,T,false,`,
        `${customerId(6)},"Quote ""Q"" LLC",d6.example,ADVISOR,false,,T,false,`,
        `${customerId(9)},,d9.example,RESELLER,true,,T,true,`,
        '',
      ].join('\r\n'),
    );
  });

  it('takes the filter as query parameters', async () => {
    const text = await (await download('?mcaDirectlySigned=false&relationshipToPartner=ADVISOR')).text();
    expect(
      text
        .split('\r\n')
        .slice(1, -1)
        .map((line) => line.slice(0, 36)),
    ).toEqual([customerId(2), customerId(4), customerId(8), customerId(6)]);
    const notAccepted = await (await download('?mcaAccepted=false')).text();
    expect(
      notAccepted
        .split('\r\n')
        .slice(1, -1)
        .map((line) => line.slice(0, 36)),
    ).toEqual([customerId(4), customerId(8), customerId(6)]);
    const education = await (await download('?qualification=EDUCATION&vettingStatus=APPROVED')).text();
    expect(education.split('\r\n')).toHaveLength(3);
  });

  it.each([
    ['?mcaDirectlySigned=maybe', 'mcaDirectlySigned must be one of true, false, got "maybe".'],
    ['?mcaAccepted=yes', 'mcaAccepted must be one of true, false, got "yes".'],
    ['?qualification=SCHOOL', 'qualification must be one of EDUCATION'],
    ['?colour=red', 'colour is not a filter'],
  ])('refuses %s with a 400 naming the parameter', async (query, says) => {
    const response = await download(query);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]?.message).toContain(says);
    expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('needs a verified caller with the read role', async () => {
    expect((await download('', null)).status).toBe(401);
    expect((await download('', 'Bearer not-a-jwt')).status).toBe(401);
    const noRole = await entra.signCallerToken({ roles: [] });
    const refused = await download('', `Bearer ${noRole}`);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'MISSING_ROLE',
    });
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+x', "'+x"],
    ['-x', "'-x"],
    ['@x', "'@x"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['a,b', '"a,b"'],
    ['a"b', '"a""b"'],
    ['a\nb', '"a\nb"'],
    ['plain', 'plain'],
  ])('writes the cell %j as %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});
