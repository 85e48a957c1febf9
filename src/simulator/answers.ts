// Owns how the built-in simulator writes its answers: JSON bodies with a
// Content-Length, and Partner Center's error bodies for a bad request, an
// unknown customer and a method the path does not take.

import type { ServerResponse } from 'node:http';

export function badRequest(res: ServerResponse, message: string): void {
  send(res, 400, {
    code: 600001,
    message,
    description: 'Bad request',
    errorName: 'InvalidInput',
    isRetryable: false,
    parameters: {},
  });
}

export function notFound(res: ServerResponse, id: string, requestId: string): void {
  send(res, 404, {
    code: 600008,
    description: `Customer ${id} was not found.`,
    data: [],
    source: 'PartnerFD',
    requestId,
  });
}

export function methodNotAllowed(res: ServerResponse): void {
  send(res, 405, { code: 405, description: 'Method not allowed.', data: [], source: 'PartnerFD' });
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
