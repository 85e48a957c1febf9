// Dashboard bench: the raw server, the floor for answering a page from memory.
// A node:http server that, for each POST, reads and parses the body (as a
// GraphQL server must) and answers JSON.stringify of a prepared object: the
// answer the gateway gave for the same page, read from ANSWER_PATH at start.
// No GraphQL, no validation, no resolvers. Prints its port on stdout.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const answer: unknown = JSON.parse(readFileSync(process.env.ANSWER_PATH ?? '', 'utf8'));

const server = createServer((req, res) => {
  // The bench's readiness probe.
  if (req.method !== 'POST') {
    res.writeHead(200).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query?: unknown };
    if (typeof request.query !== 'string') {
      res.writeHead(400).end();
      return;
    }
    const body = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
