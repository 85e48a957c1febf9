// The caller's token goes to the configured Partner Center and nowhere else:
// not to another host, not into any log line, and never into another token's
// answers, whether sequential or concurrent.

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger';
import { useUpstream } from './support/fixtures';
import { customerId } from './support/gateway';
import { held, recordEvents, until } from './support/quota';
import { defaultHandler, json, type RecordedCall, startUpstream } from './support/upstream';

/** Records every request the gateway hands to undici: where it goes and which token it carries. */
class RecordingAgent extends Agent {
  readonly sent: Array<{ origin: string; path: string; authorization: unknown }> = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const headers = (options.headers ?? {}) as Record<string, unknown>;
    this.sent.push({ origin: String(options.origin), path: options.path, authorization: headers.authorization });
    return super.dispatch(options, handler);
  }
}

const { upstream, gatewayWith } = useUpstream();

const bearer = (secret: string) => `Bearer ${secret}`;
const secretOf = (call: RecordedCall) => String(call.headers.authorization).replace(/^Bearer /, '');

/** Answers with data derived from the token: the qualification is named after it, MCA is signed for even tokens. */
function tokenEchoingHandler(delayMs = 0) {
  return async (call: RecordedCall, res: ServerResponse) => {
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const secret = secretOf(call);
    if (call.resource === 'qualifications') return json(res, 200, [{ qualification: `Q-${secret}` }]);
    return json(res, 200, { isSigned: Number(/\d+/.exec(secret)?.[0]) % 2 === 0 });
  };
}

describe('where the token goes', () => {
  it('sends the token only to the configured base URL and path, unchanged', async () => {
    const agent = new RecordingAgent();
    const token = 'Bearer  eyJ.only-for-partner-center.sig';
    const gw = await gatewayWith({ baseUrl: `${upstream.url}/partner-center` }, { dispatcher: agent });
    await gw.query(
      `{ customers(ids: ["${customerId(1)}", "${customerId(2)}"]) { qualifications { kind } mcaDirectlySigned } }`,
      undefined,
      { authorization: token },
    );
    await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(3)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      { authorization: token },
    );
    expect(agent.sent).toHaveLength(5);
    expect(upstream.calls).toHaveLength(5);
    for (const request of agent.sent) {
      expect(request.origin).toBe(upstream.url);
      expect(request.path).toMatch(/^\/partner-center\/v1\/customers\/[0-9a-f-]{36}\/\w+$/);
      expect(request.authorization).toBe(token);
    }
    for (const call of upstream.calls) expect(call.headers.authorization).toBe(token);
    await agent.close();
  });

  it('does not follow a redirect to another host', async () => {
    const decoy = await startUpstream();
    try {
      upstream.setHandler((call, res) => {
        res.writeHead(307, { location: `${decoy.url}${call.path}`, 'content-length': '0' });
        res.end();
      });
      const gw = await gatewayWith({});
      const response = await gw.query(`{ customer(id: "${customerId(1)}") { qualifications { kind } } }`);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
      expect(upstream.calls).toHaveLength(1);
      expect(decoy.calls).toHaveLength(0);
    } finally {
      await decoy.close();
    }
  });
});

