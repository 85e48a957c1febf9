// Owns Customer.mcaAcceptance and its types: whether a customer accepted the
// Microsoft Customer Agreement, signed directly or attested by its partner,
// with the attestations newest first. Live, it costs the direct status and
// the agreements list (two calls per customer, shared with mcaDirectlySigned);
// the current template, only when currentTemplate is asked, once an hour per
// partner. From the snapshot, it costs nothing.

import { orStale } from '../customer-base/stale';
import type { StoredCustomer } from '../customer-base/store';
import type { WireAgreement, WireAgreementContact } from '../partner-center/agreements';
import { acceptedOf } from '../partner-center/agreements';
import { builder } from './builder';
import { CustomerRef, refusalWithoutCall } from './customer';
import { DateTimeScalar, isoOf } from './qualification';

export interface McaAcceptanceShape {
  readonly directlySigned: boolean;
  readonly attestations: readonly WireAgreement[];
  /** The current template when known without a call (the snapshot's, the mutation's); undefined: read when asked. */
  readonly currentTemplateId?: string | null;
}

/** An attestation and, when known without a call, the current template. */
export interface AttestationShape {
  readonly agreement: WireAgreement;
  readonly currentTemplateId?: string | null;
}

const dateAgreedOf = isoOf((agreement: WireAgreement) => new Date(agreement.dateAgreed));

/**
 * A snapshot customer's acceptance, made once per stored customer and current template rather than for every node
 * of every page: the stored customer is replaced, never changed, when the sync reads it again.
 */
const snapshotAcceptances = new WeakMap<StoredCustomer, McaAcceptanceShape>();
function snapshotAcceptanceOf(stored: StoredCustomer, currentTemplateId: string | null): McaAcceptanceShape | null {
  if (typeof stored.mca !== 'boolean' || !Array.isArray(stored.agreements)) return null;
  let acceptance = snapshotAcceptances.get(stored);
  if (acceptance === undefined || acceptance.currentTemplateId !== currentTemplateId) {
    acceptance = { directlySigned: stored.mca, attestations: stored.agreements, currentTemplateId };
    snapshotAcceptances.set(stored, acceptance);
  }
  return acceptance;
}

/** The attestations of an acceptance as their resolvers take them; kept with a snapshot's acceptance. */
const attestationShapes = new WeakMap<McaAcceptanceShape, readonly AttestationShape[]>();

export const AgreementContactRef = builder.objectRef<WireAgreementContact>('AgreementContact').implement({
  description:
    "The customer's person who accepted the agreement, as the partner recorded it. Personal data: served to callers with the read role, never logged.",
  fields: (t) => ({
    firstName: t.exposeString('firstName', { description: 'First name.' }),
    lastName: t.exposeString('lastName', { description: 'Last name.' }),
    email: t.exposeString('email', { description: 'Email address.' }),
    phoneNumber: t.exposeString('phoneNumber', { nullable: true, description: 'Phone number; null when none.' }),
  }),
});

export const McaAttestationRef = builder.objectRef<AttestationShape>('McaAttestation').implement({
  description:
    "The partner's confirmation (attestation) that the customer accepted the Microsoft Customer Agreement: Partner Center then accepts orders for the customer as if it had signed directly.",
  fields: (t) => ({
    dateAgreed: t.field({
      type: DateTimeScalar,
      description: 'When the customer accepted the agreement.',
      // Never null: the date read is a Date (an unreadable one fails the field, as DateTime cannot write it).
      resolve: ({ agreement }) => dateAgreedOf(agreement) ?? new Date(agreement.dateAgreed),
    }),
    templateId: t.string({
      description: 'The agreement template accepted.',
      resolve: ({ agreement }) => agreement.templateId,
    }),
    currentTemplate: t.boolean({
      description:
        "Whether templateId is the current MCA template (Partner Center's agreement metadata, lowest versionRank). Live, the metadata is read at most once an hour per partner; from customerBase, as the sync last read it.",
      resolve: async ({ agreement, currentTemplateId }, _args, ctx) => {
        if (currentTemplateId !== undefined) return agreement.templateId === currentTemplateId;
        return agreement.templateId === (await ctx.loaders.agreementTemplate.load('current'));
      },
    }),
    agreementLink: t.string({
      nullable: true,
      description: "Where the agreement's text is; null when Partner Center sends none.",
      resolve: ({ agreement }) => agreement.agreementLink,
    }),
    primaryContact: t.field({
      type: AgreementContactRef,
      description: "The customer's person who accepted it.",
      resolve: ({ agreement }) => agreement.primaryContact,
    }),
  }),
});

