// A Partner Center stand-in whose customers a test changes between the
// sync's passes: which customers are listed, each one's name, relationship
// and Education vetting, which signed the MCA directly and which are
// attested, what was added through POST; and a gate that holds
// every list read after the first, so the snapshot holds still until the
// test opens it.

import type { ServerResponse } from 'node:http';
import {
  ATTESTATION,
  agreementsBody,
  CURRENT_TEMPLATE,
  type CustomerItem,
  customerListHandler,
  json,
  type RecordedCall,
  rosterItem,
} from './upstream';

export interface CustomerWorld {
  listed: number[];
  /** Company names other than rosterItem's. */
  names: Map<number, string>;
  /** Relationships other than `reseller`. */
  relationships: Map<number, string>;
  vetting: Map<number, string>;
  /** Customers that signed the MCA directly. */
  signed: Set<number>;
  attested: Set<number>;
  /** Qualifications beyond the Education one: set by the test, or added through POST. */
  extra: Map<number, Array<Record<string, string>>>;
  listReads: number;
}

export interface ChangingStandIn {
  /** The current world; `reset()` makes a new one. */
  readonly world: CustomerWorld;
  /** Customers 1-5 listed as rosterItem has them, customer 1 in review, nobody signed or attested, the gate closed. */
  reset(): void;
  /** Lets list reads through from now on. */
  openGate(): void;
  handler(call: RecordedCall, res: ServerResponse): void | Promise<void>;
}

export function createChangingStandIn(): ChangingStandIn {
  let world: CustomerWorld;
  let gate: Promise<void>;
  let open: () => void = () => undefined;
  const reset = () => {
    open();
    world = {
      listed: [1, 2, 3, 4, 5],
      names: new Map(),
      relationships: new Map(),
      vetting: new Map([[1, 'InReview']]),
      signed: new Set(),
      attested: new Set(),
      extra: new Map(),
      listReads: 0,
    };
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
  };
  reset();
  /** Customer n as the world lists it: rosterItem's, with the name and relationship the test gave it. */
  const item = (n: number): CustomerItem => {
    const listed = rosterItem(n);
    const name = world.names.get(n);
    const profile = listed.companyProfile as Record<string, unknown>;
    return {
      ...listed,
      ...(name === undefined ? {} : { companyProfile: { ...profile, companyName: name } }),
      relationshipToPartner: world.relationships.get(n) ?? listed.relationshipToPartner,
    };
  };
  return {
    get world() {
      return world;
    },
    reset,
    openGate: () => open(),
    handler(call, res) {
      const n = Number.parseInt((call.customerId ?? '').slice(-12), 16);
      if (call.resource === 'customers' && call.customerId === undefined) {
        world.listReads++;
        const answer = () => customerListHandler(world.listed.map(item))(call, res, 1);
        return world.listReads > 1 ? gate.then(answer) : answer();
      }
      if (call.resource === 'customer') return json(res, 200, item(n));
      if (call.resource === 'qualifications' && call.method === 'POST') {
        const body = JSON.parse(call.body) as { qualification: string };
        const created = { qualification: body.qualification, vettingStatus: 'InReview' };
        world.extra.set(n, [...(world.extra.get(n) ?? []), created]);
        return json(res, 201, created);
      }
      if (call.resource === 'qualifications') {
        const vetting = world.vetting.get(n);
        return json(res, 200, [
          ...(vetting ? [{ qualification: 'Education', vettingStatus: vetting }] : []),
          ...(world.extra.get(n) ?? []),
        ]);
      }
      if (call.resource === 'directSignedMicrosoftCustomerAgreementStatus') {
        return json(res, 200, { isSigned: world.signed.has(n) });
      }
      if (call.resource === 'agreement_metadata') return json(res, 200, agreementsBody([CURRENT_TEMPLATE]));
      if (call.resource === 'agreements')
        return json(res, 200, agreementsBody(world.attested.has(n) ? [ATTESTATION] : []));
      return json(res, 404, { code: 600008, description: 'Not found' });
    },
  };
}