describe('logs', () => {
  it('never writes the token, through successes, 4xx, 5xx, throttling, timeouts, resets and bad bodies', async () => {
    const secret = `s3cr3t-${randomUUID()}`;
    const token = bearer(secret);
    const lines: string[] = [];
    // The upstream is hostile: it echoes the token into every error body it sends.
    const outcomes: Record<number, (res: ServerResponse) => void> = {
      1: (res) => json(res, 200, [{ qualification: 'Education', vettingStatus: 'Approved' }]),
      2: (res) => json(res, 401, { code: 900, description: `Token ${secret} is expired` }),
      3: (res) => json(res, 403, { code: 20002, description: `No relationship for ${secret}`, source: 'PartnerFD' }),
      4: (res) => json(res, 404, { code: 600008, message: `Customer not found for ${token}` }),
      5: (res) => json(res, 500, { code: 1, description: `Internal error with ${token}` }),
      6: () => {}, // never answers: attempt timeouts, then the budget
      7: (res) => json(res, 429, { statusCode: 429, message: `Rate limit for ${secret}` }, { 'retry-after': '60' }),
      8: (res) => json(res, 200, `not json ${secret}`),
      9: (res) => res.destroy(),
      10: (res) => json(res, 200, { unexpected: secret }),
      11: (res) => json(res, 409, { code: 600061, message: `Already set (${secret})`, errorName: 'Conflict' }),
    };
    upstream.setHandler((call, res) => {
      const n = Number.parseInt(call.customerId?.slice(-12) ?? '0', 16);
      const respond = outcomes[n] ?? ((r: ServerResponse) => json(r, 200, { isSigned: true }));
      if (call.method === 'POST') return outcomes[11]?.(res);
      return respond(res);
    });
    const gw = await gatewayWith(
      { attemptTimeoutMs: 150, requestBudgetMs: 1_500 },
      { logger: createLogger({ level: 'trace', destination: { write: (line) => lines.push(line) } }) },
    );
    const ids = Object.keys(outcomes)
      .map(Number)
      .filter((n) => n !== 7 && n !== 11)
      .map(customerId);
    const read = await gw.query(
      `query($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`,
      { ids },
      { authorization: token },
    );
    const mutation = await gw.query(
      `mutation { addCustomerQualification(input: { customerId: "${customerId(11)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
      undefined,
      { authorization: token },
    );
    const mca = await gw.query(`{ customer(id: "${customerId(12)}") { mcaDirectlySigned } }`, undefined, {
      authorization: token,
    });
    // After the others, as its window then holds every later call of this token.
    const throttled = await gw.query(`{ customer(id: "${customerId(7)}") { qualifications { kind } } }`, undefined, {
      authorization: token,
    });
    // Requests that fail before any upstream call are logged too.
    await gw.query('{ customer(', undefined, { authorization: token });

    const codes = (read.body.errors ?? []).map((error) => error.extensions?.code);
    expect(new Set(codes)).toEqual(
      new Set([
        'UNAUTHENTICATED',
        'FORBIDDEN',
        'NOT_FOUND',
        'UPSTREAM_UNAVAILABLE',
        'UPSTREAM_TIMEOUT',
        'UPSTREAM_BAD_RESPONSE',
      ]),
    );
    expect(throttled.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(mutation.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(mca.body.data).toEqual({ customer: { mcaDirectlySigned: true } });
    // The capture works: the failures above were logged, at several levels.
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.some((line) => line.includes('"level":"warn"'))).toBe(true);
    expect(lines.some((line) => line.includes('"level":"debug"'))).toBe(true);
    // At trace the incoming and outgoing headers are written: pino's redact is what keeps the token out of them.
    expect(lines.filter((line) => line.includes('"authorization":"[redacted]"')).length).toBeGreaterThan(10);
    // The client's own trace line: one per call that reached Partner Center, its headers redacted the same way.
    const traced = lines
      .map((line) => JSON.parse(line) as { msg?: string; headers?: Record<string, string> })
      .filter((line) => line.msg === 'partner center call');
    const sent = [...new Set(upstream.calls.map((call) => String(call.headers['ms-requestid'])))].sort();
    expect(
      traced
        .map((line) => line.headers?.['ms-requestid'])
        .filter((id) => sent.includes(String(id)))
        .sort(),
    ).toEqual(sent);
    for (const line of traced) expect(line.headers?.authorization).toBe('[redacted]');
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain(token);
    }
  });
});

describe('caches and loaders', () => {
  it('answers each token from its own upstream call, one request after another', async () => {
    upstream.setHandler(tokenEchoingHandler());
    const gw = await gatewayWith({});
    const document = `{ customer(id: "${customerId(1)}") { qualifications { qualification } mcaDirectlySigned } }`;
    for (const n of [1, 2, 1, 2]) {
      const response = await gw.query(document, undefined, { authorization: bearer(`token-${n}`) });
      expect(response.body).toEqual({
        data: { customer: { qualifications: [{ qualification: `Q-token-${n}` }], mcaDirectlySigned: n % 2 === 0 } },
      });
    }
    expect(upstream.calls.map(secretOf)).toEqual([1, 1, 2, 2, 1, 1, 2, 2].map((n) => `token-${n}`));
  });

  it('gives each of a dozen concurrent tokens its own calls and its own data over the same customers', async () => {
    // Answers are held until both requests of every token have asked for every (resource, customer).
    const answers = held(tokenEchoingHandler());
    upstream.setHandler(answers.handler);
    const events = recordEvents();
    const gw = await gatewayWith({}, { events });
    const ids = [1, 2, 3, 4, 5].map(customerId);
    const tokens = Array.from({ length: 12 }, (_, n) => `token-${n}-${randomUUID()}`);
    const correlationOf = new Map(tokens.map((token) => [token, randomUUID()]));
    const document = `query($ids: [ID!]!) { customers(ids: $ids) { id qualifications { qualification } mcaDirectlySigned }
      again: customers(ids: $ids) { qualifications { qualification } } }`;
    // Two waves, so requests of the same token also overlap each other's lifetimes.
    const pending = Promise.all(
      [...tokens, ...tokens].map(async (token, i) => {
        const correlationId = i < tokens.length ? (correlationOf.get(token) as string) : randomUUID();
        const response = await gw.query<{
          customers: Array<{
            id: string;
            qualifications: Array<{ qualification: string }>;
            mcaDirectlySigned: boolean;
          }>;
          again: Array<{ qualifications: Array<{ qualification: string }> }>;
        }>(document, { ids }, { authorization: bearer(token), 'ms-correlationid': correlationId });
        return { token, correlationId, response };
      }),
    );
    await until('every request asked for its 10 answers', () => events.lookups.length === 24 * ids.length * 2);
    answers.release();
    const responses = await pending;
    const tokenOfCorrelation = new Map(responses.map(({ token, correlationId }) => [correlationId, token]));

    for (const { token, response } of responses) {
      expect(response.body.errors).toBeUndefined();
      const even = Number(/\d+/.exec(token)?.[0]) % 2 === 0;
      for (const customer of [...(response.body.data?.customers ?? []), ...(response.body.data?.again ?? [])]) {
        expect(customer.qualifications).toEqual([{ qualification: `Q-${token}` }]);
      }
      expect(response.body.data?.customers.map((customer) => customer.mcaDirectlySigned)).toEqual(ids.map(() => even));
    }
    // Each token: one call per (resource, customer), shared by its two requests (coalescing, never across tokens),
    // carrying the token of the request that caused it.
    expect(upstream.calls).toHaveLength(12 * ids.length * 2);
    for (const call of upstream.calls) {
      expect(secretOf(call)).toBe(tokenOfCorrelation.get(String(call.headers['ms-correlationid'])));
    }
    for (const token of tokens) {
      expect(upstream.calls.filter((call) => secretOf(call) === token)).toHaveLength(ids.length * 2);
    }
  });

  it("keeps one token's throttling window from holding another token", async () => {
    upstream.setHandler((call, res) => {
      if (secretOf(call) === 'throttled-1') {
        return json(res, 429, { statusCode: 429, message: 'Try again in 60 seconds.' }, { 'retry-after': '60' });
      }
      return defaultHandler(call, res, 1);
    });
    const gw = await gatewayWith({ requestBudgetMs: 2_000 });
    const document = `{ customer(id: "${customerId(1)}") { qualifications { kind } } }`;
    const throttled = await gw.query(document, undefined, { authorization: bearer('throttled-1') });
    expect(throttled.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    const other = await gw.query(document, undefined, { authorization: bearer('fresh-2') });
    expect(other.body).toEqual({ data: { customer: { qualifications: [{ kind: 'EDUCATION' }] } } });
    // The throttled token waits out its own window without calling again.
    const again = await gw.query(document, undefined, { authorization: bearer('throttled-1') });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_THROTTLED');
    expect(upstream.calls.map(secretOf)).toEqual(['throttled-1', 'fresh-2']);
  });
});
