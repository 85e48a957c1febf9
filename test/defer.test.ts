import { setTimeout as sleep } from 'node:timers/promises';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CustomerWithDeferredMcaDocument } from '../schema/generated/graphql';
import { useGateway } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const MCA = 'directSignedMicrosoftCustomerAgreementStatus';

interface Part {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  incremental?: Array<{
    data?: Record<string, unknown> | null;
    path: unknown[];
    label?: string;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  }>;
  hasNext: boolean;
}

/** Posts a document asking for an incremental (multipart/mixed) answer. */
function postMultipart(url: string, query: string, variables: Record<string, unknown>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed', authorization: TOKEN },
    body: JSON.stringify({ query, variables }),
  });
}

/**
 * Yields each JSON part of a multipart/mixed body as soon as it is complete
 * (a part ends where the next delimiter begins), so a test can react to the
 * first part while the server is still working on the next.
 */
async function* multipartParts(response: Response): AsyncGenerator<Part> {
  const boundary = /boundary="?([^";]+)"?/.exec(response.headers.get('content-type') ?? '')?.[1];
  if (!boundary || !response.body) throw new Error(`not a multipart response: ${response.headers.get('content-type')}`);
  const delimiter = `\r\n--${boundary}`;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (;;) {
      const first = buffer.indexOf(delimiter);
      const next = first < 0 ? -1 : buffer.indexOf(delimiter, first + delimiter.length);
      if (next < 0) break;
      const part = buffer.slice(first + delimiter.length, next);
      buffer = buffer.slice(next);
      const bodyStart = part.indexOf('\r\n\r\n');
      if (bodyStart >= 0) yield JSON.parse(part.slice(bodyStart + 4)) as Part;
    }
  }
}

async function readParts(response: Response, onFirst: () => void = () => {}): Promise<Part[]> {
  const parts: Part[] = [];
  for await (const part of multipartParts(response)) {
    parts.push(part);
    if (parts.length === 1) onFirst();
  }
  return parts;
}

describe('@defer over multipart/mixed', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 3000, requestBudgetMs: 5000 });

  it('sends qualifications first and mcaDirectlySigned in a later part', async () => {
    // Partner Center's MCA answer is held back until the client has read the first part,
    // so the order can only hold if that part was really sent before the MCA status was known.
    let clientHasFirstPart!: () => void;
    const firstPartRead = new Promise<true>((resolve) => {
      clientHasFirstPart = () => resolve(true);
    });
    let mcaHeldUntilFirstPart: boolean | undefined;
    upstream.setHandler(async (call, res, attempt) => {
      if (call.resource === MCA) {
        mcaHeldUntilFirstPart = await Promise.race([firstPartRead, sleep(2000).then(() => false as const)]);
      }
      return defaultHandler(call, res, attempt);
    });

    const id = customerId(7);
    const response = await postMultipart(gw.url, print(CustomerWithDeferredMcaDocument), { id });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    const parts = await readParts(response, clientHasFirstPart);

    expect(mcaHeldUntilFirstPart).toBe(true);
    expect(parts[0]).toEqual({
      data: {
        customer: {
          id,
          qualifications: [{ qualification: 'Education', kind: 'EDUCATION', vettingStatus: 'APPROVED' }],
        },
      },
      hasNext: true,
    });
    const later = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(later).toEqual([{ data: { mcaDirectlySigned: true }, path: ['customer'], label: 'mca' }]);
    expect(parts.at(-1)?.hasNext).toBe(false);
    expect(upstream.callsTo('qualifications')).toHaveLength(1);
    expect(upstream.callsTo(MCA)).toHaveLength(1);
  });

  it('keeps batching and the correlation id across the deferred part', async () => {
    const [a, b] = [customerId(0xa1), customerId(0xb2)];
    const response = await postMultipart(
      gw.url,
      `query ($ids: [ID!]!) {
        customers(ids: $ids) { id qualifications { kind } ... @defer { mcaDirectlySigned } }
      }`,
      { ids: [a, b, a.toUpperCase()] },
    );
    const parts = await readParts(response);
    expect(parts[0]?.data).toEqual({
      customers: [a, b, a].map((id) => ({ id, qualifications: [{ kind: 'EDUCATION' }] })),
    });
    const later = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(later.map((item) => item.path).sort()).toEqual([
      ['customers', 0],
      ['customers', 1],
      ['customers', 2],
    ]);
    expect(later.every((item) => item.data?.mcaDirectlySigned === true)).toBe(true);
    expect(
      upstream
        .callsTo('qualifications')
        .map((c) => c.customerId)
        .sort(),
    ).toEqual([a, b]);
    expect(
      upstream
        .callsTo(MCA)
        .map((c) => c.customerId)
        .sort(),
    ).toEqual([a, b]);
    expect(new Set(upstream.calls.map((c) => c.headers['ms-correlationid'])).size).toBe(1);
    expect(response.headers.get('ms-correlationid')).toBe(upstream.calls[0]?.headers['ms-correlationid']);
  });

  it('reports a deferred field that fails in its own part, leaving the first part clean', async () => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === MCA
        ? json(res, 403, {
            code: 20002,
            description: 'No relationship between caller and account.',
            data: [],
            source: 'PartnerFD',
          })
        : defaultHandler(call, res, attempt),
    );
    const id = customerId(8);
    const response = await postMultipart(gw.url, print(CustomerWithDeferredMcaDocument), { id });
    const parts = await readParts(response);
    expect(parts[0]?.errors).toBeUndefined();
    expect(parts[0]?.data).toMatchObject({ customer: { id } });
    const later = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(later).toHaveLength(1);
    expect(later[0]?.data).toEqual({ mcaDirectlySigned: null });
    expect(later[0]?.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['FORBIDDEN', ['customer', 'mcaDirectlySigned']],
    ]);
    expect(upstream.callsTo(MCA)).toHaveLength(1);
  });
});
