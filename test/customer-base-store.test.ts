// The customer base's store without a gateway around it: what a customer's
// syncedAt and MCA acceptance are from its reads, what moves the store's
// versions (the order only with a customer listed, dropped or renamed), and
// its snapshot file: written a second after a change (vitest's fake clock),
// whole and by rename, with the change log's kept changes, read back at
// start, and refused when it is not a snapshot of this gateway.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RecordedChange } from '../src/customer-base/change';
import {
  createCustomerStore,
  loadSnapshot,
  mcaAcceptedOf,
  type StoredCustomer,
  syncedAtOf,
} from '../src/customer-base/store';
import type { WireAgreement } from '../src/partner-center/agreements';
import { customerId } from './support/gateway';

const customer = (n: number, overrides: Partial<StoredCustomer> = {}): StoredCustomer => ({
  id: customerId(n),
  companyName: `Company ${n}`,
  domain: `c${n}.example`,
  relationshipToPartner: 'reseller',
  ...overrides,
});
const AGREEMENT: WireAgreement = {
  dateAgreed: '2024-01-02T03:04:05.000Z',
  templateId: 'template-1',
  agreementLink: null,
  primaryContact: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: null },
};
const directory = () => mkdtempSync(join(tmpdir(), 'store-'));
const fileAt = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe("a stored customer's facts", () => {
  it('is synced as of its oldest read, once all three were read', () => {
    const all = { qualificationsAt: 30, mcaAt: 10, agreementsAt: 20 };
    expect(syncedAtOf(customer(1, all))).toBe(10);
    expect(syncedAtOf(customer(1, { ...all, qualificationsAt: 5 }))).toBe(5);
    expect(syncedAtOf(customer(1, { ...all, agreementsAt: 1 }))).toBe(1);
    expect(syncedAtOf(customer(1, { ...all, qualificationsAt: undefined }))).toBeUndefined();
    expect(syncedAtOf(customer(1, { ...all, mcaAt: undefined }))).toBeUndefined();
    expect(syncedAtOf(customer(1, { ...all, agreementsAt: undefined }))).toBeUndefined();
  });

  it('accepted the MCA as soon as either read says so, not accepted once both say no, unknown otherwise', () => {
    expect(mcaAcceptedOf(customer(1, { mca: true }))).toBe(true);
    expect(mcaAcceptedOf(customer(1, { mca: true, agreements: null }))).toBe(true);
    expect(mcaAcceptedOf(customer(1, { mca: null, agreements: [AGREEMENT] }))).toBe(true);
    expect(mcaAcceptedOf(customer(1, { agreements: [AGREEMENT] }))).toBe(true);
    expect(mcaAcceptedOf(customer(1, { mca: false, agreements: [] }))).toBe(false);
    expect(mcaAcceptedOf(customer(1, { mca: false, agreements: null }))).toBeNull();
    expect(mcaAcceptedOf(customer(1, { mca: false }))).toBeNull();
    expect(mcaAcceptedOf(customer(1, { mca: null, agreements: [] }))).toBeNull();
    expect(mcaAcceptedOf(customer(1))).toBeNull();
  });
});

describe('the store in memory', () => {
  it('keeps what was read of a customer still listed, drops one no longer listed, and moves the order only then', () => {
    const store = createCustomerStore();
    expect([store.version(), store.orderVersion(), store.all(), store.state()]).toEqual([0, 0, [], {}]);
    store.replaceList([customer(1), customer(2)], 100);
    expect([store.version(), store.orderVersion()]).toEqual([1, 1]);
    expect(store.state()).toEqual({ listedAt: 100 });

    store.update(customerId(1), { mca: true, mcaAt: 5 });
    expect([store.version(), store.orderVersion()]).toEqual([2, 1]);
    store.update(customerId(1), { companyName: 'Company 1' });
    expect([store.version(), store.orderVersion()]).toEqual([3, 1]);
    store.update(customerId(1), { companyName: 'Renamed' });
    expect([store.version(), store.orderVersion()]).toEqual([4, 2]);
    // Not held: nothing changes.
    store.update(customerId(9), { mca: true });
    expect([store.version(), store.orderVersion(), store.get(customerId(9))]).toEqual([4, 2, undefined]);

    store.replaceList([customer(1, { domain: 'new.example' }), customer(3)], 200);
    expect(store.get(customerId(1))).toEqual({
      ...customer(1),
      companyName: 'Company 1',
      domain: 'new.example',
      mca: true,
      mcaAt: 5,
    });
    expect(store.get(customerId(2))).toBeUndefined();
    expect(store.all().map((c) => c.id)).toEqual([customerId(1), customerId(3)]);
    expect(store.state()).toEqual({ listedAt: 200 });
    expect([store.version(), store.orderVersion()]).toEqual([5, 3]);

    store.passCompleted(300);
    store.templateRead('template-1');
    expect(store.state()).toEqual({ listedAt: 200, lastPassCompletedAt: 300, agreementTemplateId: 'template-1' });
    expect(store.version()).toBe(7);
    store.templateRead('template-1');
    expect(store.version()).toBe(7);
    store.templateRead('template-2');
    expect([store.version(), store.state().agreementTemplateId]).toEqual([8, 'template-2']);
    expect(store.orderVersion()).toBe(3);
  });

  it("applies another replica's customers as they are, and moves the order only for one new, renamed or dropped", () => {
    const store = createCustomerStore();
    store.replaceList([customer(1, { mca: true }), customer(2)], 100);
    const order = store.orderVersion();
    store.apply([customer(1, { qualificationsAt: 7 })], []);
    expect(store.get(customerId(1))).toEqual(customer(1, { qualificationsAt: 7 }));
    expect(store.orderVersion()).toBe(order);
    expect(store.state()).toEqual({ listedAt: 100 });
    // A customer not held dropped: the order stays.
    store.apply([], [customerId(9)]);
    expect(store.orderVersion()).toBe(order);
    store.apply([], [customerId(2)]);
    expect([store.orderVersion(), store.get(customerId(2))]).toEqual([order + 1, undefined]);
    store.apply([customer(3)], []);
    expect(store.orderVersion()).toBe(order + 2);
    store.apply([customer(3, { companyName: 'Other' })], [], { lastPassCompletedAt: 9 });
    expect(store.orderVersion()).toBe(order + 3);
    expect(store.state()).toEqual({ lastPassCompletedAt: 9 });
    expect(store.version()).toBe(6);
  });
});

