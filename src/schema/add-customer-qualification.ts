// Owns the addCustomerQualification mutation: its input, its payload, the
// checks made before any upstream call and the POST in Partner Center's spelling.

import { BadUserInputError, ForbiddenError, GatewayError } from '../domain/errors';
import type { NewQualificationBody, WireQualification } from '../partner-center/qualifications';
import type { Context } from '../request/context';
import { auditedCaller, auditedCustomerId } from './audit';
import { builder } from './builder';
import { type CustomerParent, CustomerRef, parseCustomerId } from './customer';
import { EducationSegment, QualificationKind, QualificationRef } from './qualification';

const AddCustomerQualificationInput = builder.inputType('AddCustomerQualificationInput', {
  description:
    'A qualification to add to a customer. Only EDUCATION, GOVERNMENT_COMMUNITY_CLOUD and STATE_OWNED_ENTITY can be added; once added, a qualification cannot be changed or removed.',
  fields: (t) => ({
    customerId: t.id({ required: true, description: 'The customer tenant id, a GUID.' }),
    qualification: t.field({
      type: QualificationKind,
      required: true,
      description: 'EDUCATION, GOVERNMENT_COMMUNITY_CLOUD or STATE_OWNED_ENTITY; NONPROFIT and OTHER cannot be set.',
    }),
    educationSegment: t.field({
      type: EducationSegment,
      required: false,
      description: 'Required with EDUCATION: K12 or HIGHER_EDUCATION.',
    }),
    website: t.string({
      required: false,
      description: "Optional with EDUCATION: the institution's website, e.g. contoso.edu.",
    }),
    validationCode: t.string({
      required: false,
      description: 'Required with GOVERNMENT_COMMUNITY_CLOUD: the code from the GCC validation.',
    }),
  }),
});

interface AddCustomerQualificationPayload {
  customer: CustomerParent;
  qualification: WireQualification;
}

const AddCustomerQualificationPayloadRef = builder
  .objectRef<AddCustomerQualificationPayload>('AddCustomerQualificationPayload')
  .implement({
    description:
      'What addCustomerQualification created, and the customer read afresh. Partner Center applied the change whenever this payload is returned, even when reading the customer back failed.',
    fields: (t) => ({
      customer: t.field({
        type: CustomerRef,
        nullable: true,
        description:
          'The customer, read afresh after the change, so its qualifications include the new one. Null, with the error at its path, when that read fails: the qualification was added all the same.',
        resolve: (payload) => payload.customer,
      }),
      qualification: t.field({
        type: QualificationRef,
        description: 'The qualification as Partner Center created it (usually IN_REVIEW for EDUCATION).',
        resolve: (payload) => payload.qualification,
      }),
    }),
  });

builder.mutationType({ description: 'Changes customers in Partner Center. Needs an App+User token.' });

builder.mutationField('addCustomerQualification', (t) =>
  t.field({
    type: AddCustomerQualificationPayloadRef,
    description:
      'Adds a qualification to a customer (Partner Center: POST /customers/{id}/qualifications). It cannot be undone: Partner Center does not let a qualification be changed back. CONFLICT when the customer already has it; BAD_USER_INPUT, with no upstream call, when the input is incomplete or the kind cannot be set.',
    args: {
      input: t.arg({
        type: AddCustomerQualificationInput,
        required: true,
        description: 'The customer and the qualification to add, with the data that kind needs.',
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      let outcome = 'added';
      try {
        await ctx.access.write();
        const customerId = parseCustomerId(input.customerId, 'input.customerId');
        const body = newQualificationBody(input);
        if (ctx.tokenKind === 'app-only') {
          throw new ForbiddenError(
            ctx.config.signIn.mode === 'app'
              ? 'addCustomerQualification needs an App+User token; this gateway signs in app-only (PARTNER_CENTER_AUTH=app).'
              : 'addCustomerQualification needs an App+User token; the token sent is app-only.',
          );
        }
        const qualification = await ctx.client.addQualification(customerId, body, ctx.call);
        // The cached list no longer holds; the payload's customer reads it afresh.
        ctx.loaders.qualifications.clear(customerId);
        // The snapshot of the customer base shows it at once.
        const stored = ctx.customerBase?.store.get(customerId);
        if (stored)
          ctx.customerBase?.store.update(
            customerId,
            { qualifications: [...(stored.qualifications ?? []), qualification] },
            'GATEWAY',
          );
        return { customer: { id: customerId }, qualification };
      } catch (error) {
        outcome = error instanceof GatewayError ? error.code : 'INTERNAL_SERVER_ERROR';
        throw error;
      } finally {
        await audit(ctx, input, outcome);
      }
    },
  }),
);

/**
 * The audit line of every addCustomerQualification, added or refused: who asked (verified when the gateway signs in
 * itself), which customer and qualification, and how it ended; the request's logger adds the correlation id.
 */
async function audit(ctx: Context, input: { customerId: string | number; qualification: string }, outcome: string) {
  ctx.call.log?.info(
    {
      caller: await auditedCaller(ctx),
      customerId: auditedCustomerId(input.customerId),
      qualification: input.qualification,
      outcome,
    },
    'qualification change',
  );
}

/** The POST body in Partner Center's spelling, or BAD_USER_INPUT saying what is missing. */
function newQualificationBody(input: {
  qualification: 'EDUCATION' | 'NONPROFIT' | 'GOVERNMENT_COMMUNITY_CLOUD' | 'STATE_OWNED_ENTITY' | 'OTHER';
  educationSegment?: 'K12' | 'HIGHER_EDUCATION' | null;
  website?: string | null;
  validationCode?: string | null;
}): NewQualificationBody {
  switch (input.qualification) {
    case 'STATE_OWNED_ENTITY':
      return { qualification: 'StateOwnedEntity' };
    case 'EDUCATION': {
      if (!input.educationSegment) {
        throw new BadUserInputError('input.educationSegment is required with EDUCATION: K12 or HIGHER_EDUCATION.');
      }
      const website = input.website?.trim();
      return {
        qualification: 'Education',
        educationSegment: input.educationSegment === 'K12' ? 'K12' : 'HigherEducation',
        ...(website ? { website } : {}),
      };
    }
    case 'GOVERNMENT_COMMUNITY_CLOUD': {
      const validationCode = input.validationCode?.trim();
      if (!validationCode) {
        throw new BadUserInputError('input.validationCode is required with GOVERNMENT_COMMUNITY_CLOUD.');
      }
      return { qualification: 'GovernmentCommunityCloud', validationCode };
    }
    default:
      throw new BadUserInputError(
        `input.qualification: ${input.qualification} cannot be set; settable are EDUCATION, GOVERNMENT_COMMUNITY_CLOUD and STATE_OWNED_ENTITY.`,
      );
  }
}
