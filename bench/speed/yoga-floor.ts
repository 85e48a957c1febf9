// Speed bench: the yoga floor. The same two Partner Center GETs per customer
// as the raw baseline, answered through graphql-yoga and graphql-js with a
// hand-written schema of the same shape (no Pothos, DataLoader, quota, logging,
// metrics, limits or error mapping): the least the server framework costs.
// Prints its port on stdout.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { Pool } from 'undici';

// 32 connections, one request each: at most 32 calls in flight, like the baseline's workers and the gateway's
// per-token bound.
const pool = new Pool(process.env.UPSTREAM_URL ?? '', { connections: 32 });

async function get(path: string, authorization: string): Promise<unknown> {
  const response = await pool.request({ path, method: 'GET', headers: { authorization, accept: 'application/json' } });
  return response.body.json();
}

const yoga = createYoga({
  // No body-size stream pipeline (the gateway checks Content-Length instead, src/server/body-size.ts): the floor is the
  // least the stack costs, not yoga's defaults.
  maxRequestBodySize: false,
  logging: false,
  landingPage: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      enum Kind { EDUCATION OTHER }
      type Qualification { kind: Kind! vettingStatus: String }
      type Customer { id: ID! mcaDirectlySigned: Boolean qualifications: [Qualification!] }
      type Query { customers(ids: [ID!]!): [Customer]! }
    `,
    resolvers: {
      Query: { customers: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })) },
      Customer: {
        mcaDirectlySigned: async ({ id }: { id: string }, _: unknown, { request }: { request: Request }) =>
          (
            (await get(
              `/v1/customers/${id}/directSignedMicrosoftCustomerAgreementStatus`,
              request.headers.get('authorization') ?? '',
            )) as { isSigned: boolean }
          ).isSigned,
        qualifications: async ({ id }: { id: string }, _: unknown, { request }: { request: Request }) =>
          (
            (await get(`/v1/customers/${id}/qualifications`, request.headers.get('authorization') ?? '')) as {
              qualification: string;
              vettingStatus: string;
            }[]
          ).map((q) => ({
            kind: q.qualification === 'Education' ? 'EDUCATION' : 'OTHER',
            vettingStatus: q.vettingStatus,
          })),
      },
    },
  }),
});

const server = createServer(yoga);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
// Exits on SIGTERM, so that `node --cpu-prof` writes its profile (bench/speed/profile.ts stops systems so).
process.on('SIGTERM', () => process.exit(0));
