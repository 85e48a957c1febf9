// Owns the request body limit: yoga's default of 25 MB with yoga's own answers
// (413 REQUEST_ENTITY_TOO_LARGE, 400 for a malformed Content-Length), checked
// from Content-Length when the request has one and by counting bytes only for
// bodies without it (chunked). yoga's built-in check pipes every body through
// a TransformStream and rebuilds the Request, which cost about 7% of a
// single-customer request's CPU (bench/README.md, "Speed"); Node's HTTP
// parser already holds a body to its Content-Length, so counting those bytes
// again proves nothing.

import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** yoga's default maxRequestBodySize. */
export const MAX_REQUEST_BODY_BYTES = 25_000_000;

/** Only a single non-negative integer is a Content-Length (a comma-joined pair is a smuggling attempt). */
const CONTENT_LENGTH = /^\d+$/;

const tooLarge = () =>
  new GraphQLError('Request body too large', {
    extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' },
  });

/** Must come after every plugin that registers a request parser, so it wraps the parser finally chosen. */
export function useBodySizeLimit(limit = MAX_REQUEST_BODY_BYTES): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!CONTENT_LENGTH.test(contentLength)) {
          throw new GraphQLError('Content-Length header is invalid.', {
            extensions: { http: { status: 400 }, code: 'BAD_REQUEST' },
          });
        }
        if (Number(contentLength) > limit) throw tooLarge();
        return;
      }
      if (requestParser === undefined || request.body === null) return;
      const parse = requestParser;
      // No length announced: the bytes are counted as they arrive, and the parse fails once they pass the limit.
      setRequestParser((original) => {
        const body = original.body;
        if (body === null) return parse(original);
        let bytes = 0;
        // A native stream cannot be piped into the ponyfill's TransformStream (graphql-yoga#4583).
        const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const counted = body.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytes += chunk.byteLength;
              if (bytes > limit) controller.error(tooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(original.url, {
            method: original.method,
            headers: original.headers,
            signal: original.signal,
            body: counted,
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}
