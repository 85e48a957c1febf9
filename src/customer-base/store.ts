// Owns the snapshot of the whole customer base: each listed customer's
// profile, qualifications, MCA status and MCA attestations with the time each
// was read, the current MCA template, the
// latest list, and when the last pass ended. In memory, or in the file
// SNAPSHOT_PATH (written whole to a temporary file, then renamed, so a crash
// never leaves half a snapshot), read back at start. Shared through Redis by
// ./shared-store.ts.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { acceptedOf, type WireAgreement } from '../partner-center/agreements';
import type { WireCustomer } from '../partner-center/customers';
import type { WireQualification } from '../partner-center/qualifications';
import type { ChangeSource, RecordedChange } from './change';

/** MCA status as stored: signed or not, or unknown (403: no reseller relationship; not supported in the cloud). */
export type StoredMca = boolean | null;

export interface StoredCustomer extends WireCustomer {
  readonly qualifications?: readonly WireQualification[];
  /** Epoch ms of the qualifications read. */
  readonly qualificationsAt?: number;
  readonly mca?: StoredMca;
  /** Epoch ms of the MCA status read. */
  readonly mcaAt?: number;
  /** The MCA's attestations, newest first; null when unknown (403, not supported, app-only). */
  readonly agreements?: readonly WireAgreement[] | null;
  /** Epoch ms of the agreements read. */
  readonly agreementsAt?: number;
}

/** A customer's syncedAt: the oldest of its reads, once all are there. */
export function syncedAtOf(customer: StoredCustomer): number | undefined {
  const { qualificationsAt, mcaAt, agreementsAt } = customer;
  if (qualificationsAt === undefined || mcaAt === undefined || agreementsAt === undefined) return undefined;
  return Math.min(qualificationsAt, mcaAt, agreementsAt);
}

/**
 * Whether the customer accepted the MCA (signed directly, or attested by its partner): true as soon as either read
 * says so; false only when both were read and neither does; null while unknown. A snapshot written before the
 * agreements were read holds none: unknown, unless the customer signed directly.
 */
export function mcaAcceptedOf(customer: StoredCustomer): boolean | null {
  if (customer.mca === true || (customer.agreements?.length ?? 0) > 0) return true;
  if (customer.mca === false && Array.isArray(customer.agreements)) return acceptedOf(false, customer.agreements);
  return null;
}

export interface SnapshotState {
  /** Epoch ms when the list was last read whole. */
  readonly listedAt?: number;
  readonly lastPassCompletedAt?: number;
  /** The current MCA template's id when the agreements were last read: the snapshot's attestations are judged by it. */
  readonly agreementTemplateId?: string;
}

export interface CustomerStore {
  /** The listed customers, in no particular order. */
  all(): readonly StoredCustomer[];
  /** Changes with every change of the snapshot: what is worked out from all() may be kept until it moves. */
  version(): number;
  /** Changes only when the order by name could: a customer listed, dropped or renamed (never with its data). */
  orderVersion(): number;
  get(id: string): StoredCustomer | undefined;
  state(): SnapshotState;
  /** The list just read: customers no longer listed are dropped, the others keep what was read of them. */
  replaceList(items: readonly WireCustomer[], at: number): void;
  /** `source` says who found the new facts: the sync (the default) or a mutation through this gateway. */
  update(id: string, change: Partial<Omit<StoredCustomer, 'id'>>, source?: ChangeSource): void;
  passCompleted(at: number): void;
  /** The current MCA template, as last read. */
  templateRead(templateId: string): void;
  /** Writes what changed now (SNAPSHOT_PATH, Redis); a no-op in memory. */
  flush(): void;
  close(): Promise<void>;
}

/** A store in this process, which a shared store (./shared-store.ts) also fills with what other replicas wrote. */
export interface LocalCustomerStore extends CustomerStore {
  /** Puts customers as they are (replacing what is held of them), drops `removed`, and takes `state` when given. */
  apply(customers: readonly StoredCustomer[], removed: readonly string[], state?: SnapshotState): void;
}

