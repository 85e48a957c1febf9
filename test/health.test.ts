import { describe, expect, it } from 'vitest';
import { exampleQuery } from '../src/server/graphiql';
import { useSimulatorGateway, useUpstream } from './support/fixtures';

describe('health and GraphiQL', () => {
  const { simulator, gw } = useSimulatorGateway({}, { graphiqlDefaultQuery: exampleQuery({ simulated: true }) });

  it('answers /health with 200 and makes no upstream call', async () => {
    const response = await fetch(gw.url.replace('/graphql', '/health'));
    expect(response.status).toBe(200);
    expect(simulator.requests).toHaveLength(0);
  });

  it('serves GraphiQL to a browser from the gateway alone, opening on the configured query', async () => {
    const response = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    // Booleans, not toContain: a failure would print the whole 9 MB page.
    expect(html.includes('<title>Partner Center gateway</title>')).toBe(true);
    expect(html.includes(JSON.stringify(exampleQuery({ simulated: true })).slice(1, -1))).toBe(true);
    expect(/<(script|link)[^>]+(src|href)=["']?https?:/i.test(html)).toBe(false);
    expect(html.includes('unpkg.com')).toBe(false);
  });
});

describe('readiness', () => {
  const { upstream, gatewayWith } = useUpstream();

  it('answers /ready with 200 while serving and 503 once draining, while /health stays 200', async () => {
    const gw = await gatewayWith({});
    const at = (path: string) => fetch(gw.url.replace(/\/graphql$/, path));
    expect((await at('/ready')).status).toBe(200);

    gw.gateway.drain();

    expect(gw.gateway.draining).toBe(true);
    expect((await at('/ready')).status).toBe(503);
    expect((await at('/health')).status).toBe(200);
    expect(upstream.calls).toHaveLength(0);
  });

  it('still serves GraphQL while draining, each response closing its connection', async () => {
    const gw = await gatewayWith({});
    const before = await gw.query('{ __typename }');
    expect(before.headers.get('connection')).not.toBe('close');

    gw.gateway.drain();
    const during = await gw.query('{ __typename }');

    expect(during.body).toEqual({ data: { __typename: 'Query' } });
    expect(during.headers.get('connection')).toBe('close');
  });
});
