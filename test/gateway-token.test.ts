// The gateway's own token (src/sign-in/gateway-token.ts) on a set clock, with a token endpoint stand-in that answers
// as the test scripts and holds answers until told: how many tries a failing renewal makes and how far apart, the
// quiet time after them, the retry once a minute while refused and its end at close, each refusal's log line and
// advice, the renewal and expiry boundaries, a request's deadline, and replicas sharing one credential store.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SecretSetting } from '../src/config/sign-in-settings';
import { GatewayError } from '../src/domain/errors';
import { ignoredEvents } from '../src/observability/events';
import { type CredentialStore, createMemoryCredentialStore } from '../src/sign-in/credential-store';
import { createGatewayToken, type GatewayToken, type GatewayTokenOptions } from '../src/sign-in/gateway-token';
import type { TokenGrant, TokenOutcome } from '../src/sign-in/token-endpoint';
import { type CapturedLogs, captureLogs } from './support/logs';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
/** Twenty minutes: renewed 5 minutes before it expires (less than half its life). */
const LIFETIME = 1_200_000;
const FAILED = 'Entra token request failed; trying again with backoff';
const AGAIN = "Entra accepts the gateway's credentials again";
const CREDENTIALS =
  "The gateway cannot sign in to Partner Center: Microsoft Entra ID refused its credentials. The operator must renew them (see the gateway's log and /ready).";
const NO_ANSWER =
  'The gateway could not sign in to Partner Center: Microsoft Entra ID did not answer in time. Try again shortly.';
const CHECK_CLIENT = 'check PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET and the app registration';
const CONSENT = 'consent again with multi-factor authentication and set the new PARTNER_CENTER_REFRESH_TOKEN';
const EXPIRED_700082 =
  'the refresh token expired: a partner user must consent again with multi-factor authentication and the new refresh token must replace PARTNER_CENTER_REFRESH_TOKEN';

type Script = TokenOutcome | 'issue';

/** The token endpoint at the gateway token's interface: records each grant, answers from a script, holds on command. */
function tokenEndpoint() {
  const calls: Array<{ grant: TokenGrant; at: number }> = [];
  const script: Script[] = [];
  let otherwise: Script = 'issue';
  let holding = false;
  const held: Array<() => void> = [];
  let issued = 0;
  const answer = (next: Script): TokenOutcome => {
    if (next !== 'issue') return next;
    issued += 1;
    return {
      kind: 'issued',
      token: {
        accessToken: `access-${issued}`,
        expiresAt: Date.now() + lifetimeMs,
        lifetimeMs,
        refreshToken: `refresh-${issued}`,
      },
    };
  };
  let lifetimeMs = LIFETIME;
  return {
    calls,
    refreshTokens: () => calls.map((call) => call.grant.refreshToken),
    next(...next: Script[]) {
      script.push(...next);
    },
    always(next: Script) {
      otherwise = next;
    },
    lifetime(ms: number) {
      lifetimeMs = ms;
    },
    hold() {
      holding = true;
      return () => {
        holding = false;
        for (const release of held.splice(0)) release();
      };
    },
    async requestToken(grant: TokenGrant): Promise<TokenOutcome> {
      calls.push({ grant, at: performance.now() });
      if (holding) await new Promise<void>((resolve) => held.push(resolve));
      return answer(script.shift() ?? otherwise);
    },
  };
}
type Endpoint = ReturnType<typeof tokenEndpoint>;

const failed = (why: string): TokenOutcome => ({ kind: 'failed', why });
const refused = (error: string, aadsts?: string, status = 400): TokenOutcome => ({
  kind: 'refused',
  refusal: { error, aadsts, status },
});

let opened: GatewayToken[] = [];
afterEach(() => {
  for (const token of opened) token.close();
  opened = [];
  vi.useRealTimers();
});

interface Started {
  readonly token: GatewayToken;
  readonly logs: CapturedLogs;
  /** Every tokenRequest event, as `grant result`. */
  readonly results: string[];
}

