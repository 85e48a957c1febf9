// Owns the built-in Partner Center simulator: a real HTTP server on loopback
// with Partner Center's paths, bodies and error shapes, sample customers that
// show every case, a roster of a few hundred customers paged with continuation
// tokens, and deterministic data for any other GUID. Qualifications added
// through POST are kept in memory until it stops.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalCustomerId } from '../guid';

/** Sample customers: each shows one case a frontend must handle. */
export const SAMPLE_CUSTOMERS = {
  approvedEducation: '0a1b2c3d-0001-4000-8000-000000000001',
  inReviewEducation: '0a1b2c3d-0002-4000-8000-000000000002',
  deniedEducation: '0a1b2c3d-0003-4000-8000-000000000003',
  stateOwnedEntity: '0a1b2c3d-0004-4000-8000-000000000004',
  governmentAndStateOwned: '0a1b2c3d-0005-4000-8000-000000000005',
  noQualifications: '0a1b2c3d-0006-4000-8000-000000000006',
  unknownQualification: '0a1b2c3d-0007-4000-8000-000000000007',
  noResellerRelationship: '0a1b2c3d-0008-4000-8000-000000000008',
  doesNotExist: '0a1b2c3d-0009-4000-8000-000000000009',
} as const;

type Item = Record<string, string>;

interface SimulatedCustomer {
  qualifications: Item[];
  /** Serve `{"qualifications": [...]}` instead of a bare array, as some deployments do. */
  wrapped?: boolean;
  /** true/false, or 'no-relationship' for the 403 Partner Center sends without a reseller relationship. */
  mca: boolean | 'no-relationship';
}

