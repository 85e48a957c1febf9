// Owns the telling of the snapshot's writes: which customers a write touched
// (any stored change, read times included) and whether it moved what orders,
// filters or counts them. It wraps the store in this process, beneath the
// shared store, so this replica's writes (sync reads, the list, mutations) and
// other replicas' (applied from Redis) all pass it; answers built from the
// snapshot (the response cache) are dropped from what it says.

import type { LocalCustomerStore, StoredCustomer } from './store';

/** What a write moved beyond the customers themselves, by what pages of customers are filtered or ordered by. */
export type MovedFact =
  /** A customer listed or dropped, renamed, or its relationship changed: membership and order of every page. */
  'list' | 'qualifications' | 'mca' | 'agreements';

export interface SnapshotWrite {
  /** Customers whose stored data changed: read times alone count, as syncedAt shows them. */
  readonly customers: readonly string[];
  /** The facts that changed for any of them (none when only read times moved). */
  readonly moved: ReadonlySet<MovedFact>;
  /** Every customer may read differently (the current MCA template moved). */
  readonly all: boolean;
}

/** Told of every write of the snapshot that changed something, after it is in the store. */
export type SnapshotWriteListener = (write: SnapshotWrite) => void;

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What moved between two stored states of one customer (undefined: not listed). */
function movedBetween(
  was: StoredCustomer | undefined,
  now: StoredCustomer | undefined,
  moved: Set<MovedFact>,
): boolean {
  if (was === undefined || now === undefined) {
    moved.add('list');
    return true;
  }
  if (!same(was.companyName, now.companyName) || !same(was.relationshipToPartner, now.relationshipToPartner)) {
    moved.add('list');
  }
  if (!same(was.qualifications, now.qualifications)) moved.add('qualifications');
  if (!same(was.mca, now.mca)) moved.add('mca');
  if (!same(was.agreements, now.agreements)) moved.add('agreements');
  return !same(was, now);
}

export function watchWrites(store: LocalCustomerStore, listener: SnapshotWriteListener): LocalCustomerStore {
  /** Compares what `ids` held before a write with what they hold after, and tells the listener of any difference. */
  const compared = (ids: Iterable<string>, write: () => void, templateBefore?: string) => {
    const before = new Map<string, StoredCustomer | undefined>();
    for (const id of ids) before.set(id, store.get(id));
    write();
    const customers: string[] = [];
    const moved = new Set<MovedFact>();
    for (const [id, was] of before) {
      const now = store.get(id);
      if (was !== now && movedBetween(was, now, moved)) customers.push(id);
    }
    const all = templateBefore !== undefined && templateBefore !== (store.state().agreementTemplateId ?? '');
    if (customers.length > 0 || all) listener({ customers, moved, all });
  };
  return {
    ...store,
    update(id, change, source) {
      compared([id], () => store.update(id, change, source));
    },
    replaceList(items, at) {
      const ids = new Set(items.map((item) => item.id));
      for (const customer of store.all()) ids.add(customer.id);
      compared(ids, () => store.replaceList(items, at));
    },
    templateRead(templateId) {
      compared([], () => store.templateRead(templateId), store.state().agreementTemplateId ?? '');
    },
    apply(customers, removed, state) {
      const ids = new Set([...customers.map((customer) => customer.id), ...removed]);
      compared(ids, () => store.apply(customers, removed, state), store.state().agreementTemplateId ?? '');
    },
  };
}
