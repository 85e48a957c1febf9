// The customer base's store without a gateway around it: what a customer's
// syncedAt and MCA acceptance are from its reads, what moves the store's
// versions (the order only with a customer listed, dropped or renamed), and
// its snapshot file: written a second after a change (vitest's fake clock),
// whole and by rename, with the change log's kept changes, read back at
// start, and refused when it is not a snapshot of this gateway; and the
// questions asked of it: filters, the order, the summary, pages and cursors.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RecordedChange } from '../src/customer-base/change';
import {
  compareKeys,
  decodeBaseCursor,
  encodeBaseCursor,
  filterProblem,
  MAX_PREFIX_LENGTH,
  matches,
  ordered,
  orderedIn,
  orderKeyOf,
  pageIn,
  summarise,
} from '../src/customer-base/query';
import {
  createCustomerStore,
  loadSnapshot,
  mcaAcceptedOf,
  type StoredCustomer,
  syncedAtOf,
} from '../src/customer-base/store';
import { BadUserInputError } from '../src/domain/errors';
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

describe('the questions asked of the store', () => {
  const q = (qualification: string, vettingStatus: string | null) => ({
    qualification,
    vettingStatus,
    vettingReason: null,
    vettingCreatedDate: null,
  });
  const storeOf = (customers: StoredCustomer[]) => {
    const store = createCustomerStore();
    store.replaceList(customers, 1);
    return store;
  };
  const numbers = (customers: readonly StoredCustomer[]) => customers.map((c) => Number.parseInt(c.id.slice(-12), 16));

  it('filters on every field given, each qualification item as a whole, and names case-insensitively', () => {
    const all = [
      customer(1, { mca: true, qualifications: [q('Education', 'Approved'), q('StateOwnedEntity', 'InReview')] }),
      customer(2, { mca: false, agreements: [], qualifications: [q('Education', 'InReview')] }),
      customer(3, { mca: false, agreements: [AGREEMENT], companyName: null, relationshipToPartner: 'advisor' }),
      customer(4, { mca: null, companyName: 'COMPANY 40' }),
      customer(5, { relationshipToPartner: null }),
    ];
    const match = (filter: Parameters<typeof matches>[1]) =>
      all.filter((c) => matches(c, filter)).map((c) => Number(c.id.slice(-3)));
    expect(match({})).toEqual([1, 2, 3, 4, 5]);
    expect(match({ mcaDirectlySigned: null, mcaAccepted: null, qualification: null, vettingStatus: null })).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(match({ mcaDirectlySigned: true })).toEqual([1]);
    expect(match({ mcaDirectlySigned: false })).toEqual([2, 3]);
    expect(match({ mcaAccepted: true })).toEqual([1, 3]);
    expect(match({ mcaAccepted: false })).toEqual([2]);
    expect(match({ qualification: 'EDUCATION' })).toEqual([1, 2]);
    expect(match({ vettingStatus: 'IN_REVIEW' })).toEqual([1, 2]);
    expect(match({ qualification: 'EDUCATION', vettingStatus: 'IN_REVIEW' })).toEqual([2]);
    expect(match({ qualification: 'STATE_OWNED_ENTITY', vettingStatus: 'APPROVED' })).toEqual([]);
    expect(match({ companyNameStartsWith: 'company 4' })).toEqual([4]);
    expect(match({ companyNameStartsWith: 'Company ' })).toEqual([1, 2, 4, 5]);
    expect(match({ companyNameStartsWith: '' })).toEqual([1, 2, 3, 4, 5]);
    expect(match({ relationshipToPartner: 'ADVISOR' })).toEqual([3]);
    expect(match({ relationshipToPartner: 'RESELLER', mcaDirectlySigned: false })).toEqual([2]);
  });

  it('orders by lower-cased name in code-point order, then id, the unnamed last', () => {
    const names: Array<[number, string | null]> = [
      [1, 'b'],
      [2, 'B'],
      [3, null],
      [4, '\u{1F600}'],
      [5, '\uFF21'],
      [6, 'ab'],
      [7, 'a'],
      [8, null],
      [9, '\uE000'],
      [10, '\uD7FF'],
      [11, '_'],
      [12, '\u{10000}'],
      [13, '\uE001'],
    ];
    const ids = (list: StoredCustomer[]) => numbers(list);
    const order = ordered(names.map(([n, companyName]) => customer(n, { companyName })).reverse(), {});
    // '_' (U+005F) sorts before 'a' once lower-cased, and U+10000 after U+E001 in code points.
    expect(ids(order)).toEqual([11, 7, 6, 1, 2, 10, 9, 13, 5, 12, 4, 3, 8]);
    expect(
      ids(
        ordered(
          names.map(([n, companyName]) => customer(n, { companyName, mca: n > 9 })),
          { mcaDirectlySigned: true },
        ),
      ),
    ).toEqual([11, 10, 13, 12]);
    expect(compareKeys([0, 'x', 'a'], [0, 'x', 'a'])).toBe(0);
    expect(compareKeys([0, 'a', 'x'], [0, 'ab', 'x'])).toBeLessThan(0);
    expect(compareKeys([0, 'ab', 'x'], [0, 'a', 'x'])).toBeGreaterThan(0);
    expect(compareKeys([0, 'x', 'a'], [0, 'x', 'b'])).toBeLessThan(0);
    expect(compareKeys([1, '', 'a'], [0, 'z', 'z'])).toBeGreaterThan(0);
  });

  it('counts the summary of what matches: MCA signed, accepted and unknown, and qualifications in the enums’ order', () => {
    const summary = summarise(
      [
        customer(1, { mca: true, qualifications: [q('StateOwnedEntity', 'Approved'), q('Education', null)] }),
        customer(2, { mca: false, agreements: [], qualifications: [q('Education', 'Approved'), q('Education', null)] }),
        customer(3, { mca: false, agreements: [AGREEMENT], qualifications: [q('Nonprofit', 'Denied')] }),
        customer(4, { mca: null }),
        customer(5, { companyName: 'Other', mca: true }),
        customer(6, { mca: false }),
      ],
      { companyNameStartsWith: 'company' },
    );
    expect(summary).toEqual({
      customers: 5,
      mcaSigned: 1,
      mcaNotSigned: 3,
      mcaUnknown: 1,
      mcaAccepted: 2,
      mcaNotAccepted: 1,
      mcaAcceptanceUnknown: 2,
      qualifications: [
        { kind: 'EDUCATION', vettingStatus: null, count: 2 },
        { kind: 'EDUCATION', vettingStatus: 'APPROVED', count: 1 },
        { kind: 'NONPROFIT', vettingStatus: 'DENIED', count: 1 },
        { kind: 'STATE_OWNED_ENTITY', vettingStatus: 'APPROVED', count: 1 },
      ],
    });
  });

  it(`takes a name prefix of at most ${MAX_PREFIX_LENGTH} characters`, () => {
    expect(filterProblem({ companyNameStartsWith: 'x'.repeat(256) })).toBeUndefined();
    expect(filterProblem({})).toBeUndefined();
    expect(filterProblem({ companyNameStartsWith: 'x'.repeat(257) })).toBe(
      'companyNameStartsWith must be at most 256 characters.',
    );
  });

  it("pages from a cursor whose customer is gone, and answers each filter from the store's latest data", () => {
    const store = storeOf([1, 2, 3, 4, 5, 6].map((n) => customer(n, { mca: n % 2 === 0 })));
    expect(numbers(orderedIn(store, { mcaDirectlySigned: true }))).toEqual([2, 4, 6]);
    // Its data changed: the same filter sees it at once.
    store.update(customerId(3), { mca: true });
    expect(numbers(orderedIn(store, { mcaDirectlySigned: true }))).toEqual([2, 3, 4, 6]);
    const page = (after: StoredCustomer | undefined, first: number, filter = {}) => {
      const { customers, hasNextPage } = pageIn(store, filter, after && orderKeyOf(after), first);
      return [numbers(customers), hasNextPage];
    };
    expect(page(undefined, 2)).toEqual([[1, 2], true]);
    expect(page(customer(2), 4)).toEqual([[3, 4, 5, 6], false]);
    expect(page(customer(6), 4)).toEqual([[], false]);
    expect(page(customer(1), 2, { mcaDirectlySigned: true })).toEqual([[2, 3], true]);
    expect(page(customer(4), 1, { mcaDirectlySigned: true })).toEqual([[6], false]);
    store.update(customerId(3), { mca: false });
    expect(numbers(orderedIn(store, { mcaDirectlySigned: true }))).toEqual([2, 4, 6]);
    // Customer 3 dropped, 7 listed, 1 renamed to the end: a cursor after 3 starts at 4.
    store.replaceList(
      [1, 2, 4, 5, 6, 7].map((n) => customer(n, { mca: n % 2 === 0, ...(n === 1 ? { companyName: 'Zed' } : {}) })),
      2,
    );
    expect(page(customer(3), 10)).toEqual([[4, 5, 6, 7, 1], false]);
    expect(numbers(orderedIn(store, {}))).toEqual([2, 4, 5, 6, 7, 1]);
    expect(page(undefined, 6)).toEqual([[2, 4, 5, 6, 7, 1], false]);
  });

  it('makes cursors tied to their filter, and refuses one too long, malformed, made up, of another version or filter', () => {
    const key = orderKeyOf(customer(3));
    const filter = { mcaDirectlySigned: true, companyNameStartsWith: 'Comp' };
    const cursor = encodeBaseCursor(key, filter);
    expect(decodeBaseCursor(cursor, { mcaDirectlySigned: true, companyNameStartsWith: 'COMP' })).toEqual(key);
    expect(encodeBaseCursor(key, { companyNameStartsWith: '' })).toBe(encodeBaseCursor(key, {}));
    expect(encodeBaseCursor(key, { mcaAccepted: null })).toBe(encodeBaseCursor(key, {}));
    expect(decodeBaseCursor(encodeBaseCursor([1, '', customerId(3)], {}), {})).toEqual([1, '', customerId(3)]);
    for (const other of [
      {},
      { companyNameStartsWith: 'Comp' },
      { mcaDirectlySigned: false, companyNameStartsWith: 'Comp' },
      { ...filter, mcaAccepted: false },
      { ...filter, qualification: 'EDUCATION' as const },
      { ...filter, vettingStatus: 'APPROVED' as const },
      { ...filter, relationshipToPartner: 'RESELLER' as const },
      { ...filter, companyNameStartsWith: 'Com' },
    ]) {
      expect(() => decodeBaseCursor(cursor, other)).toThrow(
        'after: this cursor belongs to another filter; page with the `where` it was made with.',
      );
    }
    // Lower-cased, not upper-cased: 'ß' and 'ss' are other prefixes; mcaAccepted true and false other filters.
    expect(() =>
      decodeBaseCursor(encodeBaseCursor(key, { companyNameStartsWith: 'ß' }), { companyNameStartsWith: 'ss' }),
    ).toThrow('belongs to another filter');
    expect(() => decodeBaseCursor(encodeBaseCursor(key, { mcaAccepted: true }), { mcaAccepted: false })).toThrow(
      'belongs to another filter',
    );
    const made = (json: string) =>
      `${Buffer.from(json, 'utf8').toString('base64url')}.${createHash('sha256').update(`customerBase cursor:${json}`).digest('base64url').slice(0, 16)}`;
    const refused = (why: string) =>
      `after: not a cursor from customerBase.customers (${why}); pass a cursor this field returned.`;
    let thrown: unknown;
    try {
      decodeBaseCursor(`${'A'.repeat(1_984)}.${'A'.repeat(16)}`, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadUserInputError);
    expect((thrown as BadUserInputError).message).toBe(refused('too long'));
    expect(() => decodeBaseCursor(`${'A'.repeat(1_983)}.${'A'.repeat(16)}`, {})).toThrow(
      refused('it was altered or made up'),
    );
    for (const bad of [
      '',
      'abc',
      `.${'A'.repeat(16)}`,
      `abc.${'A'.repeat(15)}`,
      `abc.${'A'.repeat(17)}`,
      `a c.${'A'.repeat(16)}`,
    ]) {
      expect(() => decodeBaseCursor(bad, {}), bad).toThrow(refused('malformed'));
    }
    expect(() => decodeBaseCursor(`${cursor.split('.')[0]}.${'A'.repeat(16)}`, filter)).toThrow(
      refused('it was altered or made up'),
    );
    expect(() => decodeBaseCursor(made('not json'), {})).toThrow(refused('malformed'));
    const digestOf = (json: string) => JSON.parse(Buffer.from(json.split('.')[0] as string, 'base64url').toString()).f;
    const f = digestOf(encodeBaseCursor(key, {}));
    for (const state of [
      'null',
      '"text"',
      JSON.stringify({ v: 2, f, k: key }),
      JSON.stringify({ f, k: key }),
      JSON.stringify({ v: 1, f, k: 'key' }),
      JSON.stringify({ v: 1, f, k: [0, 'a'] }),
      JSON.stringify({ v: 1, f, k: [0, 'a', 'b', 'c'] }),
      JSON.stringify({ v: 1, f, k: [2, 'a', 'b'] }),
      JSON.stringify({ v: 1, f, k: [0, 1, 'b'] }),
      JSON.stringify({ v: 1, f, k: [0, 'a', 1] }),
    ]) {
      expect(() => decodeBaseCursor(made(state), {}), state).toThrow(refused('unknown version'));
    }
    expect(decodeBaseCursor(made(JSON.stringify({ v: 1, f, k: [1, 'a', 'b'] })), {})).toEqual([1, 'a', 'b']);
  });
});
