// Owns what counts as a change of the customer base: the difference between
// a customer's stored answer and a newer one (qualifications added, removed
// or re-vetted; the MCA accepted or no longer accepted), and customers listed
// or dropped. The first answer is the baseline, and an unknown answer (403,
// not supported, never read) is never a change, in either direction.

import { type Kind, kindOf, type Status, vettingStatusOf } from '../domain/qualification';
import { mcaAcceptedOf, type StoredCustomer } from './store';

export const CHANGE_KINDS = [
  'CUSTOMER_LISTED',
  'CUSTOMER_DROPPED',
  'QUALIFICATION_ADDED',
  'QUALIFICATION_REMOVED',
  'VETTING_STATUS_CHANGED',
  'MCA_ACCEPTED',
  'MCA_NOT_ACCEPTED',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
/** A background read found it, or a mutation through this gateway made it. */
export type ChangeSource = 'SYNC' | 'GATEWAY';

/** A change as it is worked out, before the log gives it its place (id) and time. */
export interface NewChange {
  readonly kind: ChangeKind;
  readonly source: ChangeSource;
  readonly customerId: string;
  readonly companyName: string | null;
  /** The upstream name, for QUALIFICATION_* and VETTING_STATUS_CHANGED. */
  readonly qualification?: string;
  readonly qualificationKind?: Kind;
  readonly vettingStatusBefore?: Status | null;
  readonly vettingStatus?: Status | null;
}

/** A change the log holds: its id orders it the same way for every replica. */
export interface RecordedChange extends NewChange {
  /** `<ms>-<seq>`, as Redis Streams number their entries. */
  readonly id: string;
  /** Epoch ms when the gateway recorded it. */
  readonly at: number;
}

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

/** What a subscriber or a page of changes asks for: every field given must hold. */
export interface ChangeFilter {
  readonly kinds?: readonly ChangeKind[] | null;
  readonly customerId?: string | null;
  readonly qualification?: Kind | null;
}

export function changeMatches(change: NewChange, filter: ChangeFilter): boolean {
  if (filter.kinds && filter.kinds.length > 0 && !filter.kinds.includes(change.kind)) return false;
  if (filter.customerId != null && change.customerId !== filter.customerId) return false;
  if (filter.qualification != null && change.qualificationKind !== filter.qualification) return false;
  return true;
}
