// The change log of the customer base and its subscription over GraphQL over
// SSE: a first pass records nothing, the next records exactly what the
// stand-in changed (in order), a mutation records one GATEWAY change and the
// sync's later read nothing more; paging, filters and cursors (never issued,
// expired); a subscription replays from a cursor then goes on live with no
// duplicate, is refused before anything is sent, is bounded by
// SUBSCRIPTIONS_MAX, and ends when its caller's token expires.

import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firstPassEnded } from './support/customer-base';
import { createChangingStandIn } from './support/customer-world';
import { DEFAULT_REFRESH_TOKEN, type EntraStandIn, startEntra } from './support/entra';
import { customerId, type RunningGateway } from './support/gateway';
import { bearer, signInSettings, startSignedInGateway } from './support/sign-in';
import { type SsePayload, subscribeOverSse } from './support/sse';
import { startUpstream, type Upstream } from './support/upstream';

/** The stand-in whose customers each test changes; every list read after the first waits for its gate. */
const stand = createChangingStandIn();

let entra: EntraStandIn;
let upstream: Upstream;
let reader: string;
let writer: string;
let running: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream(stand.handler);
  entra = await startEntra();
  reader = await entra.signCallerToken();
  writer = await entra.signCallerToken({ roles: ['PartnerCenter.Write'] });
});
afterAll(async () => {
  await entra.close();
  await upstream.close();
});
beforeEach(() => {
  stand.reset();
  entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);
});
afterEach(async () => {
  stand.openGate();
  for (const gw of running) await gw.close();
  running = [];
});

async function syncing(overrides: Record<string, unknown> = {}) {
  const gw = await startSignedInGateway(
    upstream.url,
    signInSettings(entra),
    { ratePerMinute: 600_000, syncRatePerMinute: 300_000, ...overrides },
    // Data is due again 200 ms after it was read, so passes follow one another in a test's time.
    { customerBase: { maxAgeMs: 200 } },
  );
  running.push(gw);
  await firstPassEnded(gw, bearer(reader));
  return gw;
}

interface Change {
  cursor: string;
  kind: string;
  source: string;
  customerId: string;
  companyName: string | null;
  qualification: string | null;
  qualificationKind: string | null;
  vettingStatusBefore: string | null;
  vettingStatus: string | null;
}
const FIELDS =
  'cursor at kind source customerId companyName qualification qualificationKind vettingStatusBefore vettingStatus';

