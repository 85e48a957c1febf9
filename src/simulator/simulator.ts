// Owns the built-in Partner Center simulator: a real HTTP server on loopback
// with Partner Center's paths, bodies and error shapes, serving the customers
// of simulator/customers.ts (profiles and the paged roster: roster.ts;
// agreements: agreements.ts). Qualifications and agreement confirmations
// added through POST are kept in memory until it stops. It plays Entra's
// token endpoint too (entra.ts). With `changes`, a few roster customers
// change over time (changes.ts); without, every answer stays the same.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalCustomerId } from '../domain/guid';
import { answerAgreementMetadata, answerAgreements, type SimulatedAgreement } from './agreements';
import { badRequest, methodNotAllowed, notFound, send } from './answers';
import { type ChangeOptions, startChanges } from './changes';
import { type Item, simulatedCustomer } from './customers';
import { createSimulatedEntra } from './entra';
import { answerCustomer, answerCustomerList, SAMPLE_CUSTOMERS } from './roster';

export { CURRENT_TEMPLATE_ID, PREVIOUS_TEMPLATE_ID } from './agreements';
export { SIMULATED_SIGN_IN } from './entra';
export { SAMPLE_CUSTOMERS, SIMULATED_ROSTER, SIMULATED_ROSTER_SIZE } from './roster';

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
  /** A few roster customers (never the samples) change every `everyMs`, in the order `seed` gives; off when absent. */
  changes?: ChangeOptions;
}

export interface Simulator {
  /** Base URL to configure as PARTNER_CENTER_BASE_URL (no /v1). */
  readonly url: string;
  /** Every request received, in order (tests assert on these). */
  readonly requests: SimulatedRequest[];
  /** How many changes `changes` has made so far (always 0 without it). */
  changesMade(): number;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const requests: SimulatedRequest[] = [];
  // Qualifications and agreement confirmations added through POST, per customer, for the life of this simulator.
  const added = new Map<string, Item[]>();
  const confirmed = new Map<string, SimulatedAgreement[]>();
  // A customer's qualifications as `changes` left them, in place of its own.
  const changed = new Map<string, Item[]>();
  const answerEntra = createSimulatedEntra();
  const customerAt = (id: string) => simulatedCustomer(id);
  const changes = options.changes
    ? startChanges(
        {
          qualifications: (id) => changed.get(id) ?? customerAt(id).qualifications,
          setQualifications: (id, qualifications) => changed.set(id, qualifications),
          mcaAccepted: (id) =>
            customerAt(id).mca === true ||
            (customerAt(id).attestations?.length ?? 0) > 0 ||
            (confirmed.get(id)?.length ?? 0) > 0,
          related: (id) => customerAt(id).mca !== 'no-relationship',
          attest: (id, agreement) => confirmed.set(id, [...(confirmed.get(id) ?? []), agreement]),
        },
        options.changes,
      )
    : undefined;

  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://simulator');
      const path = url.pathname;
      // A token request's body holds the client secret and the refresh token: it is never kept.
      const kept = path.includes('/oauth2/') ? '' : body;
      requests.push({ method: req.method ?? 'GET', path, search: url.search, headers: req.headers, body: kept });
      if (requests.length > (options.maxRecorded ?? Number.POSITIVE_INFINITY)) requests.shift();
      if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
      if (!answerEntra(req.method ?? 'GET', path, body, res))
        answer(req, res, url, body, { added, confirmed, changed });
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
    changesMade: () => changes?.made() ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        changes?.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the simulator keeps for its life: POSTed qualifications and confirmations, and what `changes` changed. */
interface Kept {
  added: Map<string, Item[]>;
  confirmed: Map<string, SimulatedAgreement[]>;
  changed: Map<string, Item[]>;
}

function answer(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
  { added, confirmed, changed }: Kept,
) {
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
  if (path === '/v1/agreements') return answerAgreementMetadata(req, res, url);
  const profileMatch = /^\/v1\/customers\/([^/]+)$/.exec(path);
  if (profileMatch) return answerCustomer(req, res, profileMatch[1] ?? '', requestId);
  const match =
    /^\/v1\/customers\/([^/]+)\/(qualifications|directSignedMicrosoftCustomerAgreementStatus|agreements)$/.exec(path);
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
  const customer = simulatedCustomer(id);

  if (resource === 'agreements') {
    const kept = confirmed.get(id) ?? [];
    return answerAgreements(req, res, url, body, {
      related: customer.mca !== 'no-relationship',
      attestations: [...(customer.attestations ?? []), ...kept],
      confirm: (agreement) => confirmed.set(id, [...kept, agreement]),
    });
  }
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

  const current = [...(changed.get(id) ?? customer.qualifications), ...(added.get(id) ?? [])];
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
