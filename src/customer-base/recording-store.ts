// Owns the recording of changes: a customer store whose writes (the sync's
// reads and list, this gateway's mutations) are compared with what it held,
// and whose differences go to the change log and the changes metric. What
// other replicas wrote arrives through the shared store's own reads and is
// never recorded again here: the replica that wrote it recorded it.

import type { GatewayEvents } from '../observability/events';
import type { NewChange } from './change';
import type { ChangeLog } from './change-log';
import { changesBetween } from './changes';
import type { CustomerStore } from './store';

export function createRecordingStore(store: CustomerStore, log: ChangeLog, events: GatewayEvents): CustomerStore {
  const record = (changes: NewChange[]) => {
    if (changes.length === 0) return;
    log.record(changes);
    for (const change of changes) events.customerChange(change.kind);
  };
  return {
    all: () => store.all(),
    version: () => store.version(),
    orderVersion: () => store.orderVersion(),
    get: (id) => store.get(id),
    state: () => store.state(),
    update(id, change, source = 'SYNC') {
      const before = store.get(id);
      store.update(id, change, source);
      const after = store.get(id);
      if (before && after) record(changesBetween(before, after, source));
    },
    replaceList(items, at) {
      // The first pass is the baseline: customers listed or dropped are changes only once a pass has completed.
      const baseline = store.state().lastPassCompletedAt === undefined;
      const before = baseline ? undefined : new Map(store.all().map((customer) => [customer.id, customer]));
      store.replaceList(items, at);
      if (!before) return;
      const changes: NewChange[] = [];
      const listed = new Set<string>();
      for (const item of items) {
        listed.add(item.id);
        if (!before.has(item.id)) {
          changes.push({ kind: 'CUSTOMER_LISTED', source: 'SYNC', customerId: item.id, companyName: item.companyName });
        }
      }
      for (const [id, customer] of before) {
        if (!listed.has(id)) {
          changes.push({ kind: 'CUSTOMER_DROPPED', source: 'SYNC', customerId: id, companyName: customer.companyName });
        }
      }
      record(changes);
    },
    passCompleted: (at) => store.passCompleted(at),
    templateRead: (templateId) => store.templateRead(templateId),
    flush: () => store.flush(),
    close: () => store.close(),
  };
}