function gatewayToken(
  endpoint: Endpoint,
  options: Partial<GatewayTokenOptions> & { configured?: string | null } = {},
  store: CredentialStore = createMemoryCredentialStore(),
): Started {
  const logs = captureLogs('info');
  const results: string[] = [];
  const events = {
    ...ignoredEvents,
    tokenRequest: (grant: string, result: string) => {
      results.push(`${grant} ${result}`);
    },
  };
  const { configured = 'refresh-token-0', ...rest } = options;
  const token = createGatewayToken({
    grant: 'refresh_token',
    tenant: 'tenant',
    clientId: 'gateway-client',
    clientSecret: new SecretSetting('gateway-secret'),
    ...(configured === null ? {} : { refreshToken: new SecretSetting(configured) }),
    scope: 'scope offline_access',
    requestToken: (grant) => endpoint.requestToken(grant),
    store,
    logger: logs.logger,
    events,
    ...rest,
  });
  opened.push(token);
  return { token, logs, results };
}

/** Waits (on the real clock, which the fake Date leaves alone) until `count()` is `expected`; expect.poll would move the fake Date. */
async function until(count: () => number, expected: number, timeoutMs = 10_000) {
  for (const start = performance.now(); count() !== expected && performance.now() - start < timeoutMs; ) await sleep(5);
  expect(count()).toBe(expected);
}

/** Lets the promise chains started by a call run (the memory store's queue, the stand-in's answer). */
async function settle() {
  for (let n = 0; n < 10; n++) await new Promise((resolve) => setImmediate(resolve));
}

const credentialsError = {
  extensions: { code: 'UNAUTHENTICATED', reason: 'GATEWAY_CREDENTIALS' },
  message: CREDENTIALS,
};
const noAnswer = { extensions: { code: 'UPSTREAM_UNAVAILABLE' }, message: NO_ANSWER };

describe('a renewal that keeps failing', () => {
  it('tries five times, each wait twice the one before, then stays quiet while the token serves', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const { token, logs, results } = gatewayToken(endpoint, { retryBaseMs: 40 });
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-1');
    const renewAt = T0 + LIFETIME - 300_000;

    // Just before its renewal point the token serves and nothing is asked.
    vi.setSystemTime(renewAt - 1);
    expect(await token.authorization(renewAt + 10_000)).toBe('Bearer access-1');
    await settle();
    expect(endpoint.calls).toHaveLength(1);

    endpoint.always(failed('Entra answered 503'));
    vi.setSystemTime(renewAt);
    expect(await token.authorization(renewAt + 10_000)).toBe('Bearer access-1');
    await until(() => logs.withMessage(FAILED).length, 5);
    await settle();
    expect(endpoint.calls).toHaveLength(6);
    expect(logs.withMessage(FAILED).map((line) => [line.grant, line.attempt, line.why])).toEqual(
      [1, 2, 3, 4, 5].map((attempt) => ['refresh_token', attempt, 'Entra answered 503']),
    );
    // 40, 80, 160 and 320 ms between the five tries. Node may start a timer from a loop time a few ms old, so each
    // gap is held to three quarters of its step: far above the 40, 20, 10 and 5 ms of steps halved instead of
    // doubled, and the 600 ms in all far below the 2,400 ms of steps one doubling further on.
    const at = endpoint.calls.slice(1).map((call) => call.at);
    const gaps = at.slice(1).map((time, n) => time - (at[n] ?? 0));
    gaps.forEach((gap, n) => {
      expect(gap).toBeGreaterThanOrEqual(0.75 * 40 * 2 ** n);
    });
    expect((at[4] ?? 0) - (at[0] ?? 0)).toBeLessThan(2_000);

    // Quiet for 32 steps after giving up: requests meanwhile take the valid token and ask nothing.
    const quietUntil = renewAt + 40 * 32;
    vi.setSystemTime(quietUntil - 1);
    expect(await token.authorization(quietUntil + 10_000)).toBe('Bearer access-1');
    await settle();
    expect(endpoint.calls).toHaveLength(6);

    endpoint.always('issue');
    vi.setSystemTime(quietUntil);
    expect(await token.authorization(quietUntil + 10_000)).toBe('Bearer access-1');
    await until(() => endpoint.calls.length, 7);
    await settle();
    expect(await token.authorization(quietUntil + 10_000)).toBe('Bearer access-2');
    expect(results).toEqual([
      'refresh_token ok',
      ...Array.from({ length: 5 }, () => 'refresh_token error'),
      'refresh_token ok',
    ]);
    // Transient failures are not a refusal: nothing to say when they end.
    expect(logs.withMessage(AGAIN)).toHaveLength(0);
    expect(token.status()).toEqual({ ready: true });
  });

  it('ends its quiet time once a renewal succeeds', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    endpoint.lifetime(1_000);
    const { token, logs } = gatewayToken(endpoint, { retryBaseMs: 40 });
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-1');
    // Due after half of its second; the five failed tries leave it quiet until 1,280 ms after that.
    endpoint.always(failed('Entra answered 503'));
    vi.setSystemTime(T0 + 500);
    await token.authorization(T0 + 10_000);
    await until(() => logs.withMessage(FAILED).length, 5);
    await settle();

    // Expired: a request waits for a renewal, quiet or not.
    endpoint.always('issue');
    vi.setSystemTime(T0 + 1_000);
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-2');
    expect(endpoint.calls).toHaveLength(7);
    // The new token is due at T0 + 1,500, still inside the old quiet time, and renewed all the same.
    vi.setSystemTime(T0 + 1_500);
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-2');
    await until(() => endpoint.calls.length, 8);
  });

  it('stops trying once closed', async () => {
    const endpoint = tokenEndpoint();
    endpoint.always(failed('Entra answered 503'));
    const release = endpoint.hold();
    const { token, logs } = gatewayToken(endpoint, { retryBaseMs: 5 });
    token.start();
    await until(() => endpoint.calls.length, 1);
    token.close();
    release();
    await until(() => logs.withMessage(FAILED).length, 1);
    // A request joins the renewal if it still runs, or starts one that makes no try: either way it ends with no
    // second call, where four more tries 5, 10, 20 and 40 ms apart would come before it ends.
    await expect(token.authorization(Date.now() + 10_000)).rejects.toMatchObject(noAnswer);
    expect(endpoint.calls).toHaveLength(1);
  });
});