async function changesOf(gw: RunningGateway, args = '', token = reader) {
  const { body } = await gw.query<{
    customerBase: { changes: { nodes: Change[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
  }>(
    `{ customerBase { changes${args} { nodes { ${FIELDS} } pageInfo { hasNextPage endCursor } } } }`,
    undefined,
    bearer(token),
  );
  return body;
}

/** Waits (bounded) until the log holds `count` changes and one more pass has completed after that. */
async function settled(gw: RunningGateway, count: number): Promise<Change[]> {
  for (let tries = 0; tries < 400; tries++) {
    const nodes = (await changesOf(gw, '(first: 100)')).data?.customerBase.changes.nodes ?? [];
    if (nodes.length >= count) {
      await passes(gw, 2);
      return (await changesOf(gw, '(first: 100)')).data?.customerBase.changes.nodes ?? [];
    }
    await sleep(25);
  }
  throw new Error(`the log never held ${count} changes`);
}

/** Waits (bounded) until `count` more passes have completed. */
async function passes(gw: RunningGateway, count: number): Promise<void> {
  const completedAt = async () => {
    const { body } = await gw.query<{ customerBase: { sync: { lastPassCompletedAt: string } } }>(
      '{ customerBase { sync { lastPassCompletedAt } } }',
      undefined,
      bearer(reader),
    );
    return body.data?.customerBase.sync.lastPassCompletedAt;
  };
  let last = await completedAt();
  for (let seen = 0, tries = 0; seen < count && tries < 400; tries++) {
    await sleep(25);
    const now = await completedAt();
    if (now !== last) {
      seen++;
      last = now;
    }
  }
}

const summaryOf = (change: Change) =>
  [
    change.kind,
    change.source,
    change.customerId,
    change.qualification,
    change.vettingStatusBefore,
    change.vettingStatus,
  ].join(' ');

/** Follows customerChanges over GraphQL over SSE, handing each `next` payload to `onEvent`. */
const follow = (
  gw: RunningGateway,
  variables: Record<string, unknown>,
  onEvent: (payload: SsePayload<{ customerChanges: Change }>) => void,
  token: string | null = reader,
  stop?: AbortSignal,
) =>
  subscribeOverSse(
    gw.url,
    {
      query: `subscription ($after: String, $where: CustomerChangeFilter) { customerChanges(after: $after, where: $where) { ${FIELDS} } }`,
      variables,
    },
    token === null ? {} : bearer(token),
    onEvent,
    stop,
  );

const addQualification = (gw: RunningGateway, n: number) =>
  gw.query(
    `mutation { addCustomerQualification(input: { customerId: "${customerId(n)}", qualification: STATE_OWNED_ENTITY }) { qualification { kind } } }`,
    undefined,
    bearer(writer),
  );

describe('the change log', () => {
  it('records nothing on a first pass, then exactly what the next pass finds, in order', async () => {
    const gw = await syncing();
    expect((await changesOf(gw)).data?.customerBase.changes).toEqual({
      nodes: [],
      pageInfo: { hasNextPage: false, endCursor: null },
    });
    stand.world.vetting.set(1, 'Approved');
    stand.world.attested.add(2);
    stand.world.extra.set(3, [{ qualification: 'StateOwnedEntity' }]);
    stand.world.listed = [1, 2, 3, 4, 6];
    stand.openGate();

    const changes = await settled(gw, 5);
    expect(changes.map(summaryOf)).toEqual([
      `CUSTOMER_LISTED SYNC ${customerId(6)}   `,
      `CUSTOMER_DROPPED SYNC ${customerId(5)}   `,
      `VETTING_STATUS_CHANGED SYNC ${customerId(1)} Education IN_REVIEW APPROVED`,
      `MCA_ACCEPTED SYNC ${customerId(2)}   `,
      `QUALIFICATION_ADDED SYNC ${customerId(3)} StateOwnedEntity  `,
    ]);
    expect(changes[0]?.companyName).toBe('Company 006');
    expect(changes[1]?.companyName).toBe('Company 005');
    expect(changes[2]?.qualificationKind).toBe('EDUCATION');
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('gateway_customer_changes_total{kind="VETTING_STATUS_CHANGED"} 1');
    expect(metrics).toContain('gateway_customer_changes_total{kind="CUSTOMER_LISTED"} 1');
  });

  it('records a qualification removed with its status before, and nothing for what did not change', async () => {
    stand.world.extra.set(3, [{ qualification: 'StateOwnedEntity', vettingStatus: 'Approved' }]);
    stand.world.extra.set(4, [{ qualification: 'Nonprofit', vettingStatus: 'Approved' }]);
    const gw = await syncing();
    stand.world.vetting.delete(1);
    stand.world.extra.set(4, [
      { qualification: 'Nonprofit', vettingStatus: 'Approved' },
      { qualification: 'StateOwnedEntity', vettingStatus: 'Approved' },
    ]);
    stand.openGate();

    const changes = await settled(gw, 2);
    expect(changes.map(summaryOf)).toEqual([
      `QUALIFICATION_REMOVED SYNC ${customerId(1)} Education IN_REVIEW `,
      `QUALIFICATION_ADDED SYNC ${customerId(4)} StateOwnedEntity  APPROVED`,
    ]);
    expect(changes.map((change) => [change.companyName, change.qualificationKind])).toEqual([
      ['Company 001', 'EDUCATION'],
      ['Company 004', 'STATE_OWNED_ENTITY'],
    ]);
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('gateway_customer_changes_total{kind="QUALIFICATION_REMOVED"} 1');
    expect(metrics).toContain('gateway_customer_changes_total{kind="QUALIFICATION_ADDED"} 1');
    expect(metrics).not.toContain('gateway_customer_changes_total{kind="VETTING_STATUS_CHANGED"}');
    // An empty list of kinds filters nothing out; a qualification kind keeps only its changes.
    const noKinds = await changesOf(gw, '(where: { kinds: [] })');
    expect(noKinds.data?.customerBase.changes.nodes.map((change) => change.kind)).toEqual([
      'QUALIFICATION_REMOVED',
      'QUALIFICATION_ADDED',
    ]);
    const education = await changesOf(gw, '(where: { qualification: EDUCATION })');
    expect(education.data?.customerBase.changes.nodes.map((change) => change.customerId)).toEqual([customerId(1)]);
  });

  it('records a mutation once, with source GATEWAY, and the sync reading the same fact records nothing more', async () => {
    const gw = await syncing();
    stand.openGate();
    const added = await addQualification(gw, 2);
    expect(added.body.errors).toBeUndefined();
    const changes = await settled(gw, 1);
    expect(changes.map(summaryOf)).toEqual([
      `QUALIFICATION_ADDED GATEWAY ${customerId(2)} StateOwnedEntity  IN_REVIEW`,
    ]);
  });

  it('pages oldest first, walking each change once, with filters, and refuses bad first and cursors', async () => {
    const gw = await syncing({ changesMax: 4 });
    stand.openGate();
    for (const n of [1, 2, 3, 4, 5]) expect((await addQualification(gw, n)).body.errors).toBeUndefined();
    // At most CHANGES_MAX kept: the first of the five is dropped.
    const all = (await changesOf(gw, '(first: 100)')).data?.customerBase.changes.nodes ?? [];
    expect(all.map((change) => change.customerId)).toEqual([2, 3, 4, 5].map(customerId));

    const walked: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const body = await changesOf(gw, after ? `(first: 3, after: "${after}")` : '(first: 3)');
      const { nodes, pageInfo } = body.data?.customerBase.changes ?? {
        nodes: [],
        pageInfo: { hasNextPage: false, endCursor: null },
      };
      walked.push(...nodes.map((change) => change.customerId));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(walked).toEqual(all.map((change) => change.customerId));

    const byCustomer = await changesOf(gw, `(where: { customerId: "{${customerId(3).toUpperCase()}}" })`);
    expect(byCustomer.data?.customerBase.changes.nodes.map((change) => change.customerId)).toEqual([customerId(3)]);
    const byKind = await changesOf(gw, '(where: { kinds: [MCA_ACCEPTED, CUSTOMER_LISTED] })');
    expect(byKind.data?.customerBase.changes.nodes).toEqual([]);
    const byQualification = await changesOf(
      gw,
      '(where: { qualification: STATE_OWNED_ENTITY, kinds: [QUALIFICATION_ADDED] })',
    );
    expect(byQualification.data?.customerBase.changes.nodes).toHaveLength(4);

    for (const first of [0, 101]) {
      const refused = (await changesOf(gw, `(first: ${first})`)).errors?.[0];
      expect(refused?.extensions).toEqual({ code: 'BAD_USER_INPUT', min: 1, max: 100 });
      expect(refused?.message).toBe(`first must be 1 to 100, got ${first}.`);
    }
    const badCustomer = await changesOf(gw, '(where: { customerId: "contoso" })');
    expect(badCustomer.errors?.[0]?.message).toMatch(/^where\.customerId: expected a customer tenant id as a GUID/);
    const made = await changesOf(gw, '(after: "MTIzLTA.AAAAAAAAAAAA")');
    expect(made.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    // A cursor of the change that was dropped: expired, and the client is told what to do.
    const firstCursor = (await changesOf(gw, '(first: 1)')).data?.customerBase.changes.nodes[0]?.cursor as string;
    const older = olderCursor(firstCursor);
    const expired = await changesOf(gw, `(after: "${older}")`);
    expect(expired.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'CURSOR_EXPIRED' });
    expect(expired.errors?.[0]?.message).toBe(
      'after: this cursor is older than the changes kept (CHANGES_RETENTION_DAYS, CHANGES_MAX): read customerBase afresh, then follow from a new cursor.',
    );
  });
});

/**
 * A cursor of the log for the id just before `cursor`'s (the cursor of the change dropped before it). Cursors are
 * opaque to clients; the test knows their make-up (src/schema/customer-changes.ts) to name a dropped change's cursor.
 */
function olderCursor(cursor: string): string {
  const [ms = 0] = idOf(cursor).split('-').map(Number);
  return cursorOf(`${ms - 1}-0`);
}

/** The change id a cursor carries. */
const idOf = (cursor: string) => Buffer.from(cursor.split('.')[0] as string, 'base64url').toString('utf8');

/** A cursor for the change id `id`, as the gateway makes them, whether or not it issued one. */
function cursorOf(id: string): string {
  const check = createHash('sha256').update(`customerChanges cursor:${id}`).digest('base64url').slice(0, 12);
  return `${Buffer.from(id, 'utf8').toString('base64url')}.${check}`;
}

describe('cursors of customerBase.changes', () => {
  const NEVER_ISSUED = 'after: not a cursor of customer changes (never issued); pass a cursor a change carried.';

  it('refuses a malformed or altered cursor, each with its own reason', async () => {
    const gw = await syncing();
    for (const [cursor, why] of [
      ['not-a-cursor', 'malformed'],
      [`${'A'.repeat(65)}.AAAAAAAAAAAA`, 'malformed'],
      ['MTIzLTA.AAAAAAAAAAA', 'malformed'],
      ['MTIzLTA.AAAAAAAAAAAAA', 'malformed'],
      ['MTIz LTA.AAAAAAAAAAAA', 'malformed'],
      ['MTIzLTA.AAAAAAAAAAAA', 'it was altered or made up'],
      [`${cursorOf('123-0').split('.')[0]}.${cursorOf('124-0').split('.')[1]}`, 'it was altered or made up'],
      [cursorOf('123-x'), 'it was altered or made up'],
    ] as const) {
      const refused = await changesOf(gw, `(after: "${cursor}")`);
      expect(refused.errors?.[0]?.message).toBe(
        `after: not a cursor of customer changes (${why}); pass a cursor a change carried.`,
      );
      expect(refused.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    }
  });

  it('takes a cursor another replica issued moments ago, not yet read here, and refuses one never issued', async () => {
    const gw = await syncing();
    // The log is empty: a cursor of the last seconds may be another replica's; an older or a future one is not.
    const recent = cursorOf(`${Date.now() - 1_000}-0`);
    expect((await changesOf(gw, `(after: "${recent}")`)).data?.customerBase.changes).toEqual({
      nodes: [],
      pageInfo: { hasNextPage: false, endCursor: recent },
    });
    for (const id of [`${Date.now() - 60_000}-0`, `${Date.now() + 60_000}-0`]) {
      const refused = await changesOf(gw, `(after: "${cursorOf(id)}")`);
      expect(refused.errors?.[0]?.message).toBe(NEVER_ISSUED);
    }

    stand.openGate();
    for (const n of [1, 2]) expect((await addQualification(gw, n)).body.errors).toBeUndefined();
    const kept = (await changesOf(gw)).data?.customerBase.changes.nodes ?? [];
    const [first, second] = kept.map((change) => idOf(change.cursor));
    expect(kept).toHaveLength(2);
    // An id between two kept ones was never issued, however recent.
    const [firstMs = 0, firstSeq = 0] = (first as string).split('-').map(Number);
    const between = `${firstMs}-${firstSeq + 1}`;
    expect(between).not.toBe(second);
    const refused = await changesOf(gw, `(after: "${cursorOf(between)}")`);
    expect(refused.errors?.[0]?.message).toBe(NEVER_ISSUED);
    // After the newest kept, even within its millisecond, a recent id may be another replica's: taken.
    const [secondMs = 0, secondSeq = 0] = (second as string).split('-').map(Number);
    for (const id of [`${secondMs}-${secondSeq + 1}`, `${Date.now()}-0`]) {
      const page = (await changesOf(gw, `(after: "${cursorOf(id)}")`)).data?.customerBase.changes;
      expect(page).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: cursorOf(id) } });
    }
    // After the newest: an empty page that keeps the client's place.
    const last = kept[1]?.cursor as string;
    expect((await changesOf(gw, `(after: "${last}")`)).data?.customerBase.changes).toEqual({
      nodes: [],
      pageInfo: { hasNextPage: false, endCursor: last },
    });
    const page = (await changesOf(gw, `(first: 1, after: "${kept[0]?.cursor}")`)).data?.customerBase.changes;
    expect(page?.pageInfo).toEqual({ hasNextPage: false, endCursor: last });
  });
});

describe('the change log in SNAPSHOT_PATH', () => {
  it('keeps the changes and their cursors across a restart', async () => {
    const snapshotPath = join(mkdtempSync(join(tmpdir(), 'changes-')), 'snapshot.json');
    const first = await syncing({ snapshotPath });
    stand.openGate();
    for (const n of [1, 2]) expect((await addQualification(first, n)).body.errors).toBeUndefined();
    const before = (await changesOf(first)).data?.customerBase.changes.nodes ?? [];
    expect(before).toHaveLength(2);
    await first.close();
    running = running.filter((gw) => gw !== first);
    // A gateway without Redis begins again from the configured refresh token, which the stand-in has rotated.
    entra.setRefreshToken(DEFAULT_REFRESH_TOKEN);

    const restarted = await syncing({ snapshotPath });
    const after = (await changesOf(restarted)).data?.customerBase.changes.nodes ?? [];
    expect(after.map((change) => change.cursor)).toEqual(before.map((change) => change.cursor));
    const next = await changesOf(restarted, `(after: "${before[0]?.cursor}")`);
    expect(next.data?.customerBase.changes.nodes.map((change) => change.customerId)).toEqual([customerId(2)]);
    // Changes recorded after the restart come after the kept ones.
    expect((await addQualification(restarted, 3)).body.errors).toBeUndefined();
    const all = (await changesOf(restarted)).data?.customerBase.changes.nodes ?? [];
    expect(all.map((change) => change.customerId)).toEqual([1, 2, 3].map(customerId));
  });
});

describe('the customerChanges subscription over SSE', () => {
  it('replays what was kept after a cursor, then goes on live, with no gap and no duplicate', async () => {
    const gw = await syncing();
    stand.openGate();
    for (const n of [1, 2, 3]) await addQualification(gw, n);
    const kept = (await changesOf(gw)).data?.customerBase.changes.nodes ?? [];
    expect(kept).toHaveLength(3);

    const received: Change[] = [];
    const stop = new AbortController();
    const stream = await follow(
      gw,
      { after: kept[0]?.cursor },
      (payload) => {
        if (payload.data?.customerChanges) received.push(payload.data.customerChanges);
      },
      reader,
      stop.signal,
    );
    expect(stream.status).toBe(200);
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(2);
    await addQualification(gw, 4);
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(3);
    await passes(gw, 2);
    stop.abort();
    await stream.ended;
    expect(received.map((change) => change.customerId)).toEqual([2, 3, 4].map(customerId));
    expect(received.map((change) => change.source)).toEqual(['GATEWAY', 'GATEWAY', 'GATEWAY']);
  });

  it('without after sends only new changes, filtered by where', async () => {
    const gw = await syncing();
    stand.openGate();
    await addQualification(gw, 1);
    const received: Change[] = [];
    const stop = new AbortController();
    const stream = await follow(
      gw,
      { where: { customerId: customerId(3) } },
      (payload) => {
        if (payload.data?.customerChanges) received.push(payload.data.customerChanges);
      },
      reader,
      stop.signal,
    );
    await addQualification(gw, 2);
    await addQualification(gw, 3);
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1);
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('gateway_subscriptions{transport="sse"} 1');
    stop.abort();
    await stream.ended;
    expect(received.map((change) => change.customerId)).toEqual([customerId(3)]);
    await expect
      .poll(
        async () =>
          (await (await fetch(gw.url.replace('/graphql', '/metrics'))).text()).includes(
            'gateway_subscriptions{transport="sse"} 0',
          ),
        { timeout: 5_000 },
      )
      .toBe(true);
  });

  it('refuses a caller without a token or the read role before anything is sent, and one past SUBSCRIPTIONS_MAX', async () => {
    const gw = await syncing({ subscriptionsMax: 1 });
    stand.openGate();
    const errorsOf = async (token: string | null) => {
      const payloads: Array<{
        errors?: Array<{ message?: string; extensions?: Record<string, unknown> }>;
        data?: unknown;
      }> = [];
      const stream = await follow(gw, {}, (payload) => payloads.push(payload), token);
      await stream.ended;
      return { status: stream.status, payloads };
    };
    const anonymous = await errorsOf(null);
    const noRole = await errorsOf(await entra.signCallerToken({ roles: [] }));
    for (const [refused, code] of [
      [anonymous, 'UNAUTHENTICATED'],
      [noRole, 'FORBIDDEN'],
    ] as const) {
      expect(refused.payloads).toHaveLength(1);
      expect(refused.payloads[0]?.data ?? null).toBeNull();
      expect(refused.payloads[0]?.errors?.[0]?.extensions?.code).toBe(code);
    }

    const received: Change[] = [];
    const stop = new AbortController();
    const first = await follow(
      gw,
      {},
      (payload) => {
        if (payload.data?.customerChanges) received.push(payload.data.customerChanges);
      },
      reader,
      stop.signal,
    );
    await expect
      .poll(
        async () =>
          (await (await fetch(gw.url.replace('/graphql', '/metrics'))).text()).includes(
            'gateway_subscriptions{transport="sse"} 1',
          ),
        { timeout: 5_000 },
      )
      .toBe(true);
    const second = await errorsOf(reader);
    expect(second.payloads[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', max: 1 });
    expect(second.payloads[0]?.errors?.[0]?.message).toBe(
      'This replica serves at most 1 subscriptions (SUBSCRIPTIONS_MAX) and all are open: try again later or another replica.',
    );
    await addQualification(gw, 1);
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1);
    stop.abort();
    await first.ended;
  });

  it("ends with UNAUTHENTICATED when the caller's token expires", async () => {
    const gw = await syncing();
    stand.openGate();
    const shortLived = await entra.signCallerToken(undefined, { expiresIn: 2 });
    const payloads: Array<{ errors?: Array<{ message?: string; extensions?: Record<string, unknown> }> }> = [];
    const stream = await follow(gw, {}, (payload) => payloads.push(payload), shortLived);
    await stream.ended;
    expect(payloads).toHaveLength(1);
    expect(payloads[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(payloads[0]?.errors?.[0]?.message).toBe(
      'The token expired: subscribe again with a fresh token and the last cursor.',
    );
  });
});