interface SnapshotFile {
  readonly version: 1;
  readonly state: SnapshotState;
  readonly customers: readonly StoredCustomer[];
  /** The change log's kept changes (./change-log.ts); absent in snapshots written before it existed. */
  readonly changes?: readonly RecordedChange[];
}

export interface StoreFileOptions {
  /** The change log's kept changes, written with the snapshot. */
  readonly changes?: () => readonly RecordedChange[];
}

/** How long changes wait before the file is written, so a pass writes it a few times a second at most. */
const WRITE_DELAY_MS = 1_000;

/** The snapshot in `path` (empty when there is none yet): its customers and state, and the changes it kept. */
export function loadSnapshot(path: string | undefined): SnapshotFile {
  return path === undefined ? { version: 1, state: {}, customers: [] } : readSnapshot(path);
}

export function createCustomerStore(
  path?: string,
  loaded: SnapshotFile = loadSnapshot(path),
  options: StoreFileOptions = {},
): LocalCustomerStore {
  const customers = new Map<string, StoredCustomer>();
  let state: SnapshotState = loaded.state;
  for (const customer of loaded.customers) customers.set(customer.id, customer);
  let timer: NodeJS.Timeout | undefined;
  let version = 0;
  let orderVersion = 0;
  /** Whether putting `item` moves the order: a new customer, or another name. */
  const reorders = (item: Partial<StoredCustomer> & { id: string }) => {
    const current = customers.get(item.id);
    return current === undefined || ('companyName' in item && item.companyName !== current.companyName);
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (path === undefined) return;
    const file: SnapshotFile = {
      version: 1,
      state,
      customers: [...customers.values()],
      ...(options.changes ? { changes: options.changes() } : {}),
    };
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(file));
    renameSync(temporary, path);
  };
  const changed = () => {
    version++;
    if (path === undefined || timer) return;
    timer = setTimeout(flush, WRITE_DELAY_MS);
    timer.unref();
  };
  return {
    all: () => [...customers.values()],
    version: () => version,
    orderVersion: () => orderVersion,
    get: (id) => customers.get(id),
    state: () => state,
    replaceList(items, at) {
      orderVersion++;
      const listed = new Set(items.map((item) => item.id));
      for (const id of customers.keys()) if (!listed.has(id)) customers.delete(id);
      for (const item of items) customers.set(item.id, { ...customers.get(item.id), ...item });
      state = { ...state, listedAt: at };
      changed();
    },
    update(id, change) {
      const current = customers.get(id);
      if (current === undefined) return;
      if (reorders({ id, ...change })) orderVersion++;
      customers.set(id, { ...current, ...change });
      changed();
    },
    passCompleted(at) {
      state = { ...state, lastPassCompletedAt: at };
      changed();
    },
    templateRead(templateId) {
      if (state.agreementTemplateId === templateId) return;
      state = { ...state, agreementTemplateId: templateId };
      changed();
    },
    apply(items, removed, next) {
      if (removed.some((id) => customers.has(id)) || items.some(reorders)) orderVersion++;
      for (const id of removed) customers.delete(id);
      for (const item of items) customers.set(item.id, item);
      if (next) state = next;
      changed();
    },
    flush,
    close: async () => flush(),
  };
}

/** The snapshot in `path`, or an empty one when there is none yet; a file that cannot be read is an error. */
function readSnapshot(path: string): SnapshotFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, state: {}, customers: [] };
    throw new Error(`SNAPSHOT_PATH: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const file = JSON.parse(text) as Partial<SnapshotFile>;
  if (file.version !== 1 || !Array.isArray(file.customers)) {
    throw new Error(`SNAPSHOT_PATH: ${path} is not a customer-base snapshot of this gateway`);
  }
  return {
    version: 1,
    state: file.state ?? {},
    customers: file.customers,
    changes: Array.isArray(file.changes) ? file.changes : [],
  };
}
