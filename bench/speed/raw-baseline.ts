// Speed bench: the raw baseline, the physical limit a gateway approaches. A
// node:http server that, for GET /customers?ids=a,b, makes the same two
// Partner Center GETs per customer with one undici pool (32 in flight, like
// the gateway's per-token bound) and splices the bodies into JSON. No
// GraphQL, no validation, no mapping. Prints its port on stdout.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = process.env.UPSTREAM_URL ?? '';
const pool = new Pool(upstream, { connections: 128 });
const IN_FLIGHT = 32;

async function get(path: string, authorization: string): Promise<string> {
  const response = await pool.request({ path, method: 'GET', headers: { authorization, accept: 'application/json' } });
  return response.body.text();
}

async function customer(id: string, authorization: string): Promise<string> {
  const [qualifications, mca] = await Promise.all([
    get(`/v1/customers/${id}/qualifications`, authorization),
    get(`/v1/customers/${id}/directSignedMicrosoftCustomerAgreementStatus`, authorization),
  ]);
  return `{"id":"${id}","qualifications":${qualifications},"mca":${mca}}`;
}

const server = createServer(async (req, res) => {
  const ids = (new URL(req.url ?? '/', 'http://raw').searchParams.get('ids') ?? '').split(',');
  const authorization = String(req.headers.authorization ?? '');
  const parts: string[] = new Array(ids.length);
  let next = 0;
  // Each worker takes two calls at a time, so IN_FLIGHT / 2 workers keep IN_FLIGHT calls open.
  const worker = async () => {
    while (next < ids.length) {
      const index = next++;
      parts[index] = await customer(ids[index] as string, authorization);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT / 2, ids.length) }, worker));
  const body = `{"data":{"customers":[${parts.join(',')}]}}`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
