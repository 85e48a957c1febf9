import { print } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfirmCustomerAgreementDocument,
  type ConfirmCustomerAgreementMutation,
  type ConfirmCustomerAgreementMutationVariables,
} from '../schema/generated/graphql';
import { DEFAULT_CALLER, DEFAULT_TENANT, type EntraStandIn, startEntra } from './support/entra';
import { useGateway } from './support/fixtures';
import { customerId, type RunningGateway, startGateway } from './support/gateway';
import { captureLogs } from './support/logs';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { unsignedJwt } from './support/tokens';
import {
  agreementsBody,
  CURRENT_TEMPLATE,
  json,
  startUpstream,
  TEMPLATE_ID,
  type Upstream,
  type UpstreamHandler,
} from './support/upstream';

const MUTATION = print(ConfirmCustomerAgreementDocument);
const CUSTOMER = customerId(1);
const OLDER_TEMPLATE_ID = '0c2b7a5e-51b6-4b1e-9c3e-5d4f0a7e1b2c';
const READ_ACCEPTANCE = `query Acceptance($id: ID!) {
  customer(id: $id) { mcaAcceptance { accepted attestations { templateId primaryContact { email } } } }
}`;

type ConfirmInput = ConfirmCustomerAgreementMutationVariables['input'];
type Contact = ConfirmInput['primaryContact'];

/** A valid confirmation; `patch` replaces fields, `contact` fields of the primary contact. */
function confirmation(patch: Partial<Omit<ConfirmInput, 'primaryContact'>> = {}, contact: Partial<Contact> = {}) {
  return {
    customerId: CUSTOMER,
    dateAgreed: '2024-05-01T12:30:00+02:00',
    ...patch,
    primaryContact: {
      firstName: 'Tania',
      lastName: 'Carr',
      email: 'someone@example.com',
      phoneNumber: '1234567890',
      ...contact,
    },
  };
}

/**
 * A Partner Center that remembers the attestations POSTed: GET agreements lists them, GET /agreements has the current
 * template after an older one, the direct status is false (so acceptance rests on the attestations).
 */
function statefulHandler(): UpstreamHandler {
  const held = new Map<string, Array<Record<string, unknown>>>();
  return (call, res) => {
    if (call.resource === 'agreement_metadata' && call.method === 'GET') {
      return json(
        res,
        200,
        agreementsBody([{ ...CURRENT_TEMPLATE, templateId: OLDER_TEMPLATE_ID, versionRank: 1 }, CURRENT_TEMPLATE]),
      );
    }
    if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus') return json(res, 200, { isSigned: false });
    if (call.resource !== 'agreements') return json(res, 404, { code: 600008, description: 'Not found' });
    const list = held.get(call.customerId ?? '') ?? [];
    held.set(call.customerId ?? '', list);
    if (call.method === 'GET') return json(res, 200, agreementsBody(list));
    const body = JSON.parse(call.body) as Record<string, unknown>;
    const created = {
      ...body,
      // As Partner Center writes it: no milliseconds, no zone.
      dateAgreed: String(body.dateAgreed).replace(/\.\d+Z$/, ''),
      agreementLink: CURRENT_TEMPLATE.agreementLink,
      userId: '5f2c8e4a-0c7d-4b55-9a51-8a7c3b9e6d10',
    };
    list.push(created);
    return json(res, 201, created);
  };
}

/** A JWT-shaped bearer token whose claims say app-only (signature is never checked by the gateway). */
function appOnlyToken(): string {
  return unsignedJwt({ idtyp: 'app', appid: 'some-app' });
}

const methodsAndResources = (upstream: Upstream) =>
  upstream.calls.map((c) => `${c.method} ${c.resource}`).sort((a, b) => a.localeCompare(b));