describe('refused credentials', () => {
  it('are asked again once a minute by a timer, never sooner for a request, and no more after close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
    const endpoint = tokenEndpoint();
    endpoint.always(refused('invalid_grant', 'AADSTS700082'));
    const { token, results } = gatewayToken(endpoint);
    token.start();
    await settle();
    expect(endpoint.calls).toHaveLength(1);
    expect(token.status()).toEqual({
      ready: false,
      reason: 'GATEWAY_CREDENTIALS',
      error: 'invalid_grant',
      aadsts: 'AADSTS700082',
      action: EXPIRED_700082,
    });
    await expect(token.authorization(T0 + 10_000)).rejects.toMatchObject(credentialsError);

    await vi.advanceTimersByTimeAsync(59_999);
    await settle();
    expect(endpoint.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(endpoint.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(endpoint.calls).toHaveLength(3);
    expect(results).toEqual(['refresh_token refused', 'refresh_token refused', 'refresh_token refused']);

    token.close();
    await vi.advanceTimersByTimeAsync(600_000);
    await settle();
    expect(endpoint.calls).toHaveLength(3);
  });

  it('schedule no retry when the refusal arrives after close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
    const endpoint = tokenEndpoint();
    endpoint.always(refused('invalid_grant', 'AADSTS700082'));
    const release = endpoint.hold();
    const { token } = gatewayToken(endpoint);
    token.start();
    await settle();
    expect(endpoint.calls).toHaveLength(1);
    token.close();
    release();
    await settle();
    await vi.advanceTimersByTimeAsync(600_000);
    await settle();
    expect(endpoint.calls).toHaveLength(1);
  });

  it('log one line per new refusal, with what to do, and one when Entra accepts again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const sequence: Array<[TokenOutcome, string | undefined]> = [
      [refused('invalid_grant', 'AADSTS70008'), 'logged'],
      [refused('invalid_grant', 'AADSTS70008'), undefined],
      [refused('invalid_grant', 'AADSTS70000'), 'logged'],
      [refused('invalid_client', 'AADSTS70000', 401), 'logged'],
      [refused('invalid_client', 'AADSTS9999999', 401), 'logged'],
      [refused('unauthorized_client', undefined), 'logged'],
      [refused('consent_required', undefined), 'logged'],
    ];
    endpoint.next(...sequence.map(([outcome]) => outcome));
    const { token, logs, results } = gatewayToken(endpoint);
    const actions: unknown[] = [];
    token.start();
    for (let n = 0; n < sequence.length; n++) {
      await settle();
      expect(endpoint.calls).toHaveLength(n + 1);
      const status = token.status();
      actions.push(status.ready ? 'ready' : status.action);
      await vi.advanceTimersByTimeAsync(60_000);
    }
    await settle();
    expect(endpoint.calls).toHaveLength(sequence.length + 1);

    const advice70000 =
      'the refresh token was already redeemed or revoked: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN';
    expect(actions).toEqual([
      'the refresh token expired: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN',
      'the refresh token expired: consent again and set the new PARTNER_CENTER_REFRESH_TOKEN',
      advice70000,
      advice70000,
      CHECK_CLIENT,
      CHECK_CLIENT,
      CONSENT,
    ]);
    const then =
      'Fields that need Partner Center fail with UNAUTHENTICATED (GATEWAY_CREDENTIALS) and /ready answers 503; the gateway tries again every minute.';
    const errors = logs.records().filter((record) => record.level === 'error');
    expect(errors.map(({ grant, error, aadsts, status, msg }) => ({ grant, error, aadsts, status, msg }))).toEqual([
      {
        grant: 'refresh_token',
        error: 'invalid_grant',
        aadsts: 'AADSTS70008',
        status: 400,
        msg: `Entra refused the gateway's credentials (AADSTS70008): ${actions[0]}. ${then}`,
      },
      {
        grant: 'refresh_token',
        error: 'invalid_grant',
        aadsts: 'AADSTS70000',
        status: 400,
        msg: `Entra refused the gateway's credentials (AADSTS70000): ${advice70000}. ${then}`,
      },
      {
        grant: 'refresh_token',
        error: 'invalid_client',
        aadsts: 'AADSTS70000',
        status: 401,
        msg: `Entra refused the gateway's credentials (AADSTS70000): ${advice70000}. ${then}`,
      },
      {
        grant: 'refresh_token',
        error: 'invalid_client',
        aadsts: 'AADSTS9999999',
        status: 401,
        msg: `Entra refused the gateway's credentials (AADSTS9999999): ${CHECK_CLIENT}. ${then}`,
      },
      {
        grant: 'refresh_token',
        error: 'unauthorized_client',
        aadsts: undefined,
        status: 400,
        msg: `Entra refused the gateway's credentials (unauthorized_client): ${CHECK_CLIENT}. ${then}`,
      },
      {
        grant: 'refresh_token',
        error: 'consent_required',
        aadsts: undefined,
        status: 400,
        msg: `Entra refused the gateway's credentials (consent_required): ${CONSENT}. ${then}`,
      },
    ]);
    expect(token.status()).toEqual({ ready: true });
    expect(logs.withMessage(AGAIN).map((line) => [line.level, line.grant])).toEqual([['info', 'refresh_token']]);
    expect(results).toEqual([...sequence.map(() => 'refresh_token refused'), 'refresh_token ok']);
  });
});

