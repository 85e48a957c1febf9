import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConfirmCustomerAgreementDocument } from '../schema/generated/graphql';
import { cleanUpstreamText } from '../src/domain/errors';
import { ADD_STATE_OWNED, QUALIFICATIONS } from './support/documents';
import { useGateway, useUpstream } from './support/fixtures';
import { customerId, TOKEN } from './support/gateway';
import { ATTESTATION, agreementsBody, CURRENT_TEMPLATE, defaultHandler, json, TEMPLATE_ID } from './support/upstream';

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

describe('agreement bodies', () => {
  const { upstream, gatewayWith } = useUpstream();
  const ACCEPTANCE = /* GraphQL */ `
    query ($id: ID!) {
      customer(id: $id) {
        mcaAcceptance {
          accepted
          attestations {
            dateAgreed
            templateId
            currentTemplate
            agreementLink
            primaryContact { firstName lastName email phoneNumber }
          }
        }
      }
    }
  `;
  type Acceptance = {
    customer: {
      mcaAcceptance: {
        accepted: boolean;
        attestations: Array<{ dateAgreed: string; templateId: string; currentTemplate: boolean } & object>;
      } | null;
    } | null;
  };
  /** A gateway whose Partner Center answers GET agreements with `agreements` and GET /agreements with `templates`. */
  async function acceptanceWith(agreements: unknown, templates: unknown = agreementsBody([CURRENT_TEMPLATE])) {
    upstream.setHandler((call, res, attempt) => {
      if (call.resource === 'agreements' && call.method === 'GET') return json(res, 200, agreements);
      if (call.resource === 'agreement_metadata') return json(res, 200, templates);
      return defaultHandler(call, res, attempt);
    });
    const gw = await gatewayWith({ maxAttempts: 1 });
    return (await gw.query<Acceptance>(ACCEPTANCE, { id: customerId(30) })).body;
  }

  const other = customerId(30);
  it.each([
    ['an object without items', { value: [] }, `expected {"items": [...]} of agreements for customer ${other}`],
    ['null', null, `expected {"items": [...]} of agreements for customer ${other}`],
    [
      'items that are not a list',
      { items: { templateId: 'x' } },
      `expected {"items": [...]} of agreements for customer ${other}`,
    ],
    ['an item that is a number', { items: [ATTESTATION, 42] }, 'agreement item 1 is not an object'],
    ['an item that is null', [null], 'agreement item 0 is not an object'],
    ['an item that is a list', [[ATTESTATION]], 'agreement item 0 is not an object'],
    ['a blank templateId', [{ ...ATTESTATION, templateId: '  ' }], 'agreement item 0 has no "templateId"'],
    ['a templateId that is a number', [{ ...ATTESTATION, templateId: 7 }], 'agreement item 0 has no "templateId"'],
    ['no dateAgreed', [{ ...ATTESTATION, dateAgreed: undefined }], 'agreement item 0 has no "dateAgreed" date'],
    [
      'a dateAgreed that is a number',
      [{ ...ATTESTATION, dateAgreed: 1566777600000 }],
      'agreement item 0 has no "dateAgreed" date',
    ],
    [
      'a dateAgreed that is not a date',
      [{ ...ATTESTATION, dateAgreed: 'last Tuesday' }],
      'agreement item 0 has no "dateAgreed" date',
    ],
    [
      'a dateAgreed with a month 13',
      [{ ...ATTESTATION, dateAgreed: '2019-13-01T00:00:00Z' }],
      'agreement item 0 has no "dateAgreed" date',
    ],
    [
      'a dateAgreed with text after it',
      [{ ...ATTESTATION, dateAgreed: '2019-08-26T00:00:00Z tomorrow' }],
      'agreement item 0 has no "dateAgreed" date',
    ],
    [
      'a dateAgreed with text before it',
      [{ ...ATTESTATION, dateAgreed: 'on 2019-08-26' }],
      'agreement item 0 has no "dateAgreed" date',
    ],
    [
      'no primaryContact',
      [{ ...ATTESTATION, primaryContact: undefined }],
      'agreement item 0 has no "primaryContact" with firstName, lastName and email',
    ],
    [
      'a primaryContact that is null',
      [{ ...ATTESTATION, primaryContact: null }],
      'agreement item 0 has no "primaryContact" with firstName, lastName and email',
    ],
    [
      'a blank firstName',
      [{ ...ATTESTATION, primaryContact: { ...ATTESTATION.primaryContact, firstName: ' ' } }],
      'agreement item 0 has no "primaryContact" with firstName, lastName and email',
    ],
    [
      'no lastName',
      [{ ...ATTESTATION, primaryContact: { ...ATTESTATION.primaryContact, lastName: undefined } }],
      'agreement item 0 has no "primaryContact" with firstName, lastName and email',
    ],
    [
      'an email that is not a string',
      [{ ...ATTESTATION, primaryContact: { ...ATTESTATION.primaryContact, email: true } }],
      'agreement item 0 has no "primaryContact" with firstName, lastName and email',
    ],
  ])('fails mcaAcceptance alone when the agreements body has %s', async (_name, agreements, expected) => {
    const body = await acceptanceWith(agreements);
    expect(body.data).toEqual({ customer: { mcaAcceptance: null } });
    expect(body.errors?.map((error) => [error.path, error.extensions?.code, error.message])).toEqual([
      [['customer', 'mcaAcceptance'], 'UPSTREAM_BAD_RESPONSE', `Partner Center sent an unexpected body: ${expected}.`],
    ]);
  });

  it.each([
    ['a day alone, read as midnight UTC', '2019-08-26', '2019-08-26T00:00:00.000Z'],
    ['hours and minutes after a space', '2019-08-26 10:20', '2019-08-26T10:20:00.000Z'],
    ['hours and minutes with a zone', '2019-08-26T10:20Z', '2019-08-26T10:20:00.000Z'],
    ['seven fractional digits, cut and never rounded', '2021-05-06T19:59:56.9999999Z', '2021-05-06T19:59:56.999Z'],
    ['one fractional digit', '2021-05-06T19:59:56.5Z', '2021-05-06T19:59:56.500Z'],
    ['an offset without a colon', '2021-05-06T19:59:56+0200', '2021-05-06T17:59:56.000Z'],
    ['a negative offset', '2021-05-06T19:59:56.1-05:30', '2021-05-07T01:29:56.100Z'],
    ['lower case t and z', '2021-05-06t19:59:56z', '2021-05-06T19:59:56.000Z'],
    ['spaces around it', '  2021-05-06T19:59:56Z ', '2021-05-06T19:59:56.000Z'],
  ])('reads a dateAgreed of %s', async (_name, dateAgreed, expected) => {
    const body = await acceptanceWith([{ ...ATTESTATION, dateAgreed }]);
    expect(body.errors).toBeUndefined();
    expect(body.data?.customer?.mcaAcceptance?.attestations.map((item) => item.dateAgreed)).toEqual([expected]);
  });

  it('takes an item without a type as the MCA, blank optional fields as null, and keeps the order of equal dates', async () => {
    const { type: _type, ...untyped } = ATTESTATION;
    const body = await acceptanceWith({
      items: [
        { ...untyped, templateId: 'first', agreementLink: ' ' },
        { ...ATTESTATION, templateId: 'second', primaryContact: { ...ATTESTATION.primaryContact, phoneNumber: '' } },
        { ...ATTESTATION, templateId: 'newest', dateAgreed: '2019-08-27T00:00:00Z', agreementLink: 7 },
      ],
    });
    expect(body.errors).toBeUndefined();
    const contact = ATTESTATION.primaryContact;
    expect(body.data?.customer?.mcaAcceptance).toEqual({
      accepted: true,
      attestations: [
        {
          dateAgreed: '2019-08-27T00:00:00.000Z',
          templateId: 'newest',
          currentTemplate: false,
          agreementLink: null,
          primaryContact: contact,
        },
        {
          dateAgreed: '2019-08-26T00:00:00.000Z',
          templateId: 'first',
          currentTemplate: false,
          agreementLink: null,
          primaryContact: contact,
        },
        {
          dateAgreed: '2019-08-26T00:00:00.000Z',
          templateId: 'second',
          currentTemplate: false,
          agreementLink: ATTESTATION.agreementLink,
          primaryContact: { ...contact, phoneNumber: null },
        },
      ],
    });
  });

  it('takes the MCA template of the lowest versionRank as current, the first of equal ranks, from a bare list too', async () => {
    const templates = [
      { templateId: 'no-rank', agreementType: 'MicrosoftCustomerAgreement' },
      { templateId: 'cloud-agreement', agreementType: 'MicrosoftCloudAgreement', versionRank: -2 },
      { templateId: ' ', agreementType: 'MicrosoftCustomerAgreement', versionRank: -1 },
      null,
      { templateId: 'untyped', versionRank: 4 },
      { templateId: 'tied', agreementType: 'MicrosoftCustomerAgreement', versionRank: 4 },
      { templateId: 'string-rank', agreementType: 'MicrosoftCustomerAgreement', versionRank: '1' },
    ];
    const attested = (templateId: string) => ({ ...ATTESTATION, templateId });
    const ids = ['no-rank', 'cloud-agreement', 'untyped', 'tied', 'string-rank'];
    const body = await acceptanceWith(ids.map(attested), templates);
    expect(body.errors).toBeUndefined();
    expect(
      body.data?.customer?.mcaAcceptance?.attestations.map((item) => [item.templateId, item.currentTemplate]),
    ).toEqual([
      ['no-rank', false],
      ['cloud-agreement', false],
      ['untyped', true],
      ['tied', false],
      ['string-rank', false],
    ]);
  });

  it.each([
    ['no items', agreementsBody([])],
    [
      'only items of another type or without a templateId',
      [{ templateId: 'x', agreementType: 'Other' }, { versionRank: 0 }],
    ],
    ['an object without items', { templateId: TEMPLATE_ID }],
    ['null', null],
  ])('fails currentTemplate when the agreement metadata has %s', async (_name, templates) => {
    const body = await acceptanceWith([ATTESTATION], templates);
    expect(body.errors?.map((error) => [error.path, error.extensions?.code, error.message])).toEqual([
      [
        ['customer', 'mcaAcceptance', 'attestations', 0, 'currentTemplate'],
        'UPSTREAM_BAD_RESPONSE',
        'Partner Center sent an unexpected body: expected {"items": [{"templateId": ..., "versionRank": ...}]} from GET agreements.',
      ],
    ]);
  });

  it.each([
    ['an object that is no agreement', { created: true }, 'it has no "templateId"'],
    ['an agreement of another type', { ...ATTESTATION, type: 'MicrosoftCloudAgreement' }, 'it is of another type'],
    ['a list', [ATTESTATION], 'it is not an object'],
  ])('refuses a created agreement that is %s as UPSTREAM_BAD_RESPONSE, and posts once', async (_name, created, why) => {
    upstream.setHandler((call, res, attempt) =>
      call.resource === 'agreements' && call.method === 'POST'
        ? json(res, 201, created)
        : defaultHandler(call, res, attempt),
    );
    const gw = await gatewayWith({ maxAttempts: 1 });
    const { body } = await gw.query(print(ConfirmCustomerAgreementDocument), {
      input: {
        customerId: customerId(31),
        dateAgreed: '2024-05-01T12:30:00Z',
        primaryContact: { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com' },
      },
    });
    expect(body.data).toBeNull();
    expect(body.errors?.map((error) => [error.path, error.extensions?.code, error.message])).toEqual([
      [
        ['confirmCustomerAgreement'],
        'UPSTREAM_BAD_RESPONSE',
        `Partner Center sent an unexpected body: expected the created agreement from POST agreements (${why}).`,
      ],
    ]);
    expect(upstream.calls.filter((call) => call.method === 'POST')).toHaveLength(1);
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

  it.each([
    ['null', 'null'],
    ['a list', '[{"code":20002,"description":"listed"}]'],
    ['a string', '"No relationship"'],
    ['a number', '20002'],
  ])('reads an error body that is JSON but %s as no details', async (_name, text) => {
    upstream.setHandler((_call, res) => json(res, 403, text));
    const { body } = await gw.query(QUALIFICATIONS, { id: customerId(13) });
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.message).toBe('Partner Center answered 403.');
    expect(body.errors?.[0]?.extensions?.upstream).not.toHaveProperty('code');
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
