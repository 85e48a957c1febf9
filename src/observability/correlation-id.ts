// Owns the correlation id of each HTTP request, shared by its log lines, its
// upstream calls and its MS-CorrelationId response header.

import { randomUUID } from 'node:crypto';
import { matchGuid } from '../domain/guid';

const correlationIds = new WeakMap<Request, string>();

/** One correlation id per HTTP request: the caller's GUID when it sent one, else a new one. */
export function correlationIdFor(request: Request): string {
  let id = correlationIds.get(request);
  if (id === undefined) {
    id = matchGuid(request.headers.get('ms-correlationid') ?? '') ?? randomUUID();
    correlationIds.set(request, id);
  }
  return id;
}
