// Owns the check made before every Partner Center read and write of a
// gateway that signs in itself, cached answers included: the request's
// caller must verify and hold the role (src/request/access.ts), or the field
// fails with no upstream call and no answer served.

import type { CallContext, PartnerCenterClient } from '../partner-center/types';

export function createGuardedClient(client: PartnerCenterClient): PartnerCenterClient {
  const read = <T>(call: CallContext, op: () => Promise<T>): Promise<T> =>
    call.guard ? call.guard.read().then(op) : op();
  return {
    getQualifications: (customerId, call) => read(call, () => client.getQualifications(customerId, call)),
    getMcaDirectlySigned: (customerId, call) => read(call, () => client.getMcaDirectlySigned(customerId, call)),
    getCustomer: (customerId, call) => read(call, () => client.getCustomer(customerId, call)),
    getAgreements: (customerId, call) => read(call, () => client.getAgreements(customerId, call)),
    getCurrentAgreementTemplate: (call) => read(call, () => client.getCurrentAgreementTemplate(call)),
    listCustomers: (request, call) => read(call, () => client.listCustomers(request, call)),
    async addQualification(customerId, body, call) {
      await call.guard?.write();
      return client.addQualification(customerId, body, call);
    },
    async confirmAgreement(customerId, body, call) {
      await call.guard?.write();
      return client.confirmAgreement(customerId, body, call);
    },
    close: () => client.close(),
  };
}
