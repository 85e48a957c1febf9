// Owns the shape of a change of the customer base: its kinds, who found it,
// what it says, the id and time the change log gives it, and the filter that
// pages and subscriptions ask with.

import type { Kind, Status } from '../domain/qualification';

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
