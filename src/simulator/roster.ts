// Owns the simulated partner's customers: the sample customers, the roster of
// a few hundred company profiles, GET /customers/{id}, and GET /customers
// paged with continuation tokens and filtered by name or domain, as Partner
// Center answers them. src/simulator/simulator.ts serves them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalCustomerId } from '../domain/guid';
import { badRequest, methodNotAllowed, notFound, send } from './answers';

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
export function answerCustomer(req: IncomingMessage, res: ServerResponse, rawId: string, requestId: string) {
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
export function answerCustomerList(req: IncomingMessage, res: ServerResponse, url: URL) {
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
