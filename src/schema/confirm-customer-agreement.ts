// Owns the confirmCustomerAgreement mutation: its input and the checks made
// before any upstream call (BAD_USER_INPUT naming the field), the POST of the
// current MCA template, the snapshot updated at once, its payload and its
// audit line. The customer's contact is personal data: it is sent to Partner
// Center and answered to the caller, never logged or put in an error message.

import { BadUserInputError, GatewayError } from '../domain/errors';
import { MCA_TYPE, type NewAgreementBody, type WireAgreement } from '../partner-center/agreements';
import type { Context } from '../request/context';
import { auditedCaller, auditedCustomerId } from './audit';
import { builder } from './builder';
import { type CustomerParent, CustomerRef, parseCustomerId, refusalWithoutCall } from './customer';
import { type AttestationShape, McaAttestationRef } from './mca-acceptance';
import { DateTimeScalar } from './qualification';

/** Partner Center takes no MCA acceptance before the agreement existed. */
const EARLIEST_DATE_AGREED = Date.parse('2019-03-01T00:00:00Z');
/** How far in the future dateAgreed may be: clocks differ. */
const CLOCK_LEEWAY_MS = 5 * 60_000;

const AgreementContactInput = builder.inputType('AgreementContactInput', {
  description: "The customer's person who accepted the agreement.",
  fields: (t) => ({
    firstName: t.string({ required: true, description: 'First name, 1 to 100 characters.' }),
    lastName: t.string({ required: true, description: 'Last name, 1 to 100 characters.' }),
    email: t.string({ required: true, description: 'Email address, at most 254 characters.' }),
    phoneNumber: t.string({
      required: false,
      description: 'Phone number, 4 to 32 characters of digits, spaces and + - ( ).',
    }),
  }),
});

const ConfirmCustomerAgreementInput = builder.inputType('ConfirmCustomerAgreementInput', {
  description: "The partner's confirmation that a customer accepted the Microsoft Customer Agreement.",
  fields: (t) => ({
    customerId: t.id({ required: true, description: 'The customer tenant id, a GUID.' }),
    dateAgreed: t.field({
      type: DateTimeScalar,
      required: true,
      description: 'When the customer accepted: not in the future (5 minutes of clock leeway), not before 2019-03-01.',
    }),
    primaryContact: t.field({
      type: AgreementContactInput,
      required: true,
      description: "The customer's person who accepted it.",
    }),
  }),
});

interface ConfirmPayload {
  readonly customer: CustomerParent;
  readonly attestation: AttestationShape;
}

const ConfirmCustomerAgreementPayloadRef = builder
  .objectRef<ConfirmPayload>('ConfirmCustomerAgreementPayload')
  .implement({
    description:
      'The attestation Partner Center created, and the customer read afresh. Partner Center applied the confirmation whenever this payload is returned, even when reading the customer back failed.',
    fields: (t) => ({
      customer: t.field({
        type: CustomerRef,
        nullable: true,
        description:
          'The customer, read afresh after the confirmation, so its mcaAcceptance holds the new attestation. Null, with the error at its path, when that read fails: the confirmation was made all the same.',
        resolve: (payload) => payload.customer,
      }),
      attestation: t.field({
        type: McaAttestationRef,
        description: 'The attestation as Partner Center created it.',
        resolve: (payload) => payload.attestation,
      }),
    }),
  });

