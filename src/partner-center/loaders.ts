// Owns the per-request DataLoaders: one per Partner Center resource, keyed by
// the canonical customer id, created for one GraphQL request and one token.
// The customer (profile) loader is primed by customerList, so customers read
// from a page cost no further call for their profile fields.

import DataLoader from 'dataloader';
import type { WireAgreement } from './agreements';
import type { WireCustomer } from './customers';
import type { WireQualification } from './qualifications';
import type { CallContext, PartnerCenterClient } from './types';

export interface Loaders {
  readonly qualifications: DataLoader<string, WireQualification[]>;
  readonly mcaDirectlySigned: DataLoader<string, boolean>;
  /** GET /customers/{id}: companyName, domain, relationshipToPartner. */
  readonly customer: DataLoader<string, WireCustomer>;
  /** The MCA's attestations, newest first. */
  readonly agreements: DataLoader<string, WireAgreement[]>;
  /** The partner's current MCA template id; one key (the partner's), read once a request at most. */
  readonly agreementTemplate: DataLoader<'current', string>;
}

/**
 * Partner Center has no batch endpoint, so a batch is one call per distinct
 * key, all started in the same tick; DataLoader's value is the dedupe across
 * aliases, lists and `_entities`. The call context (token, correlation id,
 * budget) is closed over, so a loader can never answer another request's token.
 */
export function createLoaders(client: PartnerCenterClient, call: CallContext): Loaders {
  const perKey =
    <V>(load: (customerId: string) => Promise<V>) =>
    (keys: readonly string[]): Promise<Array<V | Error>> =>
      // Errors are returned, not thrown, so one failing customer fails only its own key.
      Promise.all(keys.map((key) => load(key).catch((error: unknown) => toError(error))));
  return {
    qualifications: new DataLoader(perKey((id) => client.getQualifications(id, call))),
    mcaDirectlySigned: new DataLoader(perKey((id) => client.getMcaDirectlySigned(id, call))),
    customer: new DataLoader(perKey((id) => client.getCustomer(id, call))),
    agreements: new DataLoader(perKey((id) => client.getAgreements(id, call))),
    agreementTemplate: new DataLoader(perKey(() => client.getCurrentAgreementTemplate(call))),
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