describe('confirmCustomerAgreement', () => {
  const { upstream, gw } = useGateway({ attemptTimeoutMs: 300, requestBudgetMs: 3000 });
  beforeEach(() => {
    upstream.setHandler(statefulHandler());
  });

  const confirm = (input: ConfirmInput, headers?: Record<string, string | null>, on: RunningGateway = gw) =>
    on.query<ConfirmCustomerAgreementMutation>(MUTATION, { input }, headers);

  it('posts the current template with the trimmed contact and returns the attestation and the customer read afresh', async () => {
    const response = await confirm(
      confirmation(
        { customerId: `{${CUSTOMER.toUpperCase()}}` },
        {
          firstName: '  Tania ',
          lastName: ' Carr',
          email: ' someone@example.com ',
          phoneNumber: '+1 (425) 555-0100',
        },
      ),
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({
      confirmCustomerAgreement: {
        attestation: {
          dateAgreed: '2024-05-01T10:30:00.000Z',
          templateId: TEMPLATE_ID,
          currentTemplate: true,
          agreementLink: 'https://aka.ms/customeragreement',
          primaryContact: {
            firstName: 'Tania',
            lastName: 'Carr',
            email: 'someone@example.com',
            phoneNumber: '+1 (425) 555-0100',
          },
        },
        customer: {
          id: CUSTOMER,
          mcaAcceptance: {
            accepted: true,
            directlySigned: false,
            attestations: [{ dateAgreed: '2024-05-01T10:30:00.000Z' }],
          },
        },
      },
    });
    expect(methodsAndResources(upstream)).toEqual([
      'GET agreement_metadata',
      'GET agreements',
      'GET directSignedMicrosoftCustomerAgreementStatus',
      'POST agreements',
    ]);
    // The template is read before the POST, the customer after it.
    expect(upstream.calls.slice(0, 2).map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /v1/agreements',
      `POST /v1/customers/${CUSTOMER}/agreements`,
    ]);
    const [metadata, post] = upstream.calls;
    expect(metadata?.query.get('agreementType')).toBe('MicrosoftCustomerAgreement');
    // Exactly these fields and values (JSON key order carries no meaning, so it is not pinned).
    expect(JSON.parse(post?.body ?? '')).toStrictEqual({
      primaryContact: {
        firstName: 'Tania',
        lastName: 'Carr',
        email: 'someone@example.com',
        phoneNumber: '+1 (425) 555-0100',
      },
      templateId: TEMPLATE_ID,
      dateAgreed: '2024-05-01T10:30:00.000Z',
      type: 'MicrosoftCustomerAgreement',
    });
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.headers.authorization).toBe('Bearer test-token-app-user');
    const reread = upstream.callsTo('agreements').find((c) => c.method === 'GET');
    expect(reread?.path).toBe(`/v1/customers/${CUSTOMER}/agreements`);
    expect(reread?.query.get('agreementType')).toBe('MicrosoftCustomerAgreement');
    expect(new Set(upstream.calls.map((c) => c.headers['ms-correlationid']))).toEqual(
      new Set([post?.headers['ms-correlationid']]),
    );
  });

  it('leaves the phone number out of the POST when none is given', async () => {
    const response = await confirm(confirmation({}, { phoneNumber: null }));
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.confirmCustomerAgreement.attestation.primaryContact.phoneNumber).toBeNull();
    expect(JSON.parse(upstream.callsTo('agreements').find((c) => c.method === 'POST')?.body ?? '')).toStrictEqual({
      primaryContact: { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com' },
      templateId: TEMPLATE_ID,
      dateAgreed: '2024-05-01T10:30:00.000Z',
      type: 'MicrosoftCustomerAgreement',
    });
  });

  const inTenMinutes = () => new Date(Date.now() + 10 * 60_000).toISOString();
  const refusals: Array<[string, () => ConfirmInput, Record<string, unknown>, string]> = [
    [
      'a customer id that is not a GUID',
      () => confirmation({ customerId: 'contoso' }),
      { code: 'BAD_USER_INPUT', invalidId: 'contoso', field: 'customerId' },
      'input.customerId: expected a customer tenant id as a GUID (e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6), got "contoso".',
    ],
    [
      'a dateAgreed more than 5 minutes in the future',
      () => confirmation({ dateAgreed: inTenMinutes() }),
      { code: 'BAD_USER_INPUT', field: 'dateAgreed' },
      'input.dateAgreed: expected a date that is not in the future.',
    ],
    [
      'a dateAgreed before 2019-03-01',
      () => confirmation({ dateAgreed: '2019-02-28T23:59:59Z' }),
      { code: 'BAD_USER_INPUT', field: 'dateAgreed' },
      'input.dateAgreed: expected a date on or after 2019-03-01.',
    ],
    [
      'a first name that is blank after trimming',
      () => confirmation({}, { firstName: '   ' }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.firstName' },
      'input.primaryContact.firstName: expected 1 to 100 characters after trimming.',
    ],
    [
      'a last name that is empty',
      () => confirmation({}, { lastName: '' }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.lastName' },
      'input.primaryContact.lastName: expected 1 to 100 characters after trimming.',
    ],
    [
      'a first name of 101 characters',
      () => confirmation({}, { firstName: 'x'.repeat(101) }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.firstName' },
      'input.primaryContact.firstName: expected 1 to 100 characters after trimming.',
    ],
    [
      'a last name of 101 characters',
      () => confirmation({}, { lastName: 'x'.repeat(101) }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.lastName' },
      'input.primaryContact.lastName: expected 1 to 100 characters after trimming.',
    ],
    ...(
      [
        ['an email without @', 'someone.example.com'],
        ['an email with two @', 'someone@fabrikam.example@example.com'],
        ['an email without a dot in its domain', 'someone@example'],
        ['an email longer than 254 characters', `${'a'.repeat(64)}@${'b'.repeat(186)}.example`],
        ['an email with nothing before the @', '@example.com'],
        ['an email whose domain starts with a dot', 'someone@.example.com'],
        ['an email whose domain ends with a dot', 'someone@example.com.'],
        ['an email with a space inside', 'some one@example.com'],
      ] as const
    ).map(([name, email]): [string, () => ConfirmInput, Record<string, unknown>, string] => [
      name,
      () => confirmation({}, { email }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.email' },
      'input.primaryContact.email: expected an email address of at most 254 characters, with one @ and a dot in its domain.',
    ]),
    ...(
      [
        ['a phone number of 3 characters', '123'],
        ['a phone number with letters', '425-555-CALL'],
        ['a phone number of 33 characters', '1'.repeat(33)],
      ] as const
    ).map(([name, phoneNumber]): [string, () => ConfirmInput, Record<string, unknown>, string] => [
      name,
      () => confirmation({}, { phoneNumber }),
      { code: 'BAD_USER_INPUT', field: 'primaryContact.phoneNumber' },
      'input.primaryContact.phoneNumber: expected 4 to 32 characters of digits, spaces and + - ( ).',
    ]),
  ];

  it.each(refusals)(
    'refuses %s with BAD_USER_INPUT naming the field and no upstream call',
    async (_name, input, extensions, message) => {
      const response = await confirm(input());
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors?.[0]?.path).toEqual(['confirmCustomerAgreement']);
      expect(response.body.errors?.[0]?.extensions).toEqual(extensions);
      expect(response.body.errors?.[0]?.message).toBe(message);
      expect(upstream.calls).toHaveLength(0);
    },
  );

  it('accepts a dateAgreed 4 minutes in the future and a phone number with spaces, + and parentheses', async () => {
    const dateAgreed = new Date(Date.now() + 4 * 60_000).toISOString();
    const response = await confirm(confirmation({ dateAgreed }, { phoneNumber: '+1 (425) 555-0100' }));
    expect(response.body.errors).toBeUndefined();
    const posts = upstream.callsTo('agreements').filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(JSON.parse(posts[0]?.body ?? '{}')).toMatchObject({
      dateAgreed,
      primaryContact: { phoneNumber: '+1 (425) 555-0100' },
    });
  });

  it('accepts the edges: 2019-03-01 at midnight, names of 1 and 100 characters, an email of 254, phone numbers of 4 and 32', async () => {
    const longest = `${'a'.repeat(64)}@${'b'.repeat(181)}.example`;
    expect(longest).toHaveLength(254);
    const inputs = [
      confirmation({ dateAgreed: '2019-03-01T00:00:00Z' }, { phoneNumber: ' 1234 ' }),
      confirmation({}, { firstName: ` ${'f'.repeat(100)} `, lastName: 'l'.repeat(100), email: longest }),
      confirmation({}, { phoneNumber: '('.repeat(32) }),
      confirmation({}, { firstName: 'T', lastName: 'C' }),
    ];
    for (const input of inputs) expect((await confirm(input)).body.errors).toBeUndefined();
    const posted = upstream.calls
      .filter((c) => c.method === 'POST')
      .map((c) => JSON.parse(c.body) as { dateAgreed: string; primaryContact: Record<string, string> });
    expect(posted.map((body) => [body.dateAgreed, body.primaryContact])).toEqual([
      [
        '2019-03-01T00:00:00.000Z',
        { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com', phoneNumber: '1234' },
      ],
      [
        '2024-05-01T10:30:00.000Z',
        {
          firstName: 'f'.repeat(100),
          lastName: 'l'.repeat(100),
          email: longest,
          phoneNumber: '1234567890',
        },
      ],
      [
        '2024-05-01T10:30:00.000Z',
        { firstName: 'Tania', lastName: 'Carr', email: 'someone@example.com', phoneNumber: '('.repeat(32) },
      ],
      [
        '2024-05-01T10:30:00.000Z',
        { firstName: 'T', lastName: 'C', email: 'someone@example.com', phoneNumber: '1234567890' },
      ],
    ]);
  });

  it('refuses an app-only token with FORBIDDEN and no upstream call', async () => {
    const response = await confirm(confirmation(), { authorization: appOnlyToken() });
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
    expect(response.body.errors?.[0]?.message).toBe(
      'confirmCustomerAgreement needs an App+User token; the token sent is app-only.',
    );
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses a request without a token with UNAUTHENTICATED and no upstream call', async () => {
    const response = await confirm(confirmation(), { authorization: null });
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses in the US Government cloud with NOT_SUPPORTED_IN_CLOUD and no upstream call', async () => {
    const usgov = await startGateway(upstream.url, { cloud: 'usgov' });
    try {
      const response = await confirm(confirmation(), undefined, usgov);
      expect(response.body.data).toBeNull();
      expect(response.body.errors?.[0]?.extensions?.code).toBe('NOT_SUPPORTED_IN_CLOUD');
      expect(response.body.errors?.[0]?.message).toBe(
        'confirmCustomerAgreement is available in the public cloud only; this gateway serves the usgov cloud.',
      );
    } finally {
      await usgov.close();
    }
    expect(upstream.calls).toHaveLength(0);
  });

  it('sends a POST again with the same MS-RequestId when the connection dropped before any response', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) => {
      if (call.method === 'POST' && attempt === 1) {
        res.socket?.destroy();
        return;
      }
      return stateful(call, res, attempt);
    });
    const response = await confirm(confirmation());
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.confirmCustomerAgreement.attestation.templateId).toBe(TEMPLATE_ID);
    expect(response.body.data?.confirmCustomerAgreement.customer?.mcaAcceptance?.attestations).toHaveLength(1);
    const posts = upstream.calls.filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]?.headers['ms-requestid']).toEqual(expect.any(String));
    expect(posts[1]?.headers['ms-requestid']).toBe(posts[0]?.headers['ms-requestid']);
    expect(posts[1]?.body).toBe(posts[0]?.body);
    // The template may come from the hour-long metadata cache of an earlier test: at most one read, never again.
    expect(upstream.callsTo('agreement_metadata').length).toBeLessThanOrEqual(1);
  });

  it('never sends a POST again once it got a response, even a 500', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) =>
      call.method === 'POST'
        ? json(res, 500, { code: 500, description: 'Internal error' })
        : stateful(call, res, attempt),
    );
    const response = await confirm(confirmation());
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(response.body.errors?.[0]?.extensions?.upstream).toMatchObject({ status: 500 });
    expect(
      upstream.calls.filter((c) => c.resource !== 'agreement_metadata').map((c) => `${c.method} ${c.resource}`),
    ).toEqual(['POST agreements']);
    expect(upstream.callsTo('agreement_metadata').length).toBeLessThanOrEqual(1);
  });

  it('returns the attestation when reading the customer back fails, with the error at the read path', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) =>
      call.method === 'GET' && call.resource === 'agreements'
        ? json(res, 503, { code: 503, description: 'Service unavailable' })
        : stateful(call, res, attempt),
    );
    const response = await confirm(confirmation());
    expect(response.body.data?.confirmCustomerAgreement.attestation).toEqual({
      dateAgreed: '2024-05-01T10:30:00.000Z',
      templateId: TEMPLATE_ID,
      currentTemplate: true,
      agreementLink: 'https://aka.ms/customeragreement',
      primaryContact: {
        firstName: 'Tania',
        lastName: 'Carr',
        email: 'someone@example.com',
        phoneNumber: '1234567890',
      },
    });
    // mcaAcceptance is nullable: the failed read nulls it alone, and the customer (its id) is still there.
    expect(response.body.data?.confirmCustomerAgreement.customer).toEqual({ id: CUSTOMER, mcaAcceptance: null });
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['confirmCustomerAgreement', 'customer', 'mcaAcceptance']);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      upstream: { status: 503 },
    });
    expect(upstream.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(upstream.callsTo('agreements').filter((c) => c.method === 'GET')).toHaveLength(3);
  });

  it('reports BAD_USER_INPUT for a 400 without quoting the contact Partner Center quoted', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) =>
      call.method === 'POST'
        ? json(res, 400, {
            code: 600061,
            description: 'Invalid email someone@example.com',
            message: 'Invalid email someone@example.com',
          })
        : stateful(call, res, attempt),
    );
    const response = await confirm(confirmation());
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.extensions?.upstream).toMatchObject({ status: 400, code: 600061 });
    expect(response.body.errors?.[0]?.message).toBe('Partner Center answered 400 to the agreement confirmation.');
    expect(response.body.errors?.[0]?.message).not.toContain('someone@example.com');
    expect(JSON.stringify(response.body)).not.toContain('someone@example.com');
    expect(upstream.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('keeps its own message for a 401 and for a confirmation no answer arrived to (no status to name)', async () => {
    const stateful = statefulHandler();
    upstream.setHandler((call, res, attempt) =>
      call.method === 'POST' ? json(res, 401, { code: 0, description: 'Unauthorized' }) : stateful(call, res, attempt),
    );
    const refused = await confirm(confirmation());
    expect(refused.body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ['UNAUTHENTICATED', 'Partner Center answered 401: Unauthorized'],
    ]);

    upstream.setHandler((call, res, attempt) => {
      if (call.method !== 'POST') return stateful(call, res, attempt);
      res.destroy();
    });
    const lost = await confirm(confirmation());
    expect(lost.body.errors).toHaveLength(1);
    expect(lost.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(lost.body.errors?.[0]?.message).not.toContain('answered');
  });

  it("drops the customer's cached agreements so the next read holds the attestation", async () => {
    const cached = await startGateway(upstream.url, { cacheTtlSeconds: 60 });
    const agreementGets = () => upstream.callsTo('agreements').filter((c) => c.method === 'GET');
    try {
      const first = await cached.query(READ_ACCEPTANCE, { id: CUSTOMER });
      expect(first.body).toEqual({ data: { customer: { mcaAcceptance: { accepted: false, attestations: [] } } } });
      expect(agreementGets()).toHaveLength(1);

      const second = await cached.query(READ_ACCEPTANCE, { id: CUSTOMER });
      expect(second.body).toEqual(first.body);
      expect(agreementGets()).toHaveLength(1);

      // The payload's customer is not asked for: nothing but the confirmation itself reads agreements again.
      const confirmed = await cached.query(
        `mutation Confirm($input: ConfirmCustomerAgreementInput!) {
          confirmCustomerAgreement(input: $input) { attestation { templateId } }
        }`,
        { input: confirmation() },
      );
      expect(confirmed.body).toEqual({
        data: { confirmCustomerAgreement: { attestation: { templateId: TEMPLATE_ID } } },
      });
      expect(agreementGets()).toHaveLength(1);

      const third = await cached.query(READ_ACCEPTANCE, { id: CUSTOMER });
      expect(third.body).toEqual({
        data: {
          customer: {
            mcaAcceptance: {
              accepted: true,
              attestations: [{ templateId: TEMPLATE_ID, primaryContact: { email: 'someone@example.com' } }],
            },
          },
        },
      });
      expect(agreementGets()).toHaveLength(2);
    } finally {
      await cached.close();
    }
  });

  it('writes one audit line per confirmation and never logs the contact', async () => {
    const logs = captureLogs('trace');
    const logged = await startGateway(upstream.url, {}, { logger: logs.logger });
    const contact = {
      firstName: 'Zephyrine',
      lastName: 'Quackenbush',
      email: 'zq.contact@fabrikam.example',
      phoneNumber: '+44 (20) 7946-0958',
    };
    const refusedContact = { ...contact, email: 'zq.refused@fabrikam' };
    try {
      const confirmed = await confirm(confirmation({}, contact), undefined, logged);
      expect(confirmed.body.errors).toBeUndefined();
      const refused = await confirm(confirmation({ customerId: customerId(2) }, refusedContact), undefined, logged);
      expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'primaryContact.email' });
      expect(refused.body.errors?.[0]?.message).not.toContain('zq.refused');
    } finally {
      await logged.close();
    }
    const post = upstream.calls.find((c) => c.method === 'POST');
    expect(upstream.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    const audit = logs.withMessage('customer agreement confirmation');
    expect(audit).toEqual([
      expect.objectContaining({
        level: 'info',
        caller: null,
        customerId: CUSTOMER,
        templateId: TEMPLATE_ID,
        outcome: 'confirmed',
        correlationId: post?.headers['ms-correlationid'],
      }),
      expect.objectContaining({
        level: 'info',
        caller: null,
        customerId: customerId(2),
        templateId: null,
        outcome: 'BAD_USER_INPUT',
        correlationId: expect.any(String),
      }),
    ]);
    expect(audit[1]?.correlationId).not.toBe(audit[0]?.correlationId);
    expect(logs.withMessage('partner center confirmed a customer agreement')).toEqual([
      expect.objectContaining({
        level: 'info',
        customerId: CUSTOMER,
        templateId: TEMPLATE_ID,
        status: 201,
        requestId: post?.headers['ms-requestid'],
        correlationId: post?.headers['ms-correlationid'],
      }),
    ]);
    // The client's trace line names each call's resource.
    expect(
      logs
        .withMessage('partner center call')
        .map((line) => `${line.method} ${line.resource}`)
        .sort(),
    ).toEqual(['GET agreement_metadata', 'GET agreements', 'GET mca_status', 'POST agreements']);
    // Trace level writes everything the gateway logs: not one line may hold the contact.
    const output = logs.lines.join('\n');
    expect(logs.records().some((line) => line.level === 'trace' || line.level === 'debug')).toBe(true);
    for (const personal of [...Object.values(contact), refusedContact.email, 'zq.contact', 'zq.refused']) {
      expect(output).not.toContain(personal);
    }
    expect(output).not.toContain('test-token-app-user');
  });
});

