// A Partner Center stand-in for the soak benchmark: deterministic data per
// customer (so every answer can be checked) and a few percent of injected
// faults. Run as a child process of bench/soak.ts, which it tells its URL
// over IPC; on 'stats' it reports what it served and which faults it injected.

import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type WireItem = Record<string, string>;

export interface CustomerData {
  readonly qualifications: WireItem[];
  /** Serve `{"qualifications": [...]}` instead of a bare array, as some deployments do. */
  readonly wrapped: boolean;
  readonly mca: boolean;
}

/** The faults injected, with their share of all upstream calls (about 5% in all). */
export const FAULTS = {
  /** 503 with the errorName body shape: retried by the gateway. */
  serverError: 0.015,
  /** Socket destroyed before any response: retried (POSTs too). */
  dropConnection: 0.01,
  /** No answer at all: the attempt times out and is retried. */
  hang: 0.005,
  /** 200, half a body, then silence: times out and is retried. */
  trickleAndStop: 0.005,
  /** 200 with truncated JSON: UPSTREAM_BAD_RESPONSE, not retried. */
  malformedJson: 0.005,
  /** 200 with valid JSON of the wrong shape: UPSTREAM_BAD_RESPONSE. */
  wrongShape: 0.005,
  /** 502 with the PartnerFD body shape. */
  badGateway: 0.0046,
  /** 429 with Retry-After: 1 (seconds), which opens a window for the caller's token. */
  throttledSeconds: 0.0002,
  /** 429 with Retry-After as an HTTP date about 2 s ahead. */
  throttledDate: 0.0002,
} as const;
export type Fault = keyof typeof FAULTS;

/** Deterministic data for a customer id: the same id always answers the same, covering every mapping case. */
export function customerData(id: string): CustomerData {
  const hash = createHash('sha256').update(id).digest();
  const byte = (n: number) => hash[n] as number;
  const date = (n: number) => {
    // Epoch ms in 2020-2023, sent with 7 fractional digits and a +02:00 offset as Partner Center may.
    const ms = 1_580_000_000_000 + hash.readUInt32BE(n) * 30;
    return { ms, wire: `${new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '')}4321+02:00` };
  };
  const statuses = ['Approved', 'InReview', 'Denied', 'PendingDocuments'] as const;
  const qualifications: WireItem[] = [];
  const choice = byte(0) % 6;
  if (choice === 1 || choice === 2) {
    const status = statuses[byte(1) % 4] as string;
    qualifications.push({
      qualification: 'Education',
      vettingStatus: status,
      [byte(2) % 2 ? 'vettingCreatedDate' : 'vettingCreateDate']: date(4).wire,
      ...(status === 'Denied' ? { vettingReason: 'Not an Academic Domain' } : {}),
    });
  }
  if (choice === 3) {
    qualifications.push({
      qualification: 'GovernmentCommunityCloud',
      vettingStatus: 'Approved',
      vettingCreateDate: date(8).wire,
    });
  }
  if (choice === 4) qualifications.push({ qualification: 'Nonprofit', vettingStatus: 'Approved' });
  if (choice === 5)
    qualifications.push({ qualification: 'SovereignCloud', vettingStatus: statuses[byte(3) % 4] as string });
  if (byte(12) % 3 === 0) qualifications.push({ qualification: 'StateOwnedEntity' });
  return { qualifications, wrapped: byte(13) % 4 === 0, mca: byte(14) % 2 === 0 };
}

/** What POST /qualifications answers for a body: deterministic, so the mutation's answer can be checked too. */
export function createdQualification(body: { qualification?: unknown }): WireItem {
  const qualification = String(body.qualification);
  if (qualification === 'StateOwnedEntity') return { qualification };
  return { qualification, vettingStatus: 'InReview', vettingCreateDate: '2020-12-04T20:54:24Z' };
}

export interface UpstreamStats {
  calls: number;
  byResource: Record<string, number>;
  faults: Record<string, number>;
}

function pickFault(): Fault | undefined {
  let roll = Math.random();
  for (const [fault, share] of Object.entries(FAULTS) as Array<[Fault, number]>) {
    if (roll < share) return fault;
    roll -= share;
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function startFaultyUpstream(): Promise<{ url: string; stats: UpstreamStats; close(): Promise<void> }> {
  const stats: UpstreamStats = { calls: 0, byResource: {}, faults: {} };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    stats.calls++;
    const match = /^\/v1\/customers\/([^/]+)\/([^/?]+)$/.exec(req.url ?? '');
    const id = match?.[1]?.toLowerCase() ?? '';
    const resource = `${req.method} ${match?.[2] ?? 'unknown'}`;
    stats.byResource[resource] = (stats.byResource[resource] ?? 0) + 1;
    // A little latency, as a real upstream has.
    await sleep(2 + Math.floor(Math.random() * 10));

    const fault = pickFault();
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
    switch (fault) {
      case 'serverError':
        return send(res, 503, {
          code: 500,
          message: 'Service unavailable',
          description: 'Service unavailable',
          errorName: 'ServiceUnavailable',
          isRetryable: true,
          parameters: {},
        });
      case 'badGateway':
        return send(res, 502, { code: 502, description: 'Bad gateway', data: [], source: 'PartnerFD' });
      case 'dropConnection':
        res.socket?.destroy();
        return;
      case 'hang':
        return;
      case 'trickleAndStop':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[{"qualification":"Educ');
        return;
      case 'malformedJson':
        return send(res, 200, '[{"qualification": "Education",');
      case 'wrongShape':
        return send(res, 200, { items: 'none' });
      case 'throttledSeconds':
        return send(
          res,
          429,
          { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
          {
            'retry-after': '1',
          },
        );
      case 'throttledDate':
        return send(
          res,
          429,
          { statusCode: 429, message: 'Rate limit is exceeded.' },
          {
            'retry-after': new Date(Date.now() + 2_000).toUTCString(),
          },
        );
      default:
        break;
    }

    const data = customerData(id);
    if (req.method === 'GET' && match?.[2] === 'qualifications') {
      return send(res, 200, data.wrapped ? { qualifications: data.qualifications } : data.qualifications);
    }
    if (req.method === 'GET' && match?.[2] === 'directSignedMicrosoftCustomerAgreementStatus') {
      return send(res, 200, { isSigned: data.mca });
    }
    if (req.method === 'POST' && match?.[2] === 'qualifications') {
      return send(res, 201, createdQualification(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    }
    return send(res, 404, { code: 600008, description: 'Not found', data: [], source: 'PartnerFD' });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Run as a child process: report the URL, answer 'stats' requests, stop on 'close'.
if (process.send && process.argv.includes('--child')) {
  const upstream = await startFaultyUpstream();
  process.on('message', async (message: unknown) => {
    if (message === 'stats') process.send?.({ stats: upstream.stats, rss: process.memoryUsage().rss });
    if (message === 'close') {
      await upstream.close();
      process.exit(0);
    }
  });
  process.send({ url: upstream.url });
}