export const McaAcceptanceRef = builder.objectRef<McaAcceptanceShape>('McaAcceptance').implement({
  description:
    'Whether the customer accepted the Microsoft Customer Agreement, which Partner Center needs before it accepts orders: signed directly, or confirmed (attested) by its partner.',
  fields: (t) => ({
    accepted: t.boolean({
      description:
        'directlySigned, or at least one attestation: orders for the customer can be placed. False: orders fail until the customer accepts.',
      resolve: (acceptance) => acceptedOf(acceptance.directlySigned, acceptance.attestations),
    }),
    directlySigned: t.exposeBoolean('directlySigned', {
      description: 'The direct-signing status (the same as Customer.mcaDirectlySigned).',
    }),
    attestations: t.field({
      type: [McaAttestationRef],
      description:
        "The partner's confirmations of the customer's acceptance, newest dateAgreed first; empty when none.",
      resolve: (acceptance) => {
        let shapes = attestationShapes.get(acceptance);
        if (shapes === undefined) {
          const { currentTemplateId } = acceptance;
          shapes = acceptance.attestations.map((agreement) => ({ agreement, currentTemplateId }));
          attestationShapes.set(acceptance, shapes);
        }
        return shapes;
      },
    }),
  }),
});

builder.objectField(CustomerRef, 'mcaAcceptance', (t) =>
  t.field({
    type: McaAcceptanceRef,
    nullable: true,
    description:
      'Whether the customer accepted the Microsoft Customer Agreement, signed directly or attested by its partner: the answer to "can I place orders for this customer". Costs the direct status and the agreements list (two calls per customer, the first shared with mcaDirectlySigned). Null, with the failing read\'s error, when it cannot be known: FORBIDDEN without a reseller relationship or with an app-only token, NOT_SUPPORTED_IN_CLOUD in the 21Vianet and US Government clouds. From customerBase: null, with no error, while unknown.',
    resolve: async (customer, _args, ctx, info): Promise<McaAcceptanceShape | null> => {
      const stored = customer.snapshot;
      if (stored) {
        return snapshotAcceptanceOf(stored, ctx.customerBase?.store.state().agreementTemplateId ?? null);
      }
      const refused = refusalWithoutCall(ctx, 'mcaAcceptance');
      if (refused) return refused;
      const stale = { store: ctx.customerBase?.store, maxAgeSeconds: ctx.config.staleIfErrorSeconds, id: customer.id };
      // Both loads start in this tick, so each joins its resource's batch; either failing fails the field.
      const [directlySigned, attestations] = await Promise.all([
        orStale(() => ctx.loaders.mcaDirectlySigned.load(customer.id), {
          ...stale,
          pick: (s) =>
            typeof s.mca === 'boolean' && s.mcaAt !== undefined ? { value: s.mca, at: s.mcaAt } : undefined,
          cached: () => ctx.lastGood('mca_status', customer.id),
          context: ctx,
          info,
        }),
        orStale(() => ctx.loaders.agreements.load(customer.id), {
          ...stale,
          pick: (s) =>
            Array.isArray(s.agreements) && s.agreementsAt !== undefined
              ? { value: [...s.agreements], at: s.agreementsAt }
              : undefined,
          cached: () => ctx.lastGood('agreements', customer.id),
          context: ctx,
          info,
        }),
      ]);
      return { directlySigned, attestations };
    },
  }),
);
