// Owns the simulator's changes over time (main.ts turns them on with nothing
// configured, so a page shows changes arriving): every so often a few roster
// customers that are not samples change as they do in Partner Center: an
// Education vetting is decided (InReview to Approved or Denied), an MCA is
// accepted by a new attestation, now and then a qualification is added. The
// order is deterministic (a seeded generator) and the number bounded.
// simulator.ts keeps the state; this module decides what changes.

import { CURRENT_TEMPLATE_ID, type SimulatedAgreement } from './agreements';
import { SAMPLE_CUSTOMERS, SIMULATED_ROSTER } from './roster';

type Item = Record<string, string>;

export interface ChangeOptions {
  /** How often a few customers change (main.ts: 15 s). */
  everyMs: number;
  /** Seeds the order of the changes: the same seed changes the same customers the same way. */
  seed: number;
  /** After this many changes nothing more changes (default 1000). */
  max?: number;
}

/** What the changes read and write: the simulator's current answers for a customer. */
export interface ChangeableCustomers {
  qualifications(id: string): readonly Item[];
  setQualifications(id: string, qualifications: Item[]): void;
  /** Signed directly, or attested. */
  mcaAccepted(id: string): boolean;
  /** False for a customer without a reseller relationship (its agreements answer 403). */
  related(id: string): boolean;
  attest(id: string, agreement: SimulatedAgreement): void;
}

const SAMPLES: ReadonlySet<string> = new Set(Object.values(SAMPLE_CUSTOMERS));
/** The customers that may change: the roster's, never a sample (the start-up banner prints those). */
export const CHANGEABLE_IDS: readonly string[] = SIMULATED_ROSTER.map((profile) => profile.id).filter(
  (id) => !SAMPLES.has(id),
);

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const inReviewEducation = (item: Item) => item.qualification === 'Education' && item.vettingStatus === 'InReview';

/**
 * Starts changing `customers` every `everyMs` (one to three changes each time). Returns how many were made so far
 * and a stop; it stops by itself after `max` changes or when nothing is left to change.
 */
export function startChanges(customers: ChangeableCustomers, options: ChangeOptions): { made(): number; stop(): void } {
  const random = seeded(options.seed);
  const max = options.max ?? 1_000;
  let made = 0;
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

  const decideVetting = (): boolean => {
    const id = pick(CHANGEABLE_IDS.filter((candidate) => customers.qualifications(candidate).some(inReviewEducation)));
    if (id === undefined) return false;
    const approved = random() < 0.7;
    customers.setQualifications(
      id,
      customers
        .qualifications(id)
        .map((item) =>
          inReviewEducation(item)
            ? approved
              ? { ...item, vettingStatus: 'Approved' }
              : { ...item, vettingStatus: 'Denied', vettingReason: 'Not an Education Customer' }
            : item,
        ),
    );
    return true;
  };
  const acceptMca = (): boolean => {
    const id = pick(
      CHANGEABLE_IDS.filter((candidate) => customers.related(candidate) && !customers.mcaAccepted(candidate)),
    );
    if (id === undefined) return false;
    const n = made + 1;
    customers.attest(id, {
      primaryContact: { firstName: 'Sam', lastName: `Signer ${n}`, email: `signer${n}@customer.example.com` },
      templateId: CURRENT_TEMPLATE_ID,
      dateAgreed: new Date().toISOString(),
      type: 'MicrosoftCustomerAgreement',
      agreementLink: 'https://aka.ms/customeragreement',
    });
    return true;
  };
  const addQualification = (): boolean => {
    const id = pick(
      CHANGEABLE_IDS.filter(
        (candidate) => !customers.qualifications(candidate).some((item) => item.qualification === 'Education'),
      ),
    );
    if (id === undefined) return false;
    customers.setQualifications(id, [
      ...customers.qualifications(id),
      { qualification: 'Education', vettingStatus: 'InReview', vettingCreatedDate: new Date().toISOString() },
    ]);
    return true;
  };

  const changeOne = (): boolean => {
    const roll = random();
    // Mostly decisions and acceptances, a qualification now and then; the next kind when one has nothing left.
    const order =
      roll < 0.45
        ? [decideVetting, acceptMca, addQualification]
        : roll < 0.85
          ? [acceptMca, decideVetting, addQualification]
          : [addQualification, decideVetting, acceptMca];
    return order.some((change) => change());
  };

  const timer = setInterval(() => {
    const count = 1 + Math.floor(random() * 3);
    for (let i = 0; i < count && made < max; i++) {
      if (!changeOne()) {
        clearInterval(timer);
        return;
      }
      made++;
    }
    if (made >= max) clearInterval(timer);
  }, options.everyMs);
  // Never what keeps a process alive.
  timer.unref();
  return { made: () => made, stop: () => clearInterval(timer) };
}
