// Owns what counts as a change of the customer base: the difference between
// a customer's stored answer and a newer one (qualifications added, removed
// or re-vetted; the MCA accepted or no longer accepted), and customers listed
// or dropped. The first answer is the baseline, and an unknown answer (403,
// not supported, never read) is never a change, in either direction.

import { kindOf, vettingStatusOf } from '../domain/qualification';
import type { ChangeSource, NewChange } from './change';
import { mcaAcceptedOf, type StoredCustomer } from './store';

/** The changes between what was stored of a customer and what is stored now. */
export function changesBetween(before: StoredCustomer, after: StoredCustomer, source: ChangeSource): NewChange[] {
  const changes: NewChange[] = [];
  const base = { source, customerId: after.id, companyName: after.companyName ?? before.companyName ?? null };
  // Never read before: the first answer is the baseline.
  if (before.qualifications !== undefined && after.qualifications !== undefined) {
    const was = new Map(before.qualifications.map((item) => [item.qualification, item]));
    const now = new Map(after.qualifications.map((item) => [item.qualification, item]));
    for (const [name, item] of now) {
      const old = was.get(name);
      const status = vettingStatusOf(item.vettingStatus);
      const qualification = { qualification: name, qualificationKind: kindOf(name) };
      if (old === undefined) {
        changes.push({ ...base, kind: 'QUALIFICATION_ADDED', ...qualification, vettingStatus: status });
      } else if (vettingStatusOf(old.vettingStatus) !== status) {
        const vettingStatusBefore = vettingStatusOf(old.vettingStatus);
        changes.push({
          ...base,
          kind: 'VETTING_STATUS_CHANGED',
          ...qualification,
          vettingStatusBefore,
          vettingStatus: status,
        });
      }
    }
    for (const [name, item] of was) {
      if (now.has(name)) continue;
      changes.push({
        ...base,
        kind: 'QUALIFICATION_REMOVED',
        qualification: name,
        qualificationKind: kindOf(name),
        vettingStatusBefore: vettingStatusOf(item.vettingStatus),
      });
    }
  }
  const accepted = mcaAcceptedOf(before);
  const acceptedNow = mcaAcceptedOf(after);
  if (accepted !== null && acceptedNow !== null && accepted !== acceptedNow) {
    changes.push({ ...base, kind: acceptedNow ? 'MCA_ACCEPTED' : 'MCA_NOT_ACCEPTED' });
  }
  return changes;
}