describe('confirmCustomerAgreement in a gateway that signs in itself', () => {
  let entra: EntraStandIn;
  let upstream: Upstream;
  let gw: RunningGateway;
  const logs = captureLogs('info');

  beforeAll(async () => {
    upstream = await startUpstream(statefulHandler());
    entra = await startEntra();
    gw = await startSignedInGateway(upstream.url, signInSettings(entra, 'app-user'), {}, { logger: logs.logger });
  });
  afterAll(async () => {
    await gw.close();
    await entra.close();
    await upstream.close();
  });

  it('lets only a caller with a write role confirm, and names the verified caller in the audit line', async () => {
    const reader = await entra.signCallerToken({ roles: ['PartnerCenter.Read'] });
    const refused = await gw.query<ConfirmCustomerAgreementMutation>(
      MUTATION,
      { input: confirmation() },
      bearer(reader),
    );
    expect(refused.body.data).toBeNull();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'MISSING_ROLE' });
    expect(upstream.calls).toHaveLength(0);

    const writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
    const confirmed = await gw.query<ConfirmCustomerAgreementMutation>(
      MUTATION,
      { input: confirmation() },
      bearer(writer),
    );
    expect(confirmed.body.errors).toBeUndefined();
    expect(confirmed.body.data?.confirmCustomerAgreement.attestation.templateId).toBe(TEMPLATE_ID);
    expect(confirmed.body.data?.confirmCustomerAgreement.customer?.mcaAcceptance?.accepted).toBe(true);
    const posts = upstream.calls.filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(1);
    // The gateway's own token goes upstream, never the caller's.
    expect(posts[0]?.headers.authorization).not.toContain(writer);

    expect(logs.withMessage('customer agreement confirmation')).toEqual([
      expect.objectContaining({
        level: 'info',
        caller: { oid: DEFAULT_CALLER.oid, tid: DEFAULT_TENANT },
        customerId: CUSTOMER,
        templateId: null,
        outcome: 'FORBIDDEN',
        correlationId: expect.any(String),
      }),
      expect.objectContaining({
        level: 'info',
        caller: { oid: DEFAULT_CALLER.oid, tid: DEFAULT_TENANT },
        customerId: CUSTOMER,
        templateId: TEMPLATE_ID,
        outcome: 'confirmed',
        correlationId: posts[0]?.headers['ms-correlationid'],
      }),
    ]);
    const output = logs.lines.join('\n');
    expect(output).not.toContain(writer);
    expect(output).not.toContain('someone@example.com');
  });
});