describe('a request waiting for a token', () => {
  it('fails with GATEWAY_CREDENTIALS when the renewal it waits for is refused', async () => {
    const endpoint = tokenEndpoint();
    endpoint.next(refused('invalid_grant', 'AADSTS700082'));
    const release = endpoint.hold();
    const { token } = gatewayToken(endpoint);
    const waiting = token.authorization(Date.now() + 10_000);
    await until(() => endpoint.calls.length, 1);
    release();
    await expect(waiting).rejects.toMatchObject(credentialsError);
  });

  it('fails with UPSTREAM_UNAVAILABLE at its deadline, and the renewal still serves the next one', async () => {
    const endpoint = tokenEndpoint();
    const release = endpoint.hold();
    const { token } = gatewayToken(endpoint);
    const waiting = token.authorization(Date.now() + 50);
    await expect(waiting).rejects.toMatchObject(noAnswer);
    await expect(waiting).rejects.toBeInstanceOf(GatewayError);
    expect(endpoint.calls).toHaveLength(1);
    release();
    expect(await token.authorization(Date.now() + 10_000)).toBe('Bearer access-1');
    expect(endpoint.calls).toHaveLength(1);
  });

  it('fails with UPSTREAM_UNAVAILABLE when every try fails before its deadline, with no token or an expired one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    endpoint.next(failed('Entra answered 503'), failed('Entra answered 503'), failed('Entra answered 503'));
    endpoint.next(failed('Entra answered 503'), failed('Entra answered 503'));
    const { token } = gatewayToken(endpoint, { retryBaseMs: 1 });
    await expect(token.authorization(T0 + 10_000)).rejects.toMatchObject(noAnswer);
    expect(endpoint.calls).toHaveLength(5);
    // A token that expires exactly now is not served, while its renewal fails.
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-1');
    vi.setSystemTime(T0 + LIFETIME);
    endpoint.always(failed('Entra answered 503'));
    await expect(token.authorization(T0 + LIFETIME + 10_000)).rejects.toMatchObject(noAnswer);
    expect(endpoint.calls).toHaveLength(11);
  });

  it('takes the old token until its last millisecond, and the renewed one from then', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const { token } = gatewayToken(endpoint, { retryBaseMs: 1 });
    expect(await token.authorization(T0 + 10_000)).toBe('Bearer access-1');
    const release = endpoint.hold();
    vi.setSystemTime(T0 + LIFETIME - 1);
    expect(await token.authorization(T0 + LIFETIME + 10_000)).toBe('Bearer access-1');
    await until(() => endpoint.calls.length, 2);
    vi.setSystemTime(T0 + LIFETIME);
    const waiting = token.authorization(T0 + LIFETIME + 10_000);
    release();
    expect(await waiting).toBe('Bearer access-2');
    expect(endpoint.calls).toHaveLength(2);
  });
});

