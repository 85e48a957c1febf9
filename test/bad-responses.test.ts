import { describe, expect, it } from 'vitest';
import { cleanUpstreamText } from '../src/domain/errors';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useGateway } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';
import { defaultHandler, json } from './support/upstream';

const MCA = /* GraphQL */ `
  query ($id: ID!) {
    customer(id: $id) { id mcaDirectlySigned qualifications { kind } }
  }
`;

describe('bad responses', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 2_000, requestBudgetMs: 5_000 });

  it.each([
    ['truncated JSON', '[{"qualification":"Education"'],
    ['an empty body', ''],
    ['an HTML page', '<html><body>Service is up</body></html>'],
  ])('reports a 200 carrying %s as UPSTREAM_BAD_RESPONSE without retrying', async (_name, text) => {
    upstream.setHandler((_call, res) => json(res, 200, text));
    const id = customerId(1);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    const calls = upstream.callsTo('qualifications', id);
    expect(calls).toHaveLength(1);
    expect(body.data).toEqual({ customer: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.path).toEqual(['customer', 'qualifications']);
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 200 with a body that is not JSON.');
    expect(body.errors?.[0]?.extensions).toEqual({
      code: 'UPSTREAM_BAD_RESPONSE',
      upstream: {
        status: 200,
        requestId: calls[0]?.headers['ms-requestid'],
        correlationId: calls[0]?.headers['ms-correlationid'],
      },
    });
  });

  const NOT_A_LIST = `expected an array of qualifications for customer ${customerId(2)}`;
  it.each([
    ['an object without qualifications', { value: [] }, NOT_A_LIST],
    ['a wrapper whose qualifications is not a list', { qualifications: 'Education' }, NOT_A_LIST],
    ['null', null, NOT_A_LIST],
    ['a number', 42, NOT_A_LIST],
    ['a list holding a number', [42], 'item 0 has no string "qualification"'],
    ['a list holding null', [null], 'item 0 has no string "qualification"'],
    [
      'an item without a string qualification',
      [{ qualification: 'Education' }, { qualification: 7, vettingStatus: 'Approved' }],
      'item 1 has no string "qualification"',
    ],
    ['an item that is a list', [['Education']], 'item 0 has no string "qualification"'],
  ])('reports qualifications shaped as %s as UPSTREAM_BAD_RESPONSE', async (_name, payload, expected) => {
    upstream.setHandler((_call, res) => json(res, 200, JSON.stringify(payload)));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(2) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ['UPSTREAM_BAD_RESPONSE', `Partner Center sent an unexpected body: ${expected}.`],
    ]);
    expect(body.errors?.[0]?.extensions?.upstream).toEqual({
      status: 200,
      requestId: upstream.calls[0]?.headers['ms-requestid'],
      correlationId: upstream.calls[0]?.headers['ms-correlationid'],
    });
  });

  it('accepts qualifications wrapped as {"qualifications": [...]}', async () => {
    upstream.setHandler((_call, res) => json(res, 200, { qualifications: [{ qualification: 'Nonprofit' }] }));
    const id = customerId(3);
    const { body } = await gw.query(QUALIFICATIONS, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      customer: { id, qualifications: [{ qualification: 'Nonprofit', kind: 'NONPROFIT' }] },
    });
  });

  it.each([
    ['a string isSigned', { isSigned: 'true' }],
    ['no isSigned', {}],
    ['a list', [true]],
    ['null', null],
  ])('fails only mcaDirectlySigned when its body has %s', async (_name, payload) => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'directSignedMicrosoftCustomerAgreementStatus'
        ? json(res, 200, payload)
        : defaultHandler(call, res, attempt),
    );
    const id = customerId(4);
    const { body } = await gw.query(MCA, { id });
    expect(body.data).toEqual({ customer: { id, mcaDirectlySigned: null, qualifications: [{ kind: 'EDUCATION' }] } });
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customer', 'mcaDirectlySigned'], 'UPSTREAM_BAD_RESPONSE'],
    ]);
    expect(body.errors?.[0]?.message).toBe(
      'Partner Center sent an unexpected body: expected {"isSigned": true|false} from directSignedMicrosoftCustomerAgreementStatus.',
    );
    expect(upstream.calls).toHaveLength(2);
  });

  it('reports a created qualification in an unexpected shape as UPSTREAM_BAD_RESPONSE and posts once', async () => {
    upstream.setHandler((_call, res) => json(res, 201, { created: true }));
    const { body } = await gw.query(ADD_STATE_OWNED, { id: customerId(5) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.data).toBeNull();
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['addCustomerQualification'], 'UPSTREAM_BAD_RESPONSE'],
    ]);
    expect(body.errors?.[0]?.message).toBe(
      'Partner Center sent an unexpected body: expected the created qualification object from POST qualifications.',
    );
    expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({
      status: 201,
      requestId: upstream.calls[0]?.headers['ms-requestid'],
    });
  });

  it('refuses a body larger than 4 MiB as UPSTREAM_BAD_RESPONSE without retrying', async () => {
    const chunk = 'a'.repeat(64 * 1024);
    upstream.setHandler((_call, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('["');
      // 6 MiB of a valid JSON string: only its size is wrong.
      for (let i = 0; i < 96; i++) res.write(chunk);
      res.end('"]');
    });
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(6) });
    expect(upstream.calls).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(body.errors?.[0]?.message).toContain('larger than');
  });

  it('reads a body of exactly 4 MiB, and refuses one byte more', async () => {
    const item = '[{"qualification":"Education"}';
    const ofSize = (bytes: number) => `${item}${' '.repeat(bytes - item.length - 1)}]`;
    for (const [bytes, expected] of [
      [4 * 1024 * 1024, undefined],
      [4 * 1024 * 1024 + 1, 'Partner Center sent a body larger than 4194304 bytes.'],
    ] as const) {
      upstream.setHandler((_call, res) => json(res, 200, ofSize(bytes)));
      const { body } = await gw.query(QUALIFICATIONS, { id: customerId(6) });
      expect(body.errors?.[0]?.message, String(bytes)).toBe(expected);
    }
  });

  it('keeps a bad body in its own customer while the others resolve', async () => {
    const broken = customerId(7);
    upstream.setHandler((call, res, attempt) =>
      call.customerId === broken ? json(res, 200, '{"qualif') : defaultHandler(call, res, attempt),
    );
    const ids = [customerId(8), broken, customerId(9)];
    const { body } = await gw.query<{ customers: unknown[] }>(
      /* GraphQL */ `query ($ids: [ID!]!) { customers(ids: $ids) { id qualifications { kind } } }`,
      { ids },
    );
    expect(body.data?.customers).toEqual([
      { id: ids[0], qualifications: [{ kind: 'EDUCATION' }] },
      null,
      { id: ids[2], qualifications: [{ kind: 'EDUCATION' }] },
    ]);
    expect(body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['customers', 1, 'qualifications'], 'UPSTREAM_BAD_RESPONSE'],
    ]);
  });
});

