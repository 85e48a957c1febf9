// Owns GET /customer-base: the page for the partner's people, served whole by
// the gateway (no other origin), behind the same authentication and read role
// as the CSV export, with a Content-Security-Policy that lets in only its own
// script and style (by hash) and talks only to its own origin.

import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { CustomerBase } from '../customer-base/customer-base';
import { GatewayError } from '../domain/errors';
import type { Access } from '../request/access';
import { PAGE_STYLE, pageHtml } from './markup';
import { PAGE_SCRIPT } from './script';

export const PAGE_PATH = '/customer-base';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Only what the page is: its one inline script and one inline style, known by their hashes, and fetches to its own
 * origin (GraphQL, the CSV export). No framing, no plugins, no <base> and no form posts elsewhere.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SYNC_NOT_ENABLED: 404,
};

export function useCustomerBasePage(options: {
  customerBase: CustomerBase | undefined;
  accessFor(request: Request): Access;
}): Plugin {
  // Built once: the page holds no data; the browser asks /graphql for it with the caller's own credentials.
  const html = pageHtml(PAGE_STYLE, PAGE_SCRIPT);
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== PAGE_PATH) return;
      if (request.method !== 'GET') {
        return endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET' } }));
      }
      return (async () => {
        try {
          if (!options.customerBase) {
            throw new GatewayError(
              'SYNC_NOT_ENABLED',
              'The customer-base page needs the background sync: set SYNC_RATE_PER_MINUTE (with PARTNER_CENTER_AUTH=app-user or app).',
            );
          }
          await options.accessFor(request).readSnapshot();
        } catch (error) {
          if (!(error instanceof GatewayError)) throw error;
          return endResponse(
            new fetchAPI.Response(
              JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] }),
              {
                status: STATUS_BY_CODE[error.code] ?? 500,
                headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
              },
            ),
          );
        }
        endResponse(
          new fetchAPI.Response(html, {
            status: 200,
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'content-security-policy': PAGE_CSP,
              'cache-control': 'no-store',
              'x-content-type-options': 'nosniff',
              'referrer-policy': 'no-referrer',
            },
          }),
        );
      })();
    },
  };
}
