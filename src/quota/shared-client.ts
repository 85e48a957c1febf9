// Owns which Partner Center calls are shared across requests: reads go
// through coalescing and the cache (the partner's agreement metadata through
// its own hour-long cache), and a qualification added or an agreement
// confirmed drops that customer's cached answers of it for every token before
// the payload reads.

import { hash } from 'node:crypto';
import type { PartnerCenterClient } from '../partner-center/types';
import type { SharedCalls } from './coalescing';

/** The one key of the partner's metadata: it belongs to no customer. */
const PARTNER = 'partner';

export function createSharedClient(
  client: PartnerCenterClient,
  shared: SharedCalls,
  metadata: SharedCalls,
): PartnerCenterClient {
  return {
    getQualifications: (customerId, call) =>
      shared.load('qualifications', customerId, call, (own) => client.getQualifications(customerId, own)),
    getMcaDirectlySigned: (customerId, call) =>
      shared.load('mca_status', customerId, call, (own) => client.getMcaDirectlySigned(customerId, own)),
    getCustomer: (customerId, call) =>
      shared.load('customer', customerId, call, (own) => client.getCustomer(customerId, own)),
    getAgreements: (customerId, call) =>
      shared.load('agreements', customerId, call, (own) => client.getAgreements(customerId, own)),
    getCurrentAgreementTemplate: (call) =>
      metadata.load('agreement_metadata', PARTNER, call, (own) => client.getCurrentAgreementTemplate(own)),
    // A page is named by a digest of what asks for it (size, filter, continuation token), never the text itself.
    listCustomers: (request, call) =>
      shared.load('customer_list', pageKey(request), call, (own) => client.listCustomers(request, own)),
    async addQualification(customerId, body, call) {
      const created = await client.addQualification(customerId, body, call);
      // Awaited (Redis is bounded to a few ms): the payload's customer is read right after and must be fresh.
      await shared.invalidate('qualifications', customerId);
      return created;
    },
    async confirmAgreement(customerId, body, call) {
      const created = await client.confirmAgreement(customerId, body, call);
      await shared.invalidate('agreements', customerId);
      return created;
    },
    close: () => client.close(),
  };
}

function pageKey(request: { size: number; companyNameStartsWith?: string | null; continuationToken?: string | null }) {
  const named = [request.size, request.companyNameStartsWith ?? null, request.continuationToken ?? null];
  return hash('sha256', JSON.stringify(named), 'base64url');
}
