// The GraphQL-over-HTTP audit of the graphql-http package, run against the
// real gateway over loopback: no MUST may fail, in development or production.
// One audit queries __type, so with introspection off it fails by design.

import { type AuditResult, serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { useUpstream } from './support/fixtures';
import { startGateway } from './support/gateway';

async function audit(url: string): Promise<AuditResult[]> {
  const results: AuditResult[] = [];
  // One at a time: the audits are small and their order makes a failure easy to read.
  for (const { fn } of serverAudits({ url })) results.push(await fn());
  return results;
}

function summary(results: AuditResult[]): string {
  const ok = results.filter((result) => result.status === 'ok').length;
  const others = results
    .filter((result) => result.status !== 'ok')
    .map((result) => `  ${result.status}: ${result.name}${'reason' in result ? ` (${result.reason})` : ''}`);
  return [`${ok} of ${results.length} audits pass`, ...others].join('\n');
}

describe('GraphQL-over-HTTP audit', () => {
  const { upstream } = useUpstream();

  const configurations = [
    { name: 'development', overrides: { production: false, graphiql: true, introspection: true } },
    { name: 'production with its defaults', overrides: { production: true, graphiql: false, introspection: true } },
  ];
  for (const { name, overrides } of configurations) {
    it(`passes every MUST audit in ${name}`, async () => {
      const gw = await startGateway(upstream.url, overrides);
      try {
        const results = await audit(gw.url);
        console.log(`GraphQL-over-HTTP audit (${name}): ${summary(results)}`);
        expect(results.length).toBeGreaterThan(50);
        const failedMusts = results.filter((result) => result.name.startsWith('MUST') && result.status !== 'ok');
        expect(failedMusts.map((result) => result.name)).toEqual([]);
        // Nothing the audit sends needs Partner Center.
        expect(upstream.calls).toHaveLength(0);
      } finally {
        await gw.close();
      }
    });
  }

  it('fails only the audit that asks __type when introspection is off, and serves the same request shape', async () => {
    const gw = await startGateway(upstream.url, { production: true, graphiql: false, introspection: false });
    try {
      const results = await audit(gw.url);
      console.log(`GraphQL-over-HTTP audit (production, introspection off): ${summary(results)}`);
      const failedMusts = results.filter((result) => result.name.startsWith('MUST') && result.status !== 'ok');
      // 28B9 sends `query Type($name: String!) { __type(name: $name) { name } }`: refused by the introspection switch.
      expect(failedMusts.map((result) => result.id)).toEqual(['28B9']);
      const response = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          query: 'query Service($withSdl: Boolean!) { _service @include(if: $withSdl) { __typename } }',
          variables: { withSdl: true },
        }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { _service: { __typename: '_Service' } } });
      expect(upstream.calls).toHaveLength(0);
    } finally {
      await gw.close();
    }
  });
});