describe('replicas sharing one credential store', () => {
  it('take the token another renewed, unless it is due, and redeem the newest refresh token of the chain', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const store = createMemoryCredentialStore();
    const one = gatewayToken(endpoint, {}, store).token;
    expect(await one.authorization(T0 + 10_000)).toBe('Bearer access-1');
    // A replica with no token of its own finds it in the store.
    const two = gatewayToken(endpoint, {}, store).token;
    expect(await two.authorization(T0 + 10_000)).toBe('Bearer access-1');
    expect(endpoint.calls).toHaveLength(1);

    // At its renewal point the stored token is not taken: a third replica asks, with the rotated refresh token.
    const renewAt = T0 + LIFETIME - 300_000;
    vi.setSystemTime(renewAt);
    const three = gatewayToken(endpoint, {}, store).token;
    expect(await three.authorization(renewAt + 10_000)).toBe('Bearer access-2');
    // The first one, due too, takes the second token from the store instead of asking.
    expect(await one.authorization(renewAt + 10_000)).toBe('Bearer access-1');
    await settle();
    expect(await one.authorization(renewAt + 10_000)).toBe('Bearer access-2');
    expect(endpoint.refreshTokens()).toEqual(['refresh-token-0', 'refresh-1']);
  });

  it('begin a new chain from a newly configured refresh token, taking nothing of the old one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const store = createMemoryCredentialStore();
    const old = gatewayToken(endpoint, {}, store).token;
    expect(await old.authorization(T0 + 10_000)).toBe('Bearer access-1');
    const consented = gatewayToken(endpoint, { configured: 'a-new-consent' }, store).token;
    expect(await consented.authorization(T0 + 10_000)).toBe('Bearer access-2');
    // Its own rotated token is the chain's newest from then on.
    vi.setSystemTime(T0 + LIFETIME);
    expect(await consented.authorization(T0 + LIFETIME + 10_000)).toBe('Bearer access-3');
    expect(endpoint.refreshTokens()).toEqual(['refresh-token-0', 'a-new-consent', 'refresh-2']);
  });

  it('share client-credentials tokens, with no refresh token asked or kept', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const endpoint = tokenEndpoint();
    const store = createMemoryCredentialStore();
    const app = { grant: 'client_credentials', configured: null } as const;
    const one = gatewayToken(endpoint, app, store);
    expect(await one.token.authorization(T0 + 10_000)).toBe('Bearer access-1');
    const two = gatewayToken(endpoint, app, store).token;
    expect(await two.authorization(T0 + 10_000)).toBe('Bearer access-1');
    vi.setSystemTime(T0 + LIFETIME);
    expect(await two.authorization(T0 + LIFETIME + 10_000)).toBe('Bearer access-2');
    expect(endpoint.calls.map((call) => [call.grant.grant, call.grant.refreshToken])).toEqual([
      ['client_credentials', undefined],
      ['client_credentials', undefined],
    ]);
    expect(one.results).toEqual(['client_credentials ok']);
  });
});
