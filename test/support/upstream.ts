// A Partner Center stand-in on loopback whose every answer the test decides:
// status, headers, latency, hangs, resets, malformed bodies. Records each call.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { customerId } from './gateway';

export interface RecordedCall {
  method: string;
  path: string;
  /** Lower-cased customer id from the path, when the path has one. */
  customerId: string | undefined;
  /**
   * 'qualifications' | 'directSignedMicrosoftCustomerAgreementStatus' | other last segment after a customer id;
   * 'customer' for GET /customers/{id}; 'customers' for the list, GET /customers; 'agreements' for a customer's
   * agreements and 'agreement_metadata' for GET /agreements.
   */
  resource: string | undefined;
  /** The query string's parameters (size, filter, seekOperation). */
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** Milliseconds since the upstream started, when the call arrived. */
  at: number;
  /** The port the call's connection came from (a proxy's outgoing socket, when it went through one). */
  remotePort: number | undefined;
}

/** Answers one call; `attempt` counts calls with the same MS-RequestId (1 for the first). */
export type UpstreamHandler = (call: RecordedCall, res: ServerResponse, attempt: number) => void | Promise<void>;

export interface Upstream {
  readonly url: string;
  readonly calls: RecordedCall[];
  setHandler(handler: UpstreamHandler): void;
  /** Calls to one resource (and customer, if given). */
  callsTo(resource: string, customerId?: string): RecordedCall[];
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A customer of a stand-in roster, as a Partner Center list item or GET /customers/{id} body. */
export type CustomerItem = Record<string, unknown> & { id: string };

/** Customer n of the default roster: "Company 001" ... with a domain and a reseller relationship. */
export function rosterItem(n: number): CustomerItem {
  const id = customerId(n);
  const name = `Company ${String(n).padStart(3, '0')}`;
  return {
    id,
    companyProfile: { tenantId: id, domain: `company${n}.onmicrosoft.com`, companyName: name },
    relationshipToPartner: 'reseller',
    attributes: { objectType: 'Customer' },
  };
}

/** The roster the default handler lists: 250 customers, customerId(1) to customerId(250). */
export const DEFAULT_ROSTER: readonly CustomerItem[] = Array.from({ length: 250 }, (_, n) => rosterItem(n + 1));

/**
 * Answers GET /customers like Partner Center: `size`, the URL-encoded JSON
 * `filter` (CompanyName starts_with, case-insensitive) on the first page, and
 * `seekOperation=Next` with the previous page's MS-ContinuationToken after it.
 * Tokens look like `page-<offset>-<filter>` but are checked: a next page without
 * one, or with one this handler did not issue, is a 400.
 */
export function customerListHandler(roster: readonly CustomerItem[]): UpstreamHandler {
  const issued = new Map<string, { offset: number; prefix: string | null }>();
  return (call, res) => {
    const size = Number(call.query.get('size'));
    if (!Number.isInteger(size) || size < 1 || size > 500) return json(res, 400, { code: 400, description: 'size' });
    let position: { offset: number; prefix: string | null };
    if (call.query.get('seekOperation') === 'Next') {
      const seek = issued.get(String(call.headers['ms-continuationtoken']));
      if (!seek) return json(res, 400, { code: 400, description: 'bad continuation token' });
      position = seek;
    } else {
      const filter = call.query.get('filter');
      position = { offset: 0, prefix: filter === null ? null : String(JSON.parse(filter).Value).toLowerCase() };
    }
    const { offset, prefix } = position;
    const matching =
      prefix === null
        ? roster
        : roster.filter((item) =>
            String((item.companyProfile as { companyName?: unknown } | undefined)?.companyName ?? '')
              .toLowerCase()
              .startsWith(prefix),
          );
    const items = matching.slice(offset, offset + size);
    const links: Record<string, unknown> = { self: { uri: `/customers?size=${size}`, method: 'GET', headers: [] } };
    if (offset + size < matching.length) {
      const token = `page-${offset + size}-${prefix ?? ''}`;
      issued.set(token, { offset: offset + size, prefix });
      links.next = {
        uri: `/customers?size=${size}&seekOperation=Next`,
        method: 'GET',
        headers: [{ key: 'MS-ContinuationToken', value: token }],
      };
    }
    return json(res, 200, { totalCount: matching.length, items, links, attributes: { objectType: 'Collection' } });
  };
}

/** A GET agreements or GET /agreements body holding `items`. */
export const agreementsBody = (items: unknown[]) => ({
  totalCount: items.length,
  items,
  attributes: { objectType: 'Collection' },
});

/** The current MCA template of the stand-in's GET /agreements. */
export const TEMPLATE_ID = '117a77b0-9360-443b-8795-c6dedc750cf9';
export const CURRENT_TEMPLATE = {
  templateId: TEMPLATE_ID,
  agreementType: 'MicrosoftCustomerAgreement',
  agreementLink: 'https://aka.ms/customeragreement',
  versionRank: 0,
};

/** The default customer's one attestation, as Partner Center's reference shows it. */
export const ATTESTATION = {
  primaryContact: { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com', phoneNumber: '1234567890' },
  templateId: TEMPLATE_ID,
  dateAgreed: '2019-08-26T00:00:00',
  type: 'MicrosoftCustomerAgreement',
  agreementLink: 'https://aka.ms/customeragreement',
};

const defaultList = customerListHandler(DEFAULT_ROSTER);
const defaultRosterById = new Map(DEFAULT_ROSTER.map((item) => [item.id, item]));

/**
 * The default answer: one approved Education qualification, MCA signed and attested; the
 * default roster for GET /customers, and a profile for GET /customers/{id}.
 */
export const defaultHandler: UpstreamHandler = (call, res) => {
  if (call.resource === 'customers' && call.method === 'GET') return defaultList(call, res, 1);
  if (call.resource === 'customer' && call.method === 'GET') {
    const id = call.customerId ?? '';
    return json(
      res,
      200,
      defaultRosterById.get(id) ?? {
        ...rosterItem(0),
        id,
        companyProfile: {
          tenantId: id,
          companyName: `Company ${id.slice(-4)}`,
          domain: `c${id.slice(-4)}.onmicrosoft.com`,
        },
      },
    );
  }
  if (call.resource === 'qualifications' && call.method === 'GET') {
    return json(res, 200, [
      {
        qualification: 'Education',
        vettingStatus: 'Approved',
        vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00',
      },
    ]);
  }
  if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus') return json(res, 200, { isSigned: true });
  if (call.resource === 'agreements' && call.method === 'GET') return json(res, 200, agreementsBody([ATTESTATION]));
  if (call.resource === 'agreements' && call.method === 'POST') {
    return json(res, 201, { ...(JSON.parse(call.body) as object), userId: 'partner-user' });
  }
  if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
  if (call.resource === 'qualifications' && call.method === 'POST') {
    const body = JSON.parse(call.body) as Record<string, unknown>;
    return json(res, 201, {
      qualification: body.qualification,
      vettingStatus: 'InReview',
      vettingCreateDate: '2020-12-04T20:54:24Z',
    });
  }
  return json(res, 404, { code: 600008, description: 'Not found', data: [], source: 'PartnerFD' });
};

/**
 * Starts the stand-in on 127.0.0.1. With `tls` (key and certificate PEM) it speaks HTTPS and its URL names
 * `localhost`, the name test/fixtures/tls/localhost.crt is issued for.
 */
export async function startUpstream(
  handler: UpstreamHandler = defaultHandler,
  { tls }: { tls?: { key: string; cert: string } } = {},
): Promise<Upstream> {
  const started = Date.now();
  const calls: RecordedCall[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let current = handler;
  const listener = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://upstream');
    const path = url.pathname;
    const match = /\/customers\/([^/]+)\/([^/]+)$/.exec(path);
    const profile = /\/customers\/([^/]+)$/.exec(path);
    const call: RecordedCall = {
      method: req.method ?? 'GET',
      path,
      customerId: (match?.[1] ?? profile?.[1])?.toLowerCase(),
      resource:
        match?.[2] ??
        (profile
          ? 'customer'
          : /\/customers$/.test(path)
            ? 'customers'
            : /\/agreements$/.test(path)
              ? 'agreement_metadata'
              : undefined),
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at: Date.now() - started,
      remotePort: req.socket.remotePort,
    };
    calls.push(call);
    const requestId = String(req.headers['ms-requestid'] ?? '');
    const attempt = (attempts.get(requestId) ?? 0) + 1;
    attempts.set(requestId, attempt);
    try {
      await current(call, res, attempt);
    } catch {
      res.destroy();
    }
  };
  const server = tls ? createTlsServer(tls, listener) : createServer(listener);
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    calls,
    setHandler(next) {
      current = next;
    },
    callsTo(resource, customerId) {
      return calls.filter((c) => c.resource === resource && (customerId === undefined || c.customerId === customerId));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Hold {
  /** Wraps a handler: each call is held until released, then answered by `then`. */
  handler(then?: UpstreamHandler): UpstreamHandler;
  /** Resolves once at least `count` calls are held at the same time. */
  untilHeld(count: number): Promise<void>;
  /** Releases every call held now and lets all later calls through at once. */
  open(): void;
  /** The most calls held at once, per Authorization header. */
  readonly peak: Map<string, number>;
}

/**
 * Holds upstream calls until the test says so, so that how many overlap is
 * decided by the gateway's own limits and not by timing on a noisy machine.
 */
export function createHold(): Hold {
  const held = new Set<() => void>();
  const perToken = new Map<string, number>();
  const peak = new Map<string, number>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let opened = false;
  const notify = () => {
    for (const waiter of waiters.splice(0)) {
      if (held.size >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
  };
  return {
    handler:
      (then = defaultHandler) =>
      async (call, res, attempt) => {
        const token = String(call.headers.authorization);
        const now = (perToken.get(token) ?? 0) + 1;
        perToken.set(token, now);
        peak.set(token, Math.max(peak.get(token) ?? 0, now));
        if (!opened) {
          await new Promise<void>((resolve) => {
            held.add(resolve);
            notify();
          });
        }
        perToken.set(token, (perToken.get(token) ?? 1) - 1);
        return then(call, res, attempt);
      },
    untilHeld: (count) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        notify();
      }),
    open() {
      opened = true;
      for (const release of held) release();
      held.clear();
    },
    peak,
  };
}