builder.mutationField('confirmCustomerAgreement', (t) =>
  t.field({
    type: ConfirmCustomerAgreementPayloadRef,
    description:
      'Confirms (attests) that the customer accepted the Microsoft Customer Agreement, on the current template (Partner Center: POST /customers/{id}/agreements), so that orders for it can be placed. Confirming again adds a newer attestation. Needs an App+User token and a write role; BAD_USER_INPUT naming the field (extensions.field), with no upstream call, when the input is not acceptable.',
    args: {
      input: t.arg({
        type: ConfirmCustomerAgreementInput,
        required: true,
        description: 'The customer, when it accepted and who accepted it.',
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      let outcome = 'confirmed';
      let templateId: string | null = null;
      try {
        await ctx.access.write();
        const customerId = customerIdOf(input.customerId);
        const body = checkedInput(input, Date.now());
        await refusalWithoutCall(ctx, 'confirmCustomerAgreement');
        templateId = await ctx.loaders.agreementTemplate.load('current');
        const created = await ctx.client.confirmAgreement(customerId, { ...body, templateId }, ctx.call);
        // The payload's customer reads its agreements afresh; the cache was dropped for every token and replica.
        ctx.loaders.agreements.clear(customerId);
        showInSnapshot(ctx, customerId, created, templateId);
        return { customer: { id: customerId }, attestation: { agreement: created, currentTemplateId: templateId } };
      } catch (error) {
        outcome = error instanceof GatewayError ? error.code : 'INTERNAL_SERVER_ERROR';
        throw error;
      } finally {
        ctx.call.log?.info(
          {
            caller: await auditedCaller(ctx),
            customerId: auditedCustomerId(input.customerId),
            templateId,
            outcome,
          },
          'customer agreement confirmation',
        );
      }
    },
  }),
);

/** The canonical id, or BAD_USER_INPUT naming the field as every other bad field of the input is named. */
function customerIdOf(raw: string | number): string {
  try {
    return parseCustomerId(String(raw), 'input.customerId');
  } catch (error) {
    if (error instanceof GatewayError) error.extensions.field = 'customerId';
    throw error;
  }
}

/** The snapshot (when the sync is on) holds the new attestation at once: the customer counts as accepted. */
function showInSnapshot(ctx: Context, customerId: string, created: WireAgreement, templateId: string): void {
  const store = ctx.customerBase?.store;
  const stored = store?.get(customerId);
  if (!store || !stored) return;
  const agreements = [created, ...(stored.agreements ?? [])].sort(
    (a, b) => Date.parse(b.dateAgreed) - Date.parse(a.dateAgreed),
  );
  store.update(customerId, { agreements }, 'GATEWAY');
  store.templateRead(templateId);
}

interface ConfirmInput {
  readonly dateAgreed: Date;
  readonly primaryContact: {
    readonly firstName: string;
    readonly lastName: string;
    readonly email: string;
    readonly phoneNumber?: string | null;
  };
}

/** A bad field of the input: BAD_USER_INPUT naming it, without the value (it may be personal data). */
const badField = (field: string, expected: string) => new BadUserInputError(`input.${field}: ${expected}`, { field });

/** The POST body but its template, or BAD_USER_INPUT naming the first field that is not acceptable. */
export function checkedInput(input: ConfirmInput, now: number): Omit<NewAgreementBody, 'templateId'> {
  const at = input.dateAgreed.getTime();
  if (at > now + CLOCK_LEEWAY_MS) throw badField('dateAgreed', 'expected a date that is not in the future.');
  if (at < EARLIEST_DATE_AGREED) throw badField('dateAgreed', 'expected a date on or after 2019-03-01.');
  const contact = input.primaryContact;
  const name = (field: 'firstName' | 'lastName') => {
    const value = contact[field].trim();
    if (value.length < 1 || value.length > 100) {
      throw badField(`primaryContact.${field}`, 'expected 1 to 100 characters after trimming.');
    }
    return value;
  };
  const firstName = name('firstName');
  const lastName = name('lastName');
  const email = contact.email.trim();
  if (!isEmail(email)) {
    throw badField(
      'primaryContact.email',
      'expected an email address of at most 254 characters, with one @ and a dot in its domain.',
    );
  }
  const phone = contact.phoneNumber ?? undefined;
  const phoneNumber = phone?.trim();
  if (phoneNumber !== undefined && !/^[0-9 +\-()]{4,32}$/.test(phoneNumber)) {
    throw badField('primaryContact.phoneNumber', 'expected 4 to 32 characters of digits, spaces and + - ( ).');
  }
  return {
    primaryContact: { firstName, lastName, email, ...(phoneNumber === undefined ? {} : { phoneNumber }) },
    dateAgreed: new Date(at).toISOString(),
    type: MCA_TYPE,
  };
}

/** One @, something before it, and a domain with a dot that neither starts nor ends it; no spaces. */
function isEmail(value: string): boolean {
  if (value.length > 254 || /\s/.test(value)) return false;
  const parts = value.split('@');
  if (parts.length !== 2) return false;
  const [local = '', domain = ''] = parts;
  return local.length > 0 && domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.');
}