describe('error bodies', () => {
  const { upstream, gw } = useGateway({ maxAttempts: 1 });

  it.each([
    [
      'PartnerFD',
      403,
      { code: 20002, description: 'No relationship between caller and account.', data: [], source: 'PartnerFD' },
      { code: 'FORBIDDEN', upstreamCode: 20002, text: 'No relationship between caller and account.' },
    ],
    [
      'errorName',
      400,
      {
        code: 600061,
        message: 'The qualification is not valid.',
        description: 'Invalid qualification',
        errorName: 'InvalidQualification',
        isRetryable: false,
        parameters: {},
      },
      { code: 'BAD_USER_INPUT', upstreamCode: 600061, text: 'Invalid qualification' },
    ],
    [
      'statusCode and message',
      503,
      { statusCode: 503, message: 'The service is busy. Try again later.' },
      { code: 'UPSTREAM_UNAVAILABLE', upstreamCode: undefined, text: 'The service is busy. Try again later.' },
    ],
  ])('reads the %s error shape into the code, upstream code and message', async (_name, status, payload, expected) => {
    upstream.setHandler((_call, res) => json(res, status, payload));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(10) });
    const error = body.errors?.[0];
    expect(error?.extensions?.code).toBe(expected.code);
    expect(error?.message).toBe(`Partner Center answered ${status}: ${expected.text}`);
    const call = upstream.calls.at(-1);
    expect(error?.extensions?.upstream).toEqual({
      status,
      ...(expected.upstreamCode === undefined ? {} : { code: expected.upstreamCode }),
      requestId: call?.headers['ms-requestid'],
      correlationId: call?.headers['ms-correlationid'],
    });
  });

  it('survives an error body that is not JSON and never echoes it', async () => {
    upstream.setHandler((_call, res) => json(res, 502, '<html>Bad gateway: secret-internal-host</html>'));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(11) });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 502.');
    expect(JSON.stringify(body)).not.toContain('secret-internal-host');
  });

  it('ignores error fields of the wrong type', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 404, { code: { nested: true }, description: ['not', 'a', 'string'], message: 12 }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(12) });
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 404.');
    expect(body.errors?.[0]?.extensions?.upstream).not.toHaveProperty('code');
  });

  it.each([
    ["the caller's own token", `Token ${TOKEN.split(' ')[1]} is not valid for this tenant.`],
    ['a JWT', 'Token eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJjb250b3NvIn0.c2lnbmF0dXJl was rejected.'],
    ['a bearer header', 'Header was Authorization: Bearer abc.def-ghi and it failed.'],
    ['a long opaque key', `Key ${'A1b2C3d4'.repeat(8)} is unknown.`],
  ])('never passes on %s from an upstream description', async (_name, description) => {
    upstream.setHandler((_call, res) => json(res, 403, { code: 20002, description }));

    const response = await gw.query(QUALIFICATIONS, { id: customerId(13) });

    const message = response.body.errors?.[0]?.message ?? '';
    expect(message).toMatch(/^Partner Center answered 403: .*\[redacted\]/);
    expect(message).not.toContain(TOKEN.split(' ')[1]);
    expect(message).not.toMatch(/eyJ|abc\.def|A1b2C3d4A1b2/);
  });

  it.each([
    ['null', 'null'],
    ['a list', '[{"description":"in a list"}]'],
    ['a string', '"just text"'],
  ])('reads an error body that is JSON %s as carrying no detail', async (_name, text) => {
    upstream.setHandler((_call, res) => json(res, 404, text));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(14) });
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 404.');
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(body.errors?.[0]?.extensions?.upstream).not.toHaveProperty('code');
  });

  it('takes the message when the description is blank', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 404, { code: 404, description: ' \t ', message: 'No such customer.' }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(15) });
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 404: No such customer.');
  });

  it.each([
    ['a name', 'QualificationAlreadyExists', 'QualificationAlreadyExists'],
    ['free text', 'see https://example.test/help for details', undefined],
    ['longer than 100 characters', 'A'.repeat(101), undefined],
    ['a boolean', true, undefined],
    ['a list holding a name', ['QualificationAlreadyExists'], undefined],
  ])('keeps an upstream code that is %s only when it is a name', async (_name, upstreamCode, kept) => {
    upstream.setHandler((_call, res) => json(res, 409, { code: upstreamCode, description: 'Conflict.' }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(16) });
    expect(body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const upstreamInfo = body.errors?.[0]?.extensions?.upstream as Record<string, unknown> | undefined;
    expect(upstreamInfo?.code).toBe(kept);
  });

  it('takes the errorName when the body has no code', async () => {
    upstream.setHandler((_call, res) => json(res, 400, { errorName: 'InvalidQualification', message: 'Invalid.' }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(17) });
    expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({ code: 'InvalidQualification' });
  });

  it('folds runs of spaces and control characters into one space and trims the ends', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 403, { code: 20002, description: '  No   relationship\u0000\u0007between caller\r\nand account.  ' }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(18) });
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 403: No relationship between caller and account.');
  });

  it('passes an upstream description of exactly 200 characters whole', async () => {
    const description = `${'word '.repeat(39)}last.`;
    expect(description).toHaveLength(200);
    upstream.setHandler((_call, res) => json(res, 403, { code: 20002, description }));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(19) });
    expect(body.errors?.[0]?.message).toBe(`Partner Center answered 403: ${description}`);
  });

  it('keeps the readable words around a redacted token, and GUIDs', async () => {
    const guid = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    upstream.setHandler((_call, res) =>
      json(res, 403, {
        code: 20002,
        description: `Customer ${guid} refused bearer: abc123 for tenant; token=eyJhbGci.eyJ0aWQi.c2ln-X_9 here, eyJhbGci.eyJ0aWQi there.`,
      }),
    );
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(20) });
    expect(body.errors?.[0]?.message).toBe(
      `Partner Center answered 403: Customer ${guid} refused [redacted] for tenant; token=[redacted] here, [redacted] there.`,
    );
  });

  it('keeps an upstream description short and on one line', async () => {
    upstream.setHandler((_call, res) =>
      json(res, 403, { code: 20002, description: `Line one.\n\tLine two. ${'x '.repeat(400)}` }),
    );

    const response = await gw.query(QUALIFICATIONS, { id: customerId(13) });

    const message = response.body.errors?.[0]?.message ?? '';
    expect(message.startsWith('Partner Center answered 403: Line one. Line two. x x')).toBe(true);
    expect(message.length).toBe('Partner Center answered 403: '.length + 200);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('cleaning upstream text', () => {
  it('removes the token of an Authorization value given with stray spaces, and nothing when it holds none', () => {
    expect(cleanUpstreamText('Token tok-123 expired.', ' Bearer  tok-123 ')).toBe('Token [redacted] expired.');
    expect(cleanUpstreamText('Token tok-123 expired.', '   ')).toBe('Token tok-123 expired.');
    expect(cleanUpstreamText('Token tok-123 expired.')).toBe('Token tok-123 expired.');
  });
});