describe('the snapshot file (SNAPSHOT_PATH)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is written whole a second after the first change, once for all the changes of that second, by rename', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = directory();
    const path = join(dir, 'nested', 'snapshot.json');
    const changes: RecordedChange[] = [];
    const store = createCustomerStore(path, undefined, { changes: () => changes });
    store.replaceList([customer(1)], 100);
    vi.advanceTimersByTime(500);
    store.passCompleted(200);
    vi.advanceTimersByTime(499);
    expect(existsSync(path)).toBe(false);
    changes.push({
      ...{ kind: 'MCA_ACCEPTED', source: 'SYNC', customerId: customerId(1), companyName: null },
      id: '5-0',
      at: 5,
    });
    vi.advanceTimersByTime(1);
    expect(fileAt(path)).toEqual({
      version: 1,
      state: { listedAt: 100, lastPassCompletedAt: 200 },
      customers: [customer(1)],
      changes,
    });
    expect(readdirSync(join(dir, 'nested'))).toEqual(['snapshot.json']);
    // The next change waits its own second.
    store.update(customerId(1), { mca: true });
    vi.advanceTimersByTime(999);
    expect(fileAt(path).customers).toEqual([customer(1)]);
    vi.advanceTimersByTime(1);
    expect(fileAt(path).customers).toEqual([customer(1, { mca: true })]);
  });

  it('is written at once on flush and on close, and the pending write is then not made again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const path = join(directory(), 'snapshot.json');
    const store = createCustomerStore(path);
    store.replaceList([customer(1)], 100);
    store.flush();
    expect(fileAt(path)).toEqual({ version: 1, state: { listedAt: 100 }, customers: [customer(1)] });
    writeFileSync(path, 'overwritten');
    vi.advanceTimersByTime(5_000);
    expect(readFileSync(path, 'utf8')).toBe('overwritten');
    store.passCompleted(200);
    await store.close();
    expect(fileAt(path).state).toEqual({ listedAt: 100, lastPassCompletedAt: 200 });
  });

  it('is read back at start, and a store without a path writes nothing', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const dir = directory();
    const path = join(dir, 'snapshot.json');
    const first = createCustomerStore(path, undefined, { changes: () => [] });
    first.replaceList([customer(1, { mca: false })], 100);
    first.flush();
    const loaded = loadSnapshot(path);
    expect(loaded).toEqual({
      version: 1,
      state: { listedAt: 100 },
      customers: [customer(1, { mca: false })],
      changes: [],
    });
    const again = createCustomerStore(path);
    expect(again.get(customerId(1))).toEqual(customer(1, { mca: false }));
    expect(again.state()).toEqual({ listedAt: 100 });

    const inMemory = createCustomerStore(undefined);
    inMemory.replaceList([customer(2)], 1);
    inMemory.flush();
    vi.advanceTimersByTime(5_000);
    expect(readdirSync(dir)).toEqual(['snapshot.json']);
    expect(loadSnapshot(undefined)).toEqual({ version: 1, state: {}, customers: [] });
  });

  it('starts empty without a file, takes a file without state or changes, and refuses one it cannot read or does not know', () => {
    const dir = directory();
    expect(loadSnapshot(join(dir, 'none.json'))).toEqual({ version: 1, state: {}, customers: [] });
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, JSON.stringify({ version: 1, customers: [customer(1)], changes: 'not a list' }));
    expect(loadSnapshot(bare)).toEqual({ version: 1, state: {}, customers: [customer(1)], changes: [] });
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(() => loadSnapshot(folder)).toThrow(`SNAPSHOT_PATH: cannot read ${folder} (EISDIR)`);
    for (const body of [{ version: 2, customers: [] }, { version: 1, customers: {} }, { version: 1 }]) {
      const other = join(dir, 'other.json');
      writeFileSync(other, JSON.stringify(body));
      expect(() => loadSnapshot(other)).toThrow(
        `SNAPSHOT_PATH: ${other} is not a customer-base snapshot of this gateway`,
      );
    }
  });
});
