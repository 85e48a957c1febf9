import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '../src/server/body-size';
import { useGateway } from './support/fixtures';
import { TOKEN } from './support/gateway';

const QUERY = JSON.stringify({ query: '{ __typename }' });

/** A JSON body sent in chunks without Content-Length: `padding` spaces, then the document. */
function chunked(padding: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1_000_000).fill(0x20);
  let left = padding;
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) {
        controller.enqueue(new TextEncoder().encode(QUERY));
        controller.close();
        return;
      }
      const size = Math.min(left, chunk.length);
      controller.enqueue(chunk.subarray(0, size));
      left -= size;
    },
  });
}

const post = (url: string, body: ReadableStream<Uint8Array>) =>
  fetch(url, {
    method: 'POST',
    headers: { authorization: TOKEN, 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit);

describe('request body size', () => {
  const { upstream, gw } = useGateway();

  it('refuses a body whose Content-Length is over 25 MB with 413 before reading it', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(gw.url, {
        method: 'POST',
        headers: {
          authorization: TOKEN,
          'content-type': 'application/json',
          'content-length': String(MAX_REQUEST_BODY_BYTES + 1),
        },
      });
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (part: string) => {
          body += part;
        });
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body });
          request.destroy();
        });
      });
      request.on('error', reject);
      // Only the first bytes are sent: the answer must not wait for the rest.
      request.write(QUERY);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }],
    });
    expect(upstream.calls).toHaveLength(0);
  });

  it('refuses a chunked body that grows past 25 MB with 413', async () => {
    const response = await post(gw.url, chunked(MAX_REQUEST_BODY_BYTES + 1));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }],
    });
  });

  it('answers a chunked body under the limit', async () => {
    const response = await post(gw.url, chunked(2_000_000));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