const samples: Record<string, SimulatedCustomer | undefined> = {
  [SAMPLE_CUSTOMERS.approvedEducation]: {
    qualifications: [
      {
        qualification: 'Education',
        vettingStatus: 'Approved',
        vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.inReviewEducation]: {
    qualifications: [
      { qualification: 'Education', vettingStatus: 'InReview', vettingCreatedDate: '2020-12-04T20:54:24Z' },
    ],
    mca: false,
  },
  [SAMPLE_CUSTOMERS.deniedEducation]: {
    qualifications: [
      {
        qualification: 'Education',
        vettingStatus: 'Denied',
        vettingReason: 'Not an Academic Domain',
        vettingCreatedDate: '2021-01-15T08:30:00.1234567+02:00',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.stateOwnedEntity]: { qualifications: [{ qualification: 'StateOwnedEntity' }], mca: false },
  [SAMPLE_CUSTOMERS.governmentAndStateOwned]: {
    qualifications: [
      {
        qualification: 'GovernmentCommunityCloud',
        vettingStatus: 'Approved',
        vettingCreateDate: '2022-03-01T10:00:00.5000000-05:00',
      },
      { qualification: 'StateOwnedEntity' },
    ],
    wrapped: true,
    mca: true,
  },
  [SAMPLE_CUSTOMERS.noQualifications]: { qualifications: [], mca: false },
  [SAMPLE_CUSTOMERS.unknownQualification]: {
    qualifications: [
      {
        qualification: 'SovereignCloud',
        vettingStatus: 'PendingDocuments',
        vettingCreatedDate: '2026-02-02T02:02:02Z',
      },
    ],
    mca: true,
  },
  [SAMPLE_CUSTOMERS.noResellerRelationship]: {
    qualifications: [
      { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2021-09-09T09:09:09Z' },
    ],
    mca: 'no-relationship',
  },
};

/** Deterministic data for any GUID that is not a sample: the same id always answers the same. */
function generated(id: string): SimulatedCustomer {
  const byte = createHash('sha256').update(id).digest()[0] as number;
  const statuses = ['Approved', 'InReview', 'Denied'];
  const qualifications: Item[] = [];
  if (byte % 4 !== 0) {
    const status = statuses[byte % 3] as string;
    qualifications.push({
      qualification: byte % 2 ? 'Education' : 'GovernmentCommunityCloud',
      vettingStatus: status,
      vettingCreatedDate: `2023-0${(byte % 9) + 1}-1${byte % 10}T12:00:00.${String(byte).padStart(7, '0')}+00:00`,
      ...(status === 'Denied' ? { vettingReason: 'Not an Education Customer' } : {}),
    });
  }
  if (byte % 5 === 0) qualifications.push({ qualification: 'StateOwnedEntity' });
  return { qualifications, mca: byte % 2 === 0 };
}

export interface SimulatedRequest {
  method: string;
  path: string;
  /** The query string, e.g. `?size=10&seekOperation=Next` ('' when none). */
  search: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SimulatorOptions {
  /** Delay before each answer, to make latency visible (benchmarks). */
  latencyMs?: number;
  /** Keep only the newest requests in `requests` (a long-running `npm start` must not grow without bound). */
  maxRecorded?: number;
  host?: string;
  port?: number;
}

export interface Simulator {
  /** Base URL to configure as PARTNER_CENTER_BASE_URL (no /v1). */
  readonly url: string;
  /** Every request received, in order (tests assert on these). */
  readonly requests: SimulatedRequest[];
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const requests: SimulatedRequest[] = [];
  // Qualifications added through POST, per customer, for the life of this simulator.
  const added = new Map<string, Item[]>();

  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://simulator');
      const path = url.pathname;
      requests.push({ method: req.method ?? 'GET', path, search: url.search, headers: req.headers, body });
      if (requests.length > (options.maxRecorded ?? Number.POSITIVE_INFINITY)) requests.shift();
      if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
      answer(req, res, url, body, added);
    } catch {
      // The caller went away mid-request (e.g. a gateway timeout): nothing to answer.
      res.destroy();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(req: IncomingMessage, res: ServerResponse, url: URL, body: string, added: Map<string, Item[]>) {
  const path = url.pathname;
  const requestId = String(req.headers['ms-requestid'] ?? '');
  if (!/^bearer\s+\S+/i.test(String(req.headers.authorization ?? ''))) {
    return send(res, 401, {
      code: 900401,
      description: 'Unauthorized: a bearer token is required.',
      data: [],
      source: 'PartnerFD',
    });
  }
  if (path === '/v1/customers') return answerCustomerList(req, res, url);
  const profileMatch = /^\/v1\/customers\/([^/]+)$/.exec(path);
  if (profileMatch) return answerCustomer(req, res, profileMatch[1] ?? '', requestId);
  const match = /^\/v1\/customers\/([^/]+)\/(qualifications|directSignedMicrosoftCustomerAgreementStatus)$/.exec(path);
  if (!match)
    return send(res, 404, {
      code: 600008,
      description: 'The requested resource could not be found.',
      data: [],
      source: 'PartnerFD',
    });
  const [, rawId = '', resource] = match;
  const id = canonicalCustomerId(rawId);
  if (id === undefined) {
    return badRequest(res, 'The customer tenant id is not a GUID.');
  }
  if (id === SAMPLE_CUSTOMERS.doesNotExist) return notFound(res, id, requestId);
  const customer = samples[id] ?? generated(id);

  if (resource === 'directSignedMicrosoftCustomerAgreementStatus') {
    if (req.method !== 'GET') return methodNotAllowed(res);
    if (customer.mca === 'no-relationship') {
      return send(res, 403, {
        code: 20002,
        description: 'No relationship between caller and account.',
        data: [],
        source: 'PartnerFD',
      });
    }
    return send(res, 200, { isSigned: customer.mca });
  }

  const current = [...customer.qualifications, ...(added.get(id) ?? [])];
  if (req.method === 'GET') return send(res, 200, customer.wrapped ? { qualifications: current } : current);
  if (req.method !== 'POST') return methodNotAllowed(res);

  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body);
  } catch {
    return badRequest(res, 'The body is not JSON.');
  }
  const name = input.qualification;
  const invalid = (description: string) =>
    send(res, 400, {
      code: 600061,
      message: description,
      description,
      errorName: 'InvalidQualification',
      isRetryable: false,
      parameters: {},
    });
  if (name === 'Education' && !['K12', 'HigherEducation'].includes(String(input.educationSegment))) {
    return invalid('educationSegment must be K12 or HigherEducation.');
  }
  if (name === 'GovernmentCommunityCloud' && typeof input.validationCode !== 'string') {
    return invalid('validationCode is required for GovernmentCommunityCloud.');
  }
  if (name !== 'Education' && name !== 'GovernmentCommunityCloud' && name !== 'StateOwnedEntity') {
    return invalid(`Qualification ${String(name)} cannot be set.`);
  }
  if (current.some((item) => item.qualification === name)) {
    return send(res, 409, {
      code: 600062,
      description: `The customer already has the ${name} qualification.`,
      data: [],
      source: 'PartnerFD',
    });
  }
  const created: Item =
    name === 'StateOwnedEntity'
      ? { qualification: name }
      : { qualification: name, vettingStatus: 'InReview', vettingCreateDate: new Date().toISOString() };
  added.set(id, [...(added.get(id) ?? []), created]);
  return send(res, 201, created);
}

/** The company profile and relationship the simulator lists for a customer. */
interface SimulatedProfile {
  readonly id: string;
  readonly companyName: string;
  /** Absent for a few customers: Partner Center's fields may be missing. */
  readonly domain?: string;
  readonly relationshipToPartner: string;
}

const SAMPLE_PROFILES: ReadonlyArray<Omit<SimulatedProfile, 'domain'> & { domain: string }> = [
  {
    id: SAMPLE_CUSTOMERS.approvedEducation,
    companyName: 'Bellows College',
    domain: 'bellowscollege.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.inReviewEducation,
    companyName: 'Contoso High School',
    domain: 'contosohigh.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.deniedEducation,
    companyName: 'Fabrikam Learning',
    domain: 'fabrikamlearning.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.stateOwnedEntity,
    companyName: 'Woodgrove State Bank',
    domain: 'woodgrovestatebank.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.governmentAndStateOwned,
    companyName: 'Relecloud Public Works',
    domain: 'relecloudpublicworks.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.noQualifications,
    companyName: 'Tailspin Toys',
    domain: 'tailspintoys.onmicrosoft.com',
    relationshipToPartner: 'reseller',
  },
  {
    // A relationship value the gateway does not know: it shows as UNKNOWN.
    id: SAMPLE_CUSTOMERS.unknownQualification,
    companyName: 'Trey Research',
    domain: 'treyresearch.onmicrosoft.com',
    relationshipToPartner: 'indirect_reseller',
  },
  {
    id: SAMPLE_CUSTOMERS.noResellerRelationship,
    companyName: 'Northwind Traders',
    domain: 'northwindtraders.onmicrosoft.com',
    relationshipToPartner: 'advisor',
  },
  // SAMPLE_CUSTOMERS.doesNotExist is in no list: GET /customers/{id} answers 404 for it.
];

const COMPANY_NAMES = [
  'Adatum',
  'Adventure Works',
  'Alpine Ski House',
  'Best For You Organics',
  'Blue Yonder Airlines',
  'City Power & Light',
  'Coho Winery',
  'Consolidated Messenger',
  'Contoso',
  'Fabrikam',
  'First Up Consultants',
  'Fourth Coffee',
  'Graphic Design Institute',
  'Humongous Insurance',
  'Lamna Healthcare',
  'Litware',
  'Lucerne Publishing',
  "Margie's Travel",
  "Munson's Pickles",
  'Nod Publishers',
  'Northwind',
  'Proseware',
  'Relecloud',
  'School of Fine Art',
  'Southridge Video',
  'Tailspin',
  'VanArsdel',
  'Wide World Importers',
  'Wingtip Toys',
  'Woodgrove',
];
const COMPANY_SUFFIXES = ['', ' Ltd', ' GmbH', ' Inc.', ' SA', ' Sp. z o.o.', ' BV', ' KK', ' Pty Ltd', ' AB'];

/** How many customers GET /customers lists: the sample customers first, then generated ones. */
export const SIMULATED_ROSTER_SIZE = 300;

/** The simulated partner's customers, in the order GET /customers lists them. */
export const SIMULATED_ROSTER: readonly SimulatedProfile[] = [
  ...SAMPLE_PROFILES,
  ...Array.from({ length: SIMULATED_ROSTER_SIZE - SAMPLE_PROFILES.length }, (_, n): SimulatedProfile => {
    const companyName = `${COMPANY_NAMES[n % COMPANY_NAMES.length]}${COMPANY_SUFFIXES[Math.floor(n / COMPANY_NAMES.length) % COMPANY_SUFFIXES.length]}`;
    const relationshipToPartner =
      n % 53 === 5 ? 'syndication' : n % 41 === 7 ? 'microsoft_support' : n % 13 === 3 ? 'advisor' : 'reseller';
    const id = `0a1b2c3d-1000-4000-8000-${(n + 1).toString(16).padStart(12, '0')}`;
    // Every 37th customer has no domain on record, as Partner Center's profiles sometimes lack fields.
    if (n % 37 === 36) return { id, companyName, relationshipToPartner };
    const domain = `${companyName.toLowerCase().replace(/[^a-z0-9]/g, '')}.onmicrosoft.com`;
    return { id, companyName, domain, relationshipToPartner };
  }),
];

const rosterById = new Map(SIMULATED_ROSTER.map((profile) => [profile.id, profile]));

/** Partner Center's customer item for a profile. */
function customerItem(profile: SimulatedProfile): Record<string, unknown> {
  return {
    id: profile.id,
    companyProfile: {
      tenantId: profile.id,
      ...(profile.domain === undefined ? {} : { domain: profile.domain }),
      companyName: profile.companyName,
    },
    relationshipToPartner: profile.relationshipToPartner,
    attributes: { objectType: 'Customer' },
  };
}

/** GET /customers/{id}: the roster's profile, a generated one for any other GUID, 404 for the missing sample. */
function answerCustomer(req: IncomingMessage, res: ServerResponse, rawId: string, requestId: string) {
  if (req.method !== 'GET') return methodNotAllowed(res);
  const id = canonicalCustomerId(rawId);
  if (id === undefined) return badRequest(res, 'The customer tenant id is not a GUID.');
  if (id === SAMPLE_CUSTOMERS.doesNotExist) return notFound(res, id, requestId);
  const short = id.slice(0, 8);
  const profile = rosterById.get(id) ?? {
    id,
    companyName: `Customer ${short}`,
    domain: `customer${short}.onmicrosoft.com`,
    relationshipToPartner: 'reseller',
  };
  return send(res, 200, customerItem(profile));
}

/** What a continuation token of the simulator stands for: where the next page starts, in which filtered list. */
interface SimulatedSeek {
  offset: number;
  field: 'CompanyName' | 'Domain' | null;
  value: string;
}

/**
 * GET /customers?size=n[&filter=...] and GET /customers?size=n&seekOperation=Next
 * with MS-ContinuationToken, as Partner Center pages them: the token (opaque
 * to callers) carries the position and the filter; the last page has no next link.
 */
function answerCustomerList(req: IncomingMessage, res: ServerResponse, url: URL) {
  if (req.method !== 'GET') return methodNotAllowed(res);
  const query = url.searchParams;
  const size = Number(query.get('size') ?? '');
  if (!Number.isInteger(size) || size < 1 || size > 500) return badRequest(res, 'size must be from 1 to 500.');
  let seek: SimulatedSeek;
  if (query.get('seekOperation') !== null) {
    if (query.get('seekOperation')?.toLowerCase() !== 'next')
      return badRequest(res, 'Only seekOperation=Next is supported.');
    const token = String(req.headers['ms-continuationtoken'] ?? '');
    const decoded = decodeSeek(token);
    if (!decoded) return badRequest(res, 'The MS-ContinuationToken header is missing or invalid.');
    seek = decoded;
  } else {
    const filter = query.get('filter');
    const parsed = filter === null ? { field: null, value: '' } : parseListFilter(filter);
    if (!parsed)
      return badRequest(res, 'filter must be {"Field":"CompanyName"|"Domain","Value":"...","Operator":"starts_with"}.');
    seek = { offset: 0, ...parsed };
  }
  const prefix = seek.value.toLowerCase();
  const matching =
    seek.field === null
      ? SIMULATED_ROSTER
      : SIMULATED_ROSTER.filter((profile) =>
          ((seek.field === 'Domain' ? profile.domain : profile.companyName) ?? '').toLowerCase().startsWith(prefix),
        );
  const items = matching.slice(seek.offset, seek.offset + size).map(customerItem);
  const nextOffset = seek.offset + size;
  const self = { uri: `/customers${url.search}`, method: 'GET', headers: [] };
  const next =
    nextOffset < matching.length
      ? {
          uri: `/customers?size=${size}&seekOperation=Next`,
          method: 'GET',
          headers: [{ key: 'MS-ContinuationToken', value: encodeSeek({ ...seek, offset: nextOffset }) }],
        }
      : undefined;
  return send(res, 200, {
    totalCount: items.length,
    items,
    links: next ? { self, next } : { self },
    attributes: { objectType: 'Collection' },
  });
}

function parseListFilter(raw: string): Omit<SimulatedSeek, 'offset'> | undefined {
  let filter: Record<string, unknown>;
  try {
    filter = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const field = filter?.Field;
  if ((field !== 'CompanyName' && field !== 'Domain') || typeof filter.Value !== 'string') return undefined;
  if (String(filter.Operator).toLowerCase() !== 'starts_with') return undefined;
  return { field, value: filter.Value };
}

function encodeSeek(seek: SimulatedSeek): string {
  return `sim1.${Buffer.from(JSON.stringify(seek)).toString('base64url')}`;
}

function decodeSeek(token: string): SimulatedSeek | undefined {
  if (!token.startsWith('sim1.')) return undefined;
  try {
    const seek = JSON.parse(Buffer.from(token.slice(5), 'base64url').toString('utf8')) as SimulatedSeek;
    const fieldOk = seek.field === null || seek.field === 'CompanyName' || seek.field === 'Domain';
    return Number.isInteger(seek.offset) && seek.offset >= 0 && fieldOk && typeof seek.value === 'string'
      ? seek
      : undefined;
  } catch {
    return undefined;
  }
}

function badRequest(res: ServerResponse, message: string): void {
  send(res, 400, {
    code: 600001,
    message,
    description: 'Bad request',
    errorName: 'InvalidInput',
    isRetryable: false,
    parameters: {},
  });
}

function notFound(res: ServerResponse, id: string, requestId: string): void {
  send(res, 404, {
    code: 600008,
    description: `Customer ${id} was not found.`,
    data: [],
    source: 'PartnerFD',
    requestId,
  });
}

function methodNotAllowed(res: ServerResponse): void {
  send(res, 405, { code: 405, description: 'Method not allowed.', data: [], source: 'PartnerFD' });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
