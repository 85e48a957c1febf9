// Owns GET /exports/customers.csv: the customer-base snapshot as CSV, with
// the filter of customerBase as query parameters (a bad value is a 400 naming
// it), the same authentication and read role as GraphQL, the order of
// customerBase.customers, RFC 4180 quoting with CRLF line ends, cells that
// would start a spreadsheet formula prefixed with ', streamed a chunk of rows
// at a time so a large base is never built in memory whole.

import type { Plugin } from 'graphql-yoga';
import type { CustomerBase } from '../customer-base/customer-base';
import { type CustomerFilter, filterProblem, orderedIn } from '../customer-base/query';
import { mcaAcceptedOf, type StoredCustomer, syncedAtOf } from '../customer-base/store';
import { GatewayError } from '../domain/errors';
import { KINDS, STATUSES, vettingStatusOf } from '../domain/qualification';
import { RELATIONSHIPS, relationshipOf } from '../domain/relationship-to-partner';
import type { Access } from '../request/access';

export const EXPORT_PATH = '/exports/customers.csv';
/** The last two columns came after the others, so that readers of the first seven keep working. */
export const CSV_HEADER =
  'id,companyName,domain,relationshipToPartner,mcaDirectlySigned,qualifications,syncedAt,mcaAccepted,mcaAttestedAt';
/** Rows per chunk of the stream. */
const ROWS_PER_CHUNK = 500;

/** RFC 4180: quoted when it holds a comma, quote, CR or LF (quotes doubled); a formula's first character defused. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRow(customer: StoredCustomer): string {
  const syncedAt = syncedAtOf(customer);
  const cells = [
    customer.id,
    customer.companyName ?? '',
    customer.domain ?? '',
    relationshipOf(customer.relationshipToPartner) ?? '',
    booleanCell(customer.mca),
    (customer.qualifications ?? [])
      .map((item) => `${item.qualification}:${vettingStatusOf(item.vettingStatus) ?? ''}`)
      .join(';'),
    syncedAt === undefined ? '' : new Date(syncedAt).toISOString(),
    booleanCell(mcaAcceptedOf(customer)),
    // The attestations are kept newest first.
    customer.agreements?.[0]?.dateAgreed ?? '',
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

const booleanCell = (value: boolean | null | undefined) => (value === true ? 'true' : value === false ? 'false' : '');

class BadExportParameterError extends GatewayError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

/** The filter from the query string, or a 400 naming the parameter whose value is not one it takes. */
export function filterFromQuery(params: URLSearchParams): CustomerFilter {
  const known = [
    'mcaDirectlySigned',
    'mcaAccepted',
    'qualification',
    'vettingStatus',
    'companyNameStartsWith',
    'relationshipToPartner',
  ];
  const given = new Set<string>();
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      throw new BadExportParameterError(`${name.slice(0, 100)} is not a filter; the filters are ${known.join(', ')}.`);
    }
    // A second value would be ignored or contradict the first: refused, so the export is never not what was asked.
    if (given.has(name)) throw new BadExportParameterError(`${name} is given more than once; give each filter once.`);
    given.add(name);
  }
  const oneOf = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    if (!(values as readonly string[]).includes(raw)) {
      throw new BadExportParameterError(`${name} must be one of ${values.join(', ')}, got "${raw.slice(0, 100)}".`);
    }
    return raw as T;
  };
  const mca = oneOf('mcaDirectlySigned', ['true', 'false'] as const);
  const accepted = oneOf('mcaAccepted', ['true', 'false'] as const);
  const prefix = params.get('companyNameStartsWith');
  const problem = filterProblem({ companyNameStartsWith: prefix });
  if (problem) throw new BadExportParameterError(problem);
  const qualification = oneOf('qualification', KINDS);
  const vettingStatus = oneOf('vettingStatus', STATUSES);
  const relationshipToPartner = oneOf('relationshipToPartner', RELATIONSHIPS);
  return {
    ...(mca === undefined ? {} : { mcaDirectlySigned: mca === 'true' }),
    ...(accepted === undefined ? {} : { mcaAccepted: accepted === 'true' }),
    ...(qualification ? { qualification } : {}),
    ...(vettingStatus ? { vettingStatus } : {}),
    ...(prefix ? { companyNameStartsWith: prefix } : {}),
    ...(relationshipToPartner ? { relationshipToPartner } : {}),
  };
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SYNC_NOT_ENABLED: 404,
};

export function useCustomerExport(options: {
  customerBase: CustomerBase | undefined;
  accessFor(request: Request): Access;
}): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== EXPORT_PATH) return;
      const refuse = (error: GatewayError) =>
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] }),
            {
              status: STATUS_BY_CODE[error.code] ?? 500,
              headers: { 'content-type': 'application/json' },
            },
          ),
        );
      if (request.method !== 'GET') {
        return endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET' } }));
      }
      const base = options.customerBase;
      return (async () => {
        try {
          if (!base) {
            throw new GatewayError(
              'SYNC_NOT_ENABLED',
              'The export needs the background sync: set SYNC_RATE_PER_MINUTE (with PARTNER_CENTER_AUTH=app-user or app).',
            );
          }
          await options.accessFor(request).readSnapshot();
          const filter = filterFromQuery(url.searchParams);
          const rows = orderedIn(base.store, filter);
          let next = 0;
          const encoder = new TextEncoder();
          const body = new fetchAPI.ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(encoder.encode(`${CSV_HEADER}\r\n`));
            },
            pull(controller) {
              const chunk = rows.slice(next, next + ROWS_PER_CHUNK);
              next += chunk.length;
              if (chunk.length === 0) return controller.close();
              controller.enqueue(encoder.encode(chunk.map(csvRow).join('')));
            },
          });
          endResponse(
            new fetchAPI.Response(body, {
              status: 200,
              headers: {
                'content-type': 'text/csv; charset=utf-8',
                'content-disposition': 'attachment; filename="customers.csv"',
                'cache-control': 'no-store',
              },
            }),
          );
        } catch (error) {
          if (error instanceof GatewayError) return refuse(error);
          throw error;
        }
      })();
    },
  };
}
