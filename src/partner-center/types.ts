// Owns the shapes the Partner Center client shares with its callers (the
// request context, the loaders, the quota machinery): what a call carries and
// the client's interface; what a request spent and the resources' names are
// src/domain/upstream.ts's. Types only, so no module imports the client for its types.

import type { Context as TraceContext } from '@opentelemetry/api';
import type { Config } from '../config/config';
import type { RequestStats, TokenIdentity } from '../domain/upstream';
import type { Logger } from '../observability/logger';
import type { NewAgreementBody, WireAgreement } from './agreements';
import type { ListCustomersRequest, WireCustomer, WireCustomerPage } from './customers';
import type { NewQualificationBody, WireQualification } from './qualifications';

/** What a request must be allowed before its calls are made or its answers served (src/request/access.ts). */
export interface CallGuard {
  read(): Promise<void>;
  write(): Promise<void>;
}

/** What one GraphQL request lends to each of its upstream calls. */
export interface CallContext {
  /** The caller's Authorization header, forwarded unchanged; undefined means no token (forward mode). */
  readonly authorization: string | undefined;
  /**
   * The gateway-held modes: the Authorization header of the gateway's own token, renewed as needed; used instead of
   * `authorization`, which then is never sent upstream.
   */
  readonly signIn?: (deadline: number) => Promise<string>;
  /** Checked before every read and write, cached answers included; absent in forward mode. */
  readonly guard?: CallGuard;
  /**
   * The background sync of the customer base: one attempt per call (every attempt counts toward its rate), a pacing
   * turn only when one is free now (requests come first), and no waiting out throttle windows.
   */
  readonly background?: boolean;
  /**
   * The token's digest and partner key, worked out once per request rather than for every call and attempt
   * (bench/README.md, "Speed"); worked out from `authorization` where absent.
   */
  readonly token?: TokenIdentity;
  readonly correlationId: string;
  /** Epoch ms after which no attempt starts and every wait gives up (the request budget). */
  readonly deadline: number;
  /** Sent as X-Locale; the configured default when undefined. */
  readonly locale?: string;
  /** Aborted when the caller goes away: queued calls are dropped and GETs in flight aborted. */
  readonly signal?: AbortSignal;
  /** What this request spent upstream, for its log line; the client and the loaders count into it. */
  readonly stats: RequestStats;
  /** The request's logger (carries the correlation id); the client's own logger when absent. */
  readonly log?: Logger;
  /** The request's operation span when tracing is on: parent of each call's span. */
  readonly trace?: TraceContext;
}

export interface PartnerCenterClient {
  getQualifications(customerId: string, call: CallContext): Promise<WireQualification[]>;
  getMcaDirectlySigned(customerId: string, call: CallContext): Promise<boolean>;
  addQualification(customerId: string, body: NewQualificationBody, call: CallContext): Promise<WireQualification>;
  /** GET /customers/{id}: the customer's profile (404 is NOT_FOUND). */
  getCustomer(customerId: string, call: CallContext): Promise<WireCustomer>;
  /** GET /customers: one page, filtered by company name, or the page after a continuation token. */
  listCustomers(request: ListCustomersRequest, call: CallContext): Promise<WireCustomerPage>;
  /** GET /customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement: the MCA's attestations, newest first. */
  getAgreements(customerId: string, call: CallContext): Promise<WireAgreement[]>;
  /** GET /agreements?agreementType=MicrosoftCustomerAgreement: the current template's id (lowest versionRank). */
  getCurrentAgreementTemplate(call: CallContext): Promise<string>;
  /** POST /customers/{id}/agreements: confirms the customer's acceptance; the created attestation. */
  confirmAgreement(customerId: string, body: NewAgreementBody, call: CallContext): Promise<WireAgreement>;
  close(): Promise<void>;
}

export type ClientConfig = Pick<
  Config,
  | 'baseUrl'
  | 'applicationName'
  | 'locale'
  | 'attemptTimeoutMs'
  | 'maxAttempts'
  | 'maxConcurrencyPerToken'
  | 'poolConnections'
  | 'httpsProxy'
  | 'httpProxy'
  | 'noProxy'
>;
